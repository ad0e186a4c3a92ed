#pragma once
// A real Mosquitto running the project's own broker-config (mosquitto.conf and
// acl, rendered by broker-config/render-config) on free loopback ports, with
// accounts created by broker-config/progress-user.

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "child_process.hpp"
#include "temp_dir.hpp"

namespace progress::test {

class mosquitto_broker {
 public:
  // Accounts every broker has: worker, bridge, alice, bob, carol, and
  // broker-peer, as which a peer broker's bridge connection logs in.
  static constexpr std::string_view accounts[] = {"worker", "bridge", "alice", "bob", "carol", "broker-peer"};

  // Starts the broker and waits until it accepts connections. With `peer`,
  // it joins the broker there (render-config --peer: a Mosquitto bridge
  // connection as broker-peer), a cluster of two as docs/scaling.md runs it.
  explicit mosquitto_broker(const mosquitto_broker* peer = nullptr);
  ~mosquitto_broker();

  mosquitto_broker(const mosquitto_broker&) = delete;
  mosquitto_broker& operator=(const mosquitto_broker&) = delete;

  [[nodiscard]] unsigned short port() const noexcept { return port_; }
  [[nodiscard]] unsigned short websocket_port() const noexcept { return websocket_port_; }
  [[nodiscard]] std::string url() const;  // tcp://127.0.0.1:<port>
  [[nodiscard]] const std::filesystem::path& directory() const noexcept { return directory_.path(); }
  [[nodiscard]] std::string log() const;

  // Stops cleanly (persistence is saved) and starts again on the same ports
  // with the same accounts and retained messages.
  void stop();
  void start();
  // Kills the broker (SIGKILL): what it did not save (autosave_interval, or a
  // clean stop) is lost. start() brings it back from its last save.
  void kill_hard();
  // Freezes the broker (SIGSTOP): its sockets stay open and the kernel still
  // accepts connections, but it answers nothing, like a hung broker. resume()
  // (SIGCONT) lets it go on.
  void pause();
  void resume();

  // The password of one of `accounts`.
  [[nodiscard]] static std::string password(std::string_view user);

  // Paths into the source tree, for tests that run the scripts themselves.
  [[nodiscard]] static std::filesystem::path broker_config_dir();

 private:
  // Renders the configuration for the current ports.
  void render(const mosquitto_broker* peer);
  // False when another process took a port between choosing and binding it.
  bool try_start();

  temp_dir directory_;
  unsigned short port_ = 0;
  unsigned short websocket_port_ = 0;
  std::unique_ptr<child_process> process_;
};

}  // namespace progress::test
