#pragma once
// The real progress-bridge binary as a child process, connected to a test
// broker as the `bridge` account and listening on a free loopback port.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "child_process.hpp"
#include "mosquitto_broker.hpp"

namespace progress::test {

class bridge_process {
 public:
  // The HS256 secret every test bridge verifies tokens with.
  static constexpr std::string_view jwt_secret = "integration-secret-0123456789-abcdefghijkl";

  // Starts the bridge with `extra_args` appended to the defaults and waits
  // until it logs its address; throws std::runtime_error when it does not.
  // `name` keeps MQTT client ids and temporary directories apart. Unless
  // `extra_args` name a --data-dir (or --memory-only), the journal lives in the
  // bridge's own temporary directory and goes with it.
  bridge_process(const mosquitto_broker& broker, const std::string& name,
                 std::vector<std::string> extra_args = {});
  ~bridge_process();

  bridge_process(const bridge_process&) = delete;
  bridge_process& operator=(const bridge_process&) = delete;

  [[nodiscard]] unsigned short port() const noexcept { return port_; }
  [[nodiscard]] std::string log() const { return process_->log(); }
  // SIGTERM; returns the exit code (-1 when it did not exit normally).
  int terminate();
  // SIGKILL: no chance to write anything more.
  void kill_hard();

 private:
  std::filesystem::path directory_;
  std::unique_ptr<child_process> process_;
  unsigned short port_ = 0;
};

}  // namespace progress::test
