#include "temp_dir.hpp"

#include <cstdlib>
#include <system_error>
#include <utility>

#include "child_process.hpp"

namespace progress::test {

temp_dir::temp_dir(const std::string& prefix) : path_(make_temp_dir(prefix)) {}

temp_dir::temp_dir(temp_dir&& other) noexcept : path_(std::exchange(other.path_, {})) {}

temp_dir::~temp_dir() {
  if (path_.empty() || std::getenv("PROGRESS_KEEP_TEST_DIRS") != nullptr) return;
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

}  // namespace progress::test
