#include "mosquitto_broker.hpp"

#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace progress::test {
namespace {

void run(const std::string& command) {
  if (std::system(command.c_str()) != 0) throw std::runtime_error("command failed: " + command);
}

std::string quoted(const std::filesystem::path& path) {
  return "'" + path.string() + "'";
}

}  // namespace

std::filesystem::path mosquitto_broker::broker_config_dir() {
  return std::filesystem::path(PROGRESS_SOURCE_DIR) / "broker-config";
}

std::string mosquitto_broker::password(std::string_view user) {
  return std::string(user) + "-secret-pw";
}

mosquitto_broker::mosquitto_broker(const mosquitto_broker* peer)
    : directory_("progress-broker"), port_(free_loopback_port()), websocket_port_(free_loopback_port()) {
  render(peer);
  const auto scripts = broker_config_dir();
  for (const auto account : accounts) {
    run(quoted(scripts / "progress-user") + " add " + quoted(directory_ / "passwd") + " " +
        std::string(account) + " " + password(account));
  }
  // Tests run in parallel, each choosing free ports: another may bind one first.
  for (int attempt = 1; !try_start(); ++attempt) {
    if (attempt == 5) throw std::runtime_error("mosquitto did not start: its ports were taken:\n" + log());
    port_ = free_loopback_port();
    websocket_port_ = free_loopback_port();
    render(peer);
  }
}

void mosquitto_broker::render(const mosquitto_broker* peer) {
  const auto scripts = broker_config_dir();
  std::string peer_options;
  if (peer != nullptr) {
    const auto password_file = directory_ / "peer-password";
    std::ofstream(password_file) << password("broker-peer") << "\n";
    peer_options = " --peer 127.0.0.1:" + std::to_string(peer->port()) + " --peer-password-file " +
                   quoted(password_file);
  }
  run(quoted(scripts / "render-config") + " " + quoted(directory_.path()) + " --port " +
      std::to_string(port_) + " --ws-port " + std::to_string(websocket_port_) + peer_options);
}

mosquitto_broker::~mosquitto_broker() {
  stop();
}

std::string mosquitto_broker::url() const {
  return "tcp://127.0.0.1:" + std::to_string(port_);
}

std::string mosquitto_broker::log() const {
  return process_ ? process_->log() : std::string();
}

void mosquitto_broker::start() {
  if (!try_start()) throw std::runtime_error("mosquitto did not start: its port is taken:\n" + log());
}

bool mosquitto_broker::try_start() {
  if (process_ && process_->running()) return true;
  process_ = std::make_unique<child_process>(
      std::vector<std::string>{"/usr/sbin/mosquitto", "-c", (directory_ / "mosquitto.conf").string()},
      directory_ / "mosquitto.log");
  // "running" is logged once every listener is open; a port that accepts may be another's.
  const auto up = [&] {
    return process_->log().find(" running") != std::string::npos && port_accepts(port_);
  };
  if (wait_until([&] { return up() || !process_->running(); }) && process_->running()) return true;
  if (process_->log().find("in use") != std::string::npos) return false;
  throw std::runtime_error("mosquitto did not start:\n" + process_->log());
}

void mosquitto_broker::stop() {
  if (!process_) return;
  resume();  // a frozen broker would not see SIGTERM until it runs again
  process_->stop(SIGTERM);
}

void mosquitto_broker::kill_hard() {
  if (process_) process_->kill_hard();
}

void mosquitto_broker::pause() {
  if (process_ && process_->running()) ::kill(process_->pid(), SIGSTOP);
}

void mosquitto_broker::resume() {
  if (process_ && process_->running()) ::kill(process_->pid(), SIGCONT);
}

}  // namespace progress::test
