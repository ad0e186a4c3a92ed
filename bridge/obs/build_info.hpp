#pragma once

#include <string_view>

namespace progress::bridge {

// The version the bridge reports in logs, /healthz and --version.
[[nodiscard]] std::string_view version() noexcept;

}  // namespace progress::bridge
