#pragma once

#include <sys/types.h>
#include <optional>

namespace progress::bench {

// CPU time (user + system) a process has used so far, read from /proc/<pid>/stat; empty
// once the process is gone. The publisher samples the server it loads at every step's
// start and end, so a step's CPU per message is not blurred by the other steps.
std::optional<double> process_cpu_seconds(pid_t pid);

}  // namespace progress::bench
