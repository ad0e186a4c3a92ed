#pragma once
// The dashboard (web/) built into the binary, served at `/` unless --web-root
// names a directory. The definition is generated at build time
// (cmake/embed_files.cmake).
#include <span>

#include "static_files.hpp"

namespace progress::bridge {

[[nodiscard]] std::span<const embedded_file> embedded_dashboard() noexcept;

}  // namespace progress::bridge
