#pragma once
// A real HAProxy (Debian's haproxy) running the configuration the
// documentation ships (docs/haproxy.cfg) in front of two bridge replicas, on
// a free loopback port, as the user who runs the test. It health-checks each
// replica's /readyz on its admin listener.

#include <filesystem>
#include <memory>
#include <string>

#include "child_process.hpp"
#include "temp_dir.hpp"

namespace progress::test {

// Where one replica listens: its public and its admin listener on 127.0.0.1.
struct replica_ports {
  unsigned short port = 0;
  unsigned short admin_port = 0;
};

class haproxy_balancer {
 public:
  // Starts HAProxy in front of replicas `a` and `b` (docs/haproxy.cfg names
  // two) and waits until it accepts connections; throws std::runtime_error
  // when HAProxy is not installed or does not start.
  haproxy_balancer(replica_ports a, replica_ports b);
  ~haproxy_balancer();

  haproxy_balancer(const haproxy_balancer&) = delete;
  haproxy_balancer& operator=(const haproxy_balancer&) = delete;

  [[nodiscard]] unsigned short port() const noexcept { return port_; }
  // HAProxy's output: its log, health-check changes among them.
  [[nodiscard]] std::string log() const;

 private:
  temp_dir directory_;
  unsigned short port_ = 0;
  std::unique_ptr<child_process> process_;
};

}  // namespace progress::test
