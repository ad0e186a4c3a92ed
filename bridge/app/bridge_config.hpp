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

// The smallest --stream-queue-bytes: one job change of the largest payload
// (protocol max_payload_bytes), with its SSE copy, must fit.
inline constexpr std::size_t min_stream_queue_bytes = 256 * 1024;

// Default --threads: half the cores, at least 1. The other half goes to the
// kernel's network work, the journal writer and often the broker; on a 2-core
// host one event loop costs a quarter less CPU per message than two, because
// a hand-off between loops costs more than the work it spreads
// (docs/benchmarks.md, docs/scaling.md).
[[nodiscard]] unsigned default_threads() noexcept;

struct bridge_config {
  enum class command { serve, token };
  command mode = command::serve;

  // MQTT ingest.
  std::string mqtt_url = "tcp://127.0.0.1:1883";
  std::string mqtt_username = "bridge";
  std::string mqtt_password;  // from --mqtt-password or the first line of --mqtt-password-file
  std::string mqtt_client_id = "progress-bridge";
  // PINGREQ after this long without sending; a broker from which nothing at all
  // arrives for 1.5 times as long is given up (mqtt_connection), so a stalled
  // broker is noticed within 1.75 keepalives (the check runs 4 times per keepalive).
  std::chrono::seconds mqtt_keepalive{5};

  // HTTP.
  std::string http_address = "127.0.0.1";
  std::uint16_t http_port = 8080;  // 0: any free port (the chosen one is logged)
  std::vector<std::string> cors_origins;
  double rate_limit = 20;  // requests per second per client address; 0 disables
  double rate_limit_burst = 40;
  // Event loop threads; by default half the cores, at least 1 (default_threads()).
  unsigned threads = default_threads();
  std::size_t max_connections = 10000;            // HTTP connections and live streams together
  std::size_t max_connections_per_address = 256;  // of them from one client address (IPv6: one /64)
  // Peers allowed to name the client in a forwarding header (CIDR or address).
  std::vector<std::string> trusted_proxies;
  std::string trusted_proxy_header = "x-forwarded-for";  // or "forwarded" (RFC 7239)

  // Admin listener: /healthz, /readyz, /metrics.
  std::string admin_address = "127.0.0.1";
  std::uint16_t admin_port = 8081;
  // Directory served at `/` (the dashboard); empty: no static files.
  std::string web_root;

  // Live streams (WebSocket and SSE).
  std::size_t stream_queue_limit = 1024;  // messages pending per stream after conflation
  // Bytes of job changes and own messages a stream may hold (snapshots apart).
  std::size_t stream_queue_bytes = 1024 * 1024;
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
  std::chrono::seconds stalled_ttl = std::chrono::hours{24};
  // An unfinished job silent this long is stalled (unless it sets stallAfterMs).
  std::chrono::seconds stall_after = std::chrono::minutes{10};
  // Byte budgets of the job store (job_store.hpp).
  std::size_t history_bytes = std::size_t{1} << 20;
  std::size_t bytes_per_user = std::size_t{64} << 20;
  std::size_t max_bytes = std::size_t{1} << 30;

  // The journal (docs/reliability.md): empty data_dir: the default directory.
  std::string data_dir;
  bool memory_only = false;
  std::uint64_t data_max_bytes = std::uint64_t{8} << 30;

  // After SIGTERM, /readyz answers 503 this long while everything else is
  // still served, so a load balancer moves new clients elsewhere first.
  std::chrono::seconds drain_period{5};

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

// "127.0.0.1:8080", "[::1]:8080", ":8080" (loopback) or "host:8080" with a host
// name resolved now ("localhost" is 127.0.0.1; otherwise its first IPv4
// address, else its first); nothing when malformed or not resolvable.
[[nodiscard]] std::optional<std::pair<std::string, std::uint16_t>> parse_listen_address(
    std::string_view text);

}  // namespace progress::bridge
