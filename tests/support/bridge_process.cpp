#include "bridge_process.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <regex>
#include <stdexcept>
#include <system_error>

namespace progress::test {

using namespace std::chrono_literals;

bridge_process::bridge_process(const mosquitto_broker& broker, const std::string& name,
                               std::vector<std::string> extra_args, std::optional<unsigned> open_file_limit)
    : directory_("progress-bridge-" + name) {
  std::vector<std::string> argv;
  if (open_file_limit) {
    // prlimit sets the limits on itself and execs the bridge: same process, limits in force from the start.
    const auto limit = std::to_string(*open_file_limit);
    argv = {"/usr/bin/prlimit", "--nofile=" + limit + ":" + limit, "--"};
  }
  argv.insert(argv.end(),
              {PROGRESS_BRIDGE_BINARY, "--mqtt-url", broker.url(), "--mqtt-username", "bridge",
               "--mqtt-password", mosquitto_broker::password("bridge"), "--mqtt-client-id", "bridge-" + name,
               "--jwt-secret", std::string(jwt_secret), "--log-level", "debug"});
  const auto names = [&](std::string_view flag) {
    return std::find(extra_args.begin(), extra_args.end(), flag) != extra_args.end();
  };
  // Free ports unless the test fixes them (a replica restarted behind a load balancer).
  if (!names("--http-listen")) argv.insert(argv.end(), {"--http-listen", "127.0.0.1:0"});
  if (!names("--admin-listen")) argv.insert(argv.end(), {"--admin-listen", "127.0.0.1:0"});
  // Tests stop bridges at once unless they test the drain.
  if (!names("--drain-period")) argv.insert(argv.end(), {"--drain-period", "0"});
  // Two event loops on any machine: the tests cross the hand-offs between them.
  if (!names("--threads")) argv.insert(argv.end(), {"--threads", "2"});
  if (!names("--data-dir") && !names("--memory-only")) {
    argv.insert(argv.end(), {"--data-dir", (directory_ / "data").string()});
  }
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  process_ = std::make_unique<child_process>(std::move(argv), directory_ / "bridge.log");
  // The bridge logs its real addresses, also when asked for port 0.
  const std::regex listening{R"(progress-bridge \S+ listening on http://127\.0\.0\.1:(\d+))"};
  const std::regex admin_listening{R"(admin listening on http://127\.0\.0\.1:(\d+))"};
  std::smatch match;
  std::smatch admin_match;
  std::string log;
  const bool started = wait_until(
      [&] {
        log = process_->log();
        return (std::regex_search(log, match, listening) &&
                std::regex_search(log, admin_match, admin_listening)) ||
               !process_->running();
      },
      10s);
  if (!started || match.empty() || admin_match.empty())
    throw std::runtime_error("bridge did not start:\n" + process_->log());
  port_ = static_cast<unsigned short>(std::stoi(match[1].str()));
  admin_port_ = static_cast<unsigned short>(std::stoi(admin_match[1].str()));
}

bool bridge_process::becomes_ready(std::chrono::milliseconds timeout) const {
  return wait_until([&] { return admin_get("/readyz").status == 200; }, timeout);
}

bridge_process::~bridge_process() {
  process_.reset();
}

std::size_t bridge_process::resident_bytes() const {
  std::ifstream status{"/proc/" + std::to_string(process_->pid()) + "/status"};
  std::string line;
  while (std::getline(status, line)) {
    if (!line.starts_with("VmRSS:")) continue;
    return std::stoull(line.substr(6)) * 1024;  // "VmRSS:   123456 kB"
  }
  throw std::runtime_error("no VmRSS for the bridge's process");
}

void bridge_process::kill_hard() {
  process_->kill_hard();
}

int bridge_process::wait_exit(std::chrono::milliseconds timeout) {
  return process_->wait_exit(timeout);
}

int bridge_process::terminate() {
  const int status = process_->stop(SIGTERM, 15s);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace progress::test
