#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "progress/publisher/publish_error.hpp"

namespace progress {

struct publisher_options {
  std::string url = "tcp://127.0.0.1:1883";
  std::string username;
  std::string password;
  // Names this worker in every update and in workers/<workerId>/status.
  std::string worker_id = "worker";
  // MQTT client id; empty means "<worker_id>-<random suffix>", so that two
  // processes of one worker do not take over each other's connection.
  std::string client_id;
  // Announce the worker's presence on workers/<worker_id>/status: "online"
  // on connect, "offline" on close, and "offline" as the Last Will. The bridge
  // stalls the unfinished jobs of a worker that goes offline, so a process
  // that publishes one update and exits while the job goes on (the CLI) says
  // nothing about presence.
  bool announce_presence = true;
  // Non-terminal updates of one job are coalesced to at most one message per
  // interval; zero sends every update.
  std::chrono::milliseconds throttle_interval{100};
  // Messages that may await their acknowledgement at once (in flight, or
  // buffered while the connection is down). When full, a further publish
  // fails with publish_errc::buffer_full: nothing is dropped silently.
  std::size_t max_buffered = 10000;
  // Bounds connect() and the wait for a clean disconnect.
  std::chrono::milliseconds connect_timeout{10000};
  // Told about every failed publish, on the publisher's timer thread (never on
  // an MQTT thread). The deliveries hold the same errors. Also told about a
  // refused control-topic subscription and about control messages ignored as
  // malformed (publish_errc::invalid_control).
  std::function<void(const std::string& topic, const publish_error& error)> on_error;
};

}  // namespace progress
