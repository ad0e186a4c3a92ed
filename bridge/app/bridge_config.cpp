#include "bridge_config.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>

#include <CLI/CLI.hpp>
#include "asio.hpp"

#include "build_info.hpp"
#include "byte_size.hpp"
#include "client_address.hpp"
#include "parse_integer.hpp"
#include "progress/command_line/parse_error_text.hpp"
#include "progress/protocol/topic.hpp"
#include "token_issuer.hpp"

namespace progress::bridge {

namespace {

// Key files are small; a bigger file is a mistake, not a key.
constexpr std::size_t max_secret_file_bytes = 64 * 1024;

std::optional<std::string> read_small_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(max_secret_file_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  const auto got = static_cast<std::size_t>(in.gcount());
  if (got > max_secret_file_bytes || in.bad()) return std::nullopt;
  text.resize(got);
  return text;
}

// A CLI11 validator for durations like "90s", "15m", "24h", "7d".
CLI::Validator duration_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (!parse_duration(text)) return "not a duration (like 90s, 15m, 24h, 7d): " + text;
        return {};
      },
      "DURATION");
}

// A CLI11 validator for byte sizes like "512k", "64M", "1G".
CLI::Validator byte_size_validator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (!parse_byte_size(text)) return "not a byte size (like 1048576, 512k, 64M, 1G): " + text;
        return {};
      },
      "SIZE");
}

constexpr std::string_view listen_address_expected =
    "expected host:port with an IP address or a host name that resolves (127.0.0.1:8080, [::1]:8080, "
    "localhost:8080; port 0: any free port)";

config_result failure(std::string message) {
  return config_result{std::nullopt, 2, std::move(message) + "\n"};
}

}  // namespace

std::optional<std::pair<std::string, std::uint16_t>> parse_listen_address(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  const std::string_view port_text = text.substr(colon + 1);
  const auto port = parse_integer<std::uint16_t>(port_text, 0, UINT16_MAX);
  if (!port) return std::nullopt;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "127.0.0.1";  // never all interfaces by accident
  boost::system::error_code bad;
  const auto address = boost::asio::ip::make_address(std::string(host), bad);
  if (!bad) return std::pair{address.to_string(), *port};
  if (host == "localhost") return std::pair{std::string("127.0.0.1"), *port};
  // A host name is resolved once, here: the listener binds that address.
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  const auto found = resolver.resolve(std::string(host), "", bad);
  if (bad || found.empty()) return std::nullopt;
  const auto v4 = std::find_if(found.begin(), found.end(),
                               [](const auto& entry) { return entry.endpoint().address().is_v4(); });
  return std::pair{(v4 != found.end() ? *v4 : *found.begin()).endpoint().address().to_string(), *port};
}

unsigned default_threads() noexcept {
  return std::max(1U, std::thread::hardware_concurrency() / 2);
}

