#include "build_info.hpp"

namespace progress::bridge {

std::string_view version() noexcept {
  return PROGRESS_BRIDGE_VERSION;
}

}  // namespace progress::bridge
