#pragma once
// The real progress-bridge binary as a child process, connected to a test
// broker as the `bridge` account, its public and admin listeners each on a
// free loopback port.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "child_process.hpp"
#include "http_test_client.hpp"
#include "mosquitto_broker.hpp"
#include "temp_dir.hpp"

namespace progress::test {

class bridge_process {
 public:
  // The HS256 secret every test bridge verifies tokens with.
  static constexpr std::string_view jwt_secret = "integration-secret-0123456789-abcdefghijkl";

  // Starts the bridge with `extra_args` appended to the defaults and waits
  // until it logs its addresses; throws std::runtime_error when it does not.
  // `name` keeps MQTT client ids and temporary directories apart. With
  // `open_file_limit`, the bridge starts with that soft and hard RLIMIT_NOFILE.
  // Unless `extra_args` name a --data-dir (or --memory-only), the journal
  // lives in the bridge's own temporary directory and goes with it.
  bridge_process(const mosquitto_broker& broker, const std::string& name,
                 std::vector<std::string> extra_args = {}, std::optional<unsigned> open_file_limit = {});
  ~bridge_process();

  bridge_process(const bridge_process&) = delete;
  bridge_process& operator=(const bridge_process&) = delete;

  // The public listener: REST, WebSocket, SSE.
  [[nodiscard]] unsigned short port() const noexcept { return port_; }
  // The admin listener: /healthz, /readyz, /metrics.
  [[nodiscard]] unsigned short admin_port() const noexcept { return admin_port_; }
  [[nodiscard]] http_reply admin_get(const std::string& target) const {
    return http_get(admin_port_, target);
  }
  // The Prometheus scrape, empty when the admin listener does not answer.
  [[nodiscard]] std::string scrape() const { return admin_get("/metrics").body; }
  // Waits until /readyz answers 200 (connected to the broker, retained jobs loaded).
  [[nodiscard]] bool becomes_ready(std::chrono::milliseconds timeout = std::chrono::seconds(20)) const;

  [[nodiscard]] pid_t pid() const noexcept { return process_->pid(); }
  [[nodiscard]] std::string log() const { return process_->log(); }
  // The bridge's resident memory now (VmRSS of /proc/<pid>/status), in bytes.
  [[nodiscard]] std::size_t resident_bytes() const;
  // SIGTERM; returns the exit code (-1 when it did not exit normally).
  int terminate();
  // SIGKILL: no chance to write anything more.
  void kill_hard();
  // Waits for an exit the test caused otherwise (signals of its own); the exit
  // code, -1 on a timeout or a death by signal.
  int wait_exit(std::chrono::milliseconds timeout);

 private:
  temp_dir directory_;  // its data directory and log; goes after the process
  std::unique_ptr<child_process> process_;
  unsigned short port_ = 0;
  unsigned short admin_port_ = 0;
};

}  // namespace progress::test