config_result parse_config(int argc, const char* const* argv) {
  bridge_config cfg;
  CLI::App app{"progress-bridge: serves live job progress from MQTT over REST, WebSocket and SSE",
               "progress-bridge"};
  app.set_version_flag("--version", std::string(version()));
  app.get_formatter()->column_width(44);
  app.fallthrough();  // `token --jwt-secret ...` works like `--jwt-secret ... token`

  std::string listen = "127.0.0.1:8080";
  std::string admin_listen = "127.0.0.1:8081";
  std::string mqtt_keepalive = "5s";
  std::string password_file;
  std::string public_key_file;
  std::string finished_ttl = "24h";
  std::string stalled_ttl = "24h";
  std::string stall_after = "10m";
  std::string stall_timeout = "30s";
  std::string heartbeat = "15s";
  std::string jwt_leeway = "30s";
  std::string drain_period = "5s";
  std::string history_bytes = "1M";
  std::string bytes_per_user = "64M";
  std::string max_bytes = "1G";
  std::string data_max_bytes = "8G";

  app.add_option("--mqtt-url", cfg.mqtt_url, "Broker URL (tcp://host:port or ssl://host:port)")
      ->envname("BRIDGE_MQTT_URL")
      ->capture_default_str();
  app.add_option("--mqtt-username", cfg.mqtt_username, "Broker user name")
      ->envname("BRIDGE_MQTT_USERNAME")
      ->capture_default_str();
  auto* password = app.add_option("--mqtt-password", cfg.mqtt_password, "Broker password")
                       ->envname("BRIDGE_MQTT_PASSWORD");
  app.add_option("--mqtt-password-file", password_file, "File whose first line is the broker password")
      ->envname("BRIDGE_MQTT_PASSWORD_FILE")
      ->check(CLI::ExistingFile)
      ->excludes(password);
  app.add_option("--mqtt-client-id", cfg.mqtt_client_id, "MQTT client id ([A-Za-z0-9_.-], unique per bridge)")
      ->envname("BRIDGE_MQTT_CLIENT_ID")
      ->capture_default_str();
  app.add_option("--mqtt-keepalive", mqtt_keepalive,
                 "MQTT keepalive: a stalled broker is noticed within 2.5 times this")
      ->envname("BRIDGE_MQTT_KEEPALIVE")
      ->check(duration_validator())
      ->capture_default_str();
  app.add_option("--http-listen", listen,
                 "HTTP host:port to listen on (an IP address or a host name; port 0: any free port)")
      ->envname("BRIDGE_HTTP_LISTEN")
      ->capture_default_str();
  app.add_option("--admin-listen", admin_listen,
                 "Address:port of /healthz, /readyz and /metrics (keep it off the public network)")
      ->envname("BRIDGE_ADMIN_LISTEN")
      ->capture_default_str();
  app.add_option("--jwt-secret", cfg.jwt_secret, "HS256 secret for bearer tokens (>= 32 bytes)")
      ->envname("BRIDGE_JWT_SECRET");
  app.add_option("--jwt-public-key", public_key_file, "PEM public key file for RS256/ES256 bearer tokens")
      ->envname("BRIDGE_JWT_PUBLIC_KEY")
      ->check(CLI::ExistingFile);
  app.add_option("--jwt-leeway", jwt_leeway,
                 "Clock skew allowed on a token's exp, nbf and iat (live streams close at exp plus this)")
      ->envname("BRIDGE_JWT_LEEWAY")
      ->check(duration_validator())
      ->capture_default_str();
  app.add_option("--cors-origin", cfg.cors_origins,
                 "Browser origin allowed to call the API (repeatable; * = any, without credentials)")
      ->envname("BRIDGE_CORS_ORIGINS")
      ->delimiter(',');
  app.add_option("--history-limit", cfg.history_limit, "Events kept per job")
      ->envname("BRIDGE_HISTORY_LIMIT")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--jobs-per-user", cfg.jobs_per_user, "Jobs kept per user")
      ->envname("BRIDGE_JOBS_PER_USER")
      ->check(CLI::Range(1, 10000000))
      ->capture_default_str();
  app.add_option("--max-jobs", cfg.max_jobs, "Jobs kept in total")
      ->envname("BRIDGE_MAX_JOBS")
      ->check(CLI::Range(1, 100000000))
      ->capture_default_str();
  app.add_option("--history-bytes", history_bytes,
                 "Bytes of history kept per job; the oldest events go first")
      ->envname("BRIDGE_HISTORY_BYTES")
      ->check(byte_size_validator())
      ->capture_default_str();
  app.add_option("--bytes-per-user", bytes_per_user,
                 "Bytes of job states and history kept per user (oldest history, then finished jobs go)")
      ->envname("BRIDGE_BYTES_PER_USER")
      ->check(byte_size_validator())
      ->capture_default_str();
  app.add_option("--max-bytes", max_bytes,
                 "Bytes of job states and history kept in total (oldest history, then finished jobs go)")
      ->envname("BRIDGE_MAX_BYTES")
      ->check(byte_size_validator())
      ->capture_default_str();
  auto* memory_only =
      app.add_flag("--memory-only", cfg.memory_only,
                   "Keep no journal: a restarted bridge reloads states from the broker, without timelines")
          ->envname("BRIDGE_MEMORY_ONLY");
  app.add_option("--data-dir", cfg.data_dir,
                 "Directory of the journal (default: /var/lib/progress-bridge when writable, else "
                 "$XDG_STATE_HOME/progress-bridge or ~/.local/state/progress-bridge)")
      ->envname("BRIDGE_DATA_DIR")
      ->excludes(memory_only);
  app.add_option("--data-max-bytes", data_max_bytes,
                 "Size cap of the journal's database; beyond, writes fail as on a full disk")
      ->envname("BRIDGE_DATA_MAX_BYTES")
      ->check(byte_size_validator())
      ->capture_default_str();
  app.add_option("--finished-ttl", finished_ttl, "How long finished jobs are kept (90s, 15m, 24h, 7d)")
      ->envname("BRIDGE_FINISHED_TTL")
      ->check(duration_validator())
      ->capture_default_str();
  app.add_option(
         "--stall-after", stall_after,
         "An unfinished job that sent nothing this long is marked stalled, unless it sets stallAfterMs")
      ->envname("BRIDGE_STALL_AFTER")
      ->check(duration_validator())
      ->capture_default_str();
  app.add_option("--stalled-ttl", stalled_ttl, "How long a job marked stalled is kept (90s, 15m, 24h, 7d)")
      ->envname("BRIDGE_STALLED_TTL")
      ->check(duration_validator())
      ->capture_default_str();
  app.add_option("--rate-limit", cfg.rate_limit, "REST requests per second per client address (0: off)")
      ->envname("BRIDGE_RATE_LIMIT")
      ->check(CLI::Range(0.0, 1e6))
      ->capture_default_str();
  app.add_option("--rate-limit-burst", cfg.rate_limit_burst, "REST requests a client may make at once")
      ->envname("BRIDGE_RATE_LIMIT_BURST")
      ->check(CLI::Range(1.0, 1e6))
      ->capture_default_str();
  app.add_option("--threads", cfg.threads,
                 "Threads running the network event loop (default: half the cores, at least 1)")
      ->envname("BRIDGE_THREADS")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--max-connections", cfg.max_connections,
                 "Open connections of the public listener at most, HTTP and live streams together")
      ->envname("BRIDGE_MAX_CONNECTIONS")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--max-connections-per-address", cfg.max_connections_per_address,
                 "Open connections at most from one client address (IPv6: one /64)")
      ->envname("BRIDGE_MAX_CONNECTIONS_PER_ADDRESS")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--trusted-proxy", cfg.trusted_proxies,
                 "Proxy (CIDR or address) whose forwarding header names the client (repeatable)")
      ->envname("BRIDGE_TRUSTED_PROXIES")
      ->delimiter(',')
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            if (!address_range::parse(text)) return "not an address or CIDR range: " + text;
            return {};
          },
          "CIDR"));
  app.add_option("--trusted-proxy-header", cfg.trusted_proxy_header,
                 "Header a trusted proxy names the client in: x-forwarded-for or forwarded")
      ->envname("BRIDGE_TRUSTED_PROXY_HEADER")
      ->check(CLI::IsMember({"x-forwarded-for", "forwarded"}))
      ->capture_default_str();
  app.add_option("--web-root", cfg.web_root,
                 "Directory of static files served at / instead of the built-in dashboard")
      ->envname("BRIDGE_WEB_ROOT")
      ->check(CLI::ExistingDirectory);
  app.add_option("--stream-queue-limit", cfg.stream_queue_limit,
                 "Messages a live stream may have pending after conflation; beyond: closed (4008)")
      ->envname("BRIDGE_STREAM_QUEUE_LIMIT")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--stream-queue-bytes", cfg.stream_queue_bytes,
                 "Bytes of messages a live stream may hold for its client besides one snapshot being "
                 "written and one waiting; beyond: closed (4009)")
      ->envname("BRIDGE_STREAM_QUEUE_BYTES")
      ->check(CLI::Range(min_stream_queue_bytes, std::size_t{1} << 32))
      ->capture_default_str();
  app.add_option("--stream-stall-timeout", stall_timeout,
                 "A live stream whose writes make no progress this long is closed (4008)")
      ->envname("BRIDGE_STREAM_STALL_TIMEOUT")
      ->check(duration_validator())
      ->capture_default_str();
  app.add_option("--stream-heartbeat", heartbeat,
                 "SSE heartbeat interval; WebSocket ping when idle this long, close after twice as long")
      ->envname("BRIDGE_STREAM_HEARTBEAT")
      ->check(duration_validator())
      ->capture_default_str();
  app.add_option("--change-log-limit", cfg.change_log_limit,
                 "Recent changes kept so reconnecting streams can resume without loss")
      ->envname("BRIDGE_CHANGE_LOG_LIMIT")
      ->check(CLI::Range(1, 10000000))
      ->capture_default_str();
  app.add_option("--drain-period", drain_period,
                 "After SIGTERM, report not ready on /readyz and keep serving this long before "
                 "closing streams (0: close at once)")
      ->envname("BRIDGE_DRAIN_PERIOD")
      ->check(duration_validator())
      ->capture_default_str();
  app.add_option("--log-level", cfg.log_level, "trace, debug, info, warn, error, critical or off")
      ->envname("BRIDGE_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();

  std::string token_ttl = "1h";
  auto* token = app.add_subcommand("token", "Print a development token signed with the HS256 secret");
  token->add_option("--user", cfg.token_user, "User id the token speaks for (sub)")->required();
  token->add_flag("--admin", cfg.token_admin, "Grant the admin role (read every user's jobs)");
  token->add_option("--ttl", token_ttl, "Lifetime (90s, 15m, 1h, 7d)")
      ->check(duration_validator())
      ->capture_default_str();
  app.footer(
      "Each option also reads the environment variable shown next to it.\n"
      "Exactly one of --jwt-secret and --jwt-public-key is required.");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out;
    std::ostringstream err;
    // CLI11's own codes are internal; the shell sees 0 (help, version) or 2 (usage).
    if (app.exit(e, out, err) == 0) return config_result{std::nullopt, 0, out.str() + err.str()};
    return config_result{
        std::nullopt, 2,
        command_line::parse_error_text(app, e, argc, argv, {"--mqtt-password", "--jwt-secret"})};
  }

  const auto endpoint = parse_listen_address(listen);
  if (!endpoint) return failure("--http-listen: " + std::string(listen_address_expected) + ", got " + listen);
  cfg.http_address = endpoint->first;
  cfg.http_port = endpoint->second;
  const auto admin_endpoint = parse_listen_address(admin_listen);
  if (!admin_endpoint) {
    return failure("--admin-listen: " + std::string(listen_address_expected) + ", got " + admin_listen);
  }
  cfg.admin_address = admin_endpoint->first;
  cfg.admin_port = admin_endpoint->second;
  cfg.mqtt_keepalive = *parse_duration(mqtt_keepalive);
  if (cfg.mqtt_keepalive < std::chrono::seconds{2} || cfg.mqtt_keepalive > std::chrono::hours{1})
    return failure("--mqtt-keepalive: between 2s and 1h");
  cfg.finished_ttl = *parse_duration(finished_ttl);  // checked by the validator
  cfg.stalled_ttl = *parse_duration(stalled_ttl);
  cfg.stall_after = *parse_duration(stall_after);
  cfg.stream_stall_timeout = *parse_duration(stall_timeout);
  cfg.stream_heartbeat = *parse_duration(heartbeat);
  cfg.jwt_leeway = *parse_duration(jwt_leeway);
  cfg.drain_period = *parse_duration(drain_period);
  cfg.history_bytes = *parse_byte_size(history_bytes);  // checked by the validators
  cfg.bytes_per_user = *parse_byte_size(bytes_per_user);
  cfg.max_bytes = *parse_byte_size(max_bytes);
  cfg.data_max_bytes = *parse_byte_size(data_max_bytes);
  if (cfg.data_max_bytes < (std::uint64_t{1} << 20)) return failure("--data-max-bytes: at least 1M");
  if (cfg.jwt_leeway > std::chrono::hours{1}) return failure("--jwt-leeway: at most 1h");
  if (cfg.drain_period > std::chrono::minutes{10}) return failure("--drain-period: at most 10m");
  if (cfg.stream_stall_timeout.count() < 1) return failure("--stream-stall-timeout: at least 1s");
  if (cfg.stream_heartbeat.count() < 1) return failure("--stream-heartbeat: at least 1s");
  if (cfg.stall_after.count() < 1) return failure("--stall-after: at least 1s");
  if (cfg.stall_after > std::chrono::days{7}) return failure("--stall-after: at most 7d");
  if (cfg.stalled_ttl > std::chrono::days{3650}) return failure("--stalled-ttl: at most 3650d");
  if (!password_file.empty()) {
    auto text = read_small_file(password_file);
    if (!text) return failure("--mqtt-password-file: cannot read " + password_file);
    cfg.mqtt_password = text->substr(0, text->find_first_of("\r\n"));
  }
  if (!public_key_file.empty()) {
    auto text = read_small_file(public_key_file);
    if (!text) return failure("--jwt-public-key: cannot read " + public_key_file);
    cfg.jwt_public_key_pem = std::move(*text);
  }
  if (!is_valid_id(cfg.mqtt_client_id))
    return failure("--mqtt-client-id: must match " + std::string(id_rule));

  if (token->parsed()) {
    cfg.mode = bridge_config::command::token;
    cfg.token_ttl = *parse_duration(token_ttl);
    if (cfg.jwt_secret.empty()) return failure("token: needs --jwt-secret (or BRIDGE_JWT_SECRET)");
    if (!is_valid_id(cfg.token_user)) return failure("token: --user must match " + std::string(id_rule));
    if (cfg.token_ttl.count() <= 0) return failure("token: --ttl must be positive");
    return config_result{std::move(cfg), 0, {}};
  }
  if (cfg.jwt_secret.empty() == cfg.jwt_public_key_pem.empty()) {
    return failure("exactly one of --jwt-secret and --jwt-public-key is required");
  }
  return config_result{std::move(cfg), 0, {}};
}

}  // namespace progress::bridge
