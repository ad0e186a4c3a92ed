#pragma once
// The scaled-out system of docs/scaling.md with real processes: two Mosquittos
// joined by a bridge connection (broker 0 has the link to broker 1), a
// progress-bridge replica on each, and HAProxy (docs/haproxy.cfg) in front of
// both. A replica can be killed and started again on the same ports, with the
// same MQTT client id and journal, as an orchestrator would restart it.

#include <array>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "bridge_process.hpp"
#include "haproxy_balancer.hpp"
#include "mosquitto_broker.hpp"
#include "temp_dir.hpp"

namespace progress::test {

class bridge_cluster {
 public:
  static constexpr std::size_t size = 2;

  // Starts everything and waits until both replicas are ready; throws
  // std::runtime_error when a part does not start. `name` keeps temporary
  // directories and MQTT client ids apart; `replica_args` go to both replicas.
  explicit bridge_cluster(const std::string& name, std::vector<std::string> replica_args = {});
  ~bridge_cluster();

  bridge_cluster(const bridge_cluster&) = delete;
  bridge_cluster& operator=(const bridge_cluster&) = delete;

  [[nodiscard]] mosquitto_broker& broker(std::size_t i) { return *brokers_.at(i); }
  // Replica i, connected to broker i; throws when it is down.
  [[nodiscard]] bridge_process& replica(std::size_t i);
  [[nodiscard]] replica_ports ports(std::size_t i) const { return ports_.at(i); }
  // Where clients connect: HAProxy.
  [[nodiscard]] unsigned short balancer_port() const noexcept { return balancer_->port(); }
  [[nodiscard]] haproxy_balancer& balancer() { return *balancer_; }

  // SIGKILL of replica i: no goodbye, its streams break.
  void kill_replica(std::size_t i);
  // Starts replica i again (same ports, client id and journal) and waits until it is ready.
  void restart_replica(std::size_t i);
  // Logs of every part, for failure messages.
  [[nodiscard]] std::string logs() const;

 private:
  void start_replica(std::size_t i);

  std::string name_;
  std::vector<std::string> replica_args_;
  temp_dir directory_;
  std::array<std::unique_ptr<mosquitto_broker>, size> brokers_;
  std::array<replica_ports, size> ports_{};
  std::array<std::unique_ptr<bridge_process>, size> replicas_;
  std::unique_ptr<haproxy_balancer> balancer_;
};

}  // namespace progress::test
