#pragma once
// Command line and environment of progress-bridge (docs/configuration.md).
// Every flag of the server has an environment fallback; the command line wins.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace progress::bridge {

struct bridge_config {
  enum class command { serve, token };
  command mode = command::serve;

  // MQTT ingest.
  std::string mqtt_url = "tcp://127.0.0.1:1883";
  std::string mqtt_username = "bridge";
  std::string mqtt_password;  // from --mqtt-password or the first line of --mqtt-password-file
  std::string mqtt_client_id = "progress-bridge";

  // HTTP.
  std::string http_address = "127.0.0.1";
  std::uint16_t http_port = 8080;  // 0: any free port (the chosen one is logged)
  std::vector<std::string> cors_origins;
  double rate_limit = 20;  // requests per second per client address; 0 disables
  double rate_limit_burst = 40;
  unsigned threads = 2;
  std::size_t max_connections = 10000;  // HTTP connections and live streams together
  // Directory served at `/` (the dashboard); empty: no static files.
  std::string web_root;

  // Live streams (WebSocket and SSE).
  std::size_t stream_queue_limit = 1024;  // messages pending per stream after conflation
  std::chrono::seconds stream_stall_timeout{30};
  std::chrono::seconds stream_heartbeat{15};
  std::size_t change_log_limit = 10000;  // changes kept so streams can resume

  // Authentication: exactly one of the two keys.
  std::string jwt_secret;
  std::string jwt_public_key_pem;       // contents of --jwt-public-key
  std::chrono::seconds jwt_leeway{30};  // clock skew allowed on exp / nbf / iat

  // Job store.
  std::size_t history_limit = 100;
  std::size_t jobs_per_user = 1000;
  std::size_t max_jobs = 200000;
  std::chrono::seconds finished_ttl = std::chrono::hours{24};
  // Byte budgets of the job store (job_store.hpp).
  std::size_t history_bytes = std::size_t{1} << 20;
  std::size_t bytes_per_user = std::size_t{64} << 20;
  std::size_t max_bytes = std::size_t{1} << 30;

  // The journal (docs/reliability.md): empty data_dir: the default directory.
  std::string data_dir;
  bool memory_only = false;
  std::uint64_t data_max_bytes = std::uint64_t{8} << 30;

  std::string log_level = "info";

  // `token` subcommand.
  std::string token_user;
  bool token_admin = false;
  std::chrono::seconds token_ttl = std::chrono::hours{1};
};

struct config_result {
  std::optional<bridge_config> config;  // nothing: exit with exit_code after printing output
  int exit_code = 0;
  std::string output;  // help / version text (exit 0) or the error (non-zero)
};

// Parses the command line, falling back to BRIDGE_* environment variables,
// and checks the result (files readable, one JWT key, sane numbers).
[[nodiscard]] config_result parse_config(int argc, const char* const* argv);

// "127.0.0.1:8080", "[::1]:8080" or ":8080" (loopback); nothing when malformed.
[[nodiscard]] std::optional<std::pair<std::string, std::uint16_t>> parse_listen_address(
    std::string_view text);

}  // namespace progress::bridge
