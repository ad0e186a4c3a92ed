#pragma once
// A child process for tests: a real broker, a real bridge, a real CLI.

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

#include "wait_until.hpp"

namespace progress::test {

class child_process {
 public:
  // Starts `argv[0]` (a path) with `argv`; stdout and stderr go to `log_file`.
  // Extra environment entries are "NAME=value".
  child_process(std::vector<std::string> argv, std::filesystem::path log_file,
                std::vector<std::string> extra_env = {});
  ~child_process();

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] bool running();
  [[nodiscard]] const std::filesystem::path& log_file() const noexcept { return log_file_; }
  [[nodiscard]] std::string log() const;

  // Sends `signal` and waits up to `grace` for the exit, then SIGKILLs.
  // Returns the exit status as waitpid reports it (or -1 if already reaped).
  int stop(int signal, std::chrono::milliseconds grace = std::chrono::seconds(10));
  // An unclean death: SIGKILL, no chance to say goodbye.
  void kill_hard();
  // Waits for the exit; returns the exit code, or -1 on timeout or a signal.
  int wait_exit(std::chrono::milliseconds timeout);

 private:
  pid_t pid_ = -1;
  std::filesystem::path log_file_;
};

// CPU seconds (user and system) process `pid` has used so far, from
// /proc/<pid>/stat; negative when it cannot be read.
[[nodiscard]] double process_cpu_seconds(pid_t pid);

// Raises this process's soft open-file limit to its hard limit: tests that
// hold many connections need more than the usual 1024.
void raise_open_file_limit();

// A loopback TCP port nobody listens on right now.
[[nodiscard]] unsigned short free_loopback_port();
// True when something accepts TCP connections on 127.0.0.1:port.
[[nodiscard]] bool port_accepts(unsigned short port);

}  // namespace progress::test
