#pragma once
// The process's open-file limit (RLIMIT_NOFILE) against --max-connections:
// each connection is one file descriptor, and the bridge needs
// `descriptors_besides_connections` more (the admin listener's connections,
// the broker connection, listeners, the event loop, logs). At start the soft
// limit is raised as far as needed, up to the hard limit; when even that is too
// low, the public listener serves fewer connections than asked, so that it
// refuses connections at its cap rather than running the whole process out of
// descriptors (which would starve the admin listener and the broker connection).
#include <cstddef>
#include <cstdint>

namespace progress::bridge {

// Connections the admin listener serves at most (probes and scrapes are few).
inline constexpr std::size_t admin_max_connections = 16;
// Descriptors besides the public connections, the admin listener's included.
inline constexpr std::size_t descriptors_besides_connections = 64;

struct descriptor_budget {
  std::size_t max_connections = 0;    // what the public listener may serve: at most what was asked
  std::uint64_t open_file_limit = 0;  // the soft limit now in force
};

// Raises the soft limit towards what `max_connections` needs and logs when it
// cannot; nothing when the limit leaves no room for any connection (logged).
[[nodiscard]] descriptor_budget fit_open_file_limit(std::size_t max_connections);

}  // namespace progress::bridge
