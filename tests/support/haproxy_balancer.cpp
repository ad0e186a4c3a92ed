#include "haproxy_balancer.hpp"

#include <signal.h>

#include <stdexcept>

namespace progress::test {

namespace {

constexpr const char* haproxy_binary = "/usr/sbin/haproxy";

std::string loopback(unsigned short port) {
  return "127.0.0.1:" + std::to_string(port);
}

}  // namespace

haproxy_balancer::haproxy_balancer(replica_ports a, replica_ports b)
    : directory_("progress-haproxy"), port_(free_loopback_port()) {
  if (!std::filesystem::exists(haproxy_binary)) {
    throw std::runtime_error(std::string(haproxy_binary) +
                             " is missing: install Debian's haproxy package (scripts/common.sh lists it)");
  }
  const auto config = std::filesystem::path(PROGRESS_SOURCE_DIR) / "docs" / "haproxy.cfg";
  // -db: in the foreground, no daemon; its log goes to stderr (the config's `log stderr`).
  // -n: fewer connections than the config's maxconn, which needs more descriptors
  // than a test's open-file limit may allow (HAProxy refuses to start then).
  process_ = std::make_unique<child_process>(
      std::vector<std::string>{haproxy_binary, "-db", "-n", "1000", "-f", config.string()},
      directory_ / "haproxy.log",
      std::vector<std::string>{"PROGRESS_LISTEN=" + loopback(port_), "BRIDGE_A=" + loopback(a.port),
                               "BRIDGE_B=" + loopback(b.port),
                               "BRIDGE_A_ADMIN_PORT=" + std::to_string(a.admin_port),
                               "BRIDGE_B_ADMIN_PORT=" + std::to_string(b.admin_port)});
  if (!wait_until([&] { return port_accepts(port_) || !process_->running(); }) || !process_->running()) {
    throw std::runtime_error("haproxy did not start:\n" + log());
  }
}

haproxy_balancer::~haproxy_balancer() {
  // SIGTERM: a hard stop that closes every proxied stream.
  process_->stop(SIGTERM, std::chrono::seconds(5));
}

std::string haproxy_balancer::log() const {
  return process_->log();
}

}  // namespace progress::test
