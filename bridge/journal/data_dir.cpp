#include "data_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <system_error>

namespace progress::bridge {

std::optional<std::filesystem::path> default_data_dir() {
  const std::filesystem::path packaged{"/var/lib/progress-bridge"};
  std::error_code ec;
  if (std::filesystem::is_directory(packaged, ec) && ::access(packaged.c_str(), W_OK | X_OK) == 0) return packaged;
  if (const char* state = std::getenv("XDG_STATE_HOME"); state != nullptr && state[0] == '/') {
    return std::filesystem::path{state} / "progress-bridge";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && home[0] == '/') {
    return std::filesystem::path{home} / ".local" / "state" / "progress-bridge";
  }
  return std::nullopt;
}

data_dir_lock::data_dir_lock(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) throw std::runtime_error("cannot create " + dir.string() + ": " + ec.message());
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all, ec);
  }
  const auto file = dir / "lock";
  fd_ = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) throw std::runtime_error("cannot open " + file.string() + ": " + std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd_);
    fd_ = -1;
    if (error == EWOULDBLOCK) {
      throw std::runtime_error(dir.string() + " is in use by another progress-bridge (give each its own --data-dir)");
    }
    throw std::runtime_error("cannot lock " + file.string() + ": " + std::strerror(error));
  }
}

data_dir_lock::~data_dir_lock() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace progress::bridge
