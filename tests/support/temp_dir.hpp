#pragma once
// A fresh temporary directory that is removed with everything in it when the
// object goes, also when a constructor that made it throws. With
// PROGRESS_KEEP_TEST_DIRS set it stays, for inspection.

#include <filesystem>
#include <string>

namespace progress::test {

class temp_dir {
 public:
  explicit temp_dir(const std::string& prefix);
  ~temp_dir();
  temp_dir(temp_dir&& other) noexcept;
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  temp_dir& operator=(temp_dir&&) = delete;

  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  [[nodiscard]] std::filesystem::path operator/(const std::filesystem::path& name) const {
    return path_ / name;
  }

 private:
  std::filesystem::path path_;  // empty once moved from
};

}  // namespace progress::test
