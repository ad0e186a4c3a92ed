#include "bridge_cluster.hpp"

#include <stdexcept>

namespace progress::test {

namespace {

std::string loopback(unsigned short port) {
  return "127.0.0.1:" + std::to_string(port);
}

}  // namespace

bridge_cluster::bridge_cluster(const std::string& name, std::vector<std::string> replica_args)
    : name_(name), replica_args_(std::move(replica_args)), directory_("progress-cluster-" + name) {
  brokers_[1] = std::make_unique<mosquitto_broker>();
  brokers_[0] = std::make_unique<mosquitto_broker>(brokers_[1].get());
  for (std::size_t i = 0; i < size; ++i) {
    ports_[i] = replica_ports{.port = free_loopback_port(), .admin_port = free_loopback_port()};
    start_replica(i);
  }
  balancer_ = std::make_unique<haproxy_balancer>(ports_[0], ports_[1]);
}

bridge_cluster::~bridge_cluster() {
  balancer_.reset();
  for (auto& replica : replicas_) replica.reset();
  brokers_[0].reset();
  brokers_[1].reset();
}

bridge_process& bridge_cluster::replica(std::size_t i) {
  if (!replicas_.at(i)) throw std::runtime_error("replica " + std::to_string(i) + " is down");
  return *replicas_[i];
}

void bridge_cluster::start_replica(std::size_t i) {
  const auto id = name_ + "-replica-" + std::to_string(i);
  std::vector<std::string> args{"--http-listen",   loopback(ports_[i].port),
                                "--admin-listen",  loopback(ports_[i].admin_port),
                                "--data-dir",      (directory_ / ("data-" + std::to_string(i))).string(),
                                "--trusted-proxy", "127.0.0.1"};
  args.insert(args.end(), replica_args_.begin(), replica_args_.end());
  replicas_[i] = std::make_unique<bridge_process>(*brokers_[i], id, std::move(args));
  if (!replicas_[i]->becomes_ready()) throw std::runtime_error("replica did not become ready:\n" + logs());
}

void bridge_cluster::kill_replica(std::size_t i) {
  replica(i).kill_hard();
  replicas_[i].reset();
}

void bridge_cluster::restart_replica(std::size_t i) {
  if (replicas_.at(i)) kill_replica(i);
  start_replica(i);
}

std::string bridge_cluster::logs() const {
  std::string text;
  for (std::size_t i = 0; i < size; ++i) {
    if (brokers_[i]) text += "--- broker " + std::to_string(i) + "\n" + brokers_[i]->log();
    if (replicas_[i]) text += "--- replica " + std::to_string(i) + "\n" + replicas_[i]->log();
  }
  if (balancer_) text += "--- haproxy\n" + balancer_->log();
  return text;
}

}  // namespace progress::test
