#pragma once
// Where the bridge keeps its journal, and the lock that keeps a second bridge
// out of it (two bridges writing one journal would each load the other's jobs).
#include <filesystem>
#include <optional>
#include <string>

namespace progress::bridge {

// The default data directory: /var/lib/progress-bridge when it exists and is
// writable (the packaged layout; systemd's StateDirectory=progress-bridge makes
// it), else $XDG_STATE_HOME/progress-bridge, else
// $HOME/.local/state/progress-bridge. Nothing when none applies.
[[nodiscard]] std::optional<std::filesystem::path> default_data_dir();

// Creates the directory (mode 0700 when new) and holds an exclusive lock on
// <dir>/lock until destroyed. Throws std::runtime_error with the reason.
class data_dir_lock {
 public:
  explicit data_dir_lock(const std::filesystem::path& dir);
  ~data_dir_lock();
  data_dir_lock(const data_dir_lock&) = delete;
  data_dir_lock& operator=(const data_dir_lock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace progress::bridge
