#include "bridge_config.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace progress::bridge {
namespace {

constexpr const char* secret = "a-secret-that-is-at-least-32-bytes-long!";

// Runs parse_config on a command line given as strings.
config_result parse(std::vector<std::string> args) {
  args.insert(args.begin(), "progress-bridge");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_config(static_cast<int>(argv.size()), argv.data());
}

// Sets an environment variable for one test and restores it afterwards.
class scoped_env {
 public:
  scoped_env(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~scoped_env() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

std::filesystem::path write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()));
  std::ofstream(path) << text;
  return path;
}

TEST(BridgeConfig, Defaults) {
  const auto r = parse({"--jwt-secret", secret});
  ASSERT_TRUE(r.config) << r.output;
  const auto& c = *r.config;
  EXPECT_EQ(c.mode, bridge_config::command::serve);
  EXPECT_EQ(c.mqtt_url, "tcp://127.0.0.1:1883");
  EXPECT_EQ(c.http_address, "127.0.0.1");
  EXPECT_EQ(c.http_port, 8080);
  EXPECT_EQ(c.threads, std::max(1U, std::thread::hardware_concurrency() / 2));
  EXPECT_EQ(c.finished_ttl, std::chrono::hours{24});
  EXPECT_EQ(c.stalled_ttl, std::chrono::hours{24});
  EXPECT_EQ(c.stall_after, std::chrono::minutes{10});
  EXPECT_EQ(c.log_level, "info");
  EXPECT_TRUE(c.cors_origins.empty());
  EXPECT_EQ(c.admin_address, "127.0.0.1");
  EXPECT_EQ(c.admin_port, 8081);
  EXPECT_EQ(c.max_connections_per_address, 256u);
  EXPECT_TRUE(c.trusted_proxies.empty());
  EXPECT_EQ(c.trusted_proxy_header, "x-forwarded-for");
  EXPECT_EQ(c.mqtt_keepalive, std::chrono::seconds{5});
  EXPECT_EQ(c.stream_queue_bytes, 1024u * 1024u);
}

TEST(BridgeConfig, EdgeLimitsFromFlagsAndEnvironment) {
  auto r = parse({"--jwt-secret", secret, "--admin-listen", "[::1]:9100", "--max-connections-per-address",
                  "7", "--trusted-proxy", "10.0.0.0/8", "--trusted-proxy", "fd00::/8",
                  "--trusted-proxy-header", "forwarded", "--mqtt-keepalive", "10s"});
  ASSERT_TRUE(r.config) << r.output;
  EXPECT_EQ(r.config->admin_address, "::1");
  EXPECT_EQ(r.config->admin_port, 9100);
  EXPECT_EQ(r.config->max_connections_per_address, 7u);
  EXPECT_EQ(r.config->trusted_proxies, (std::vector<std::string>{"10.0.0.0/8", "fd00::/8"}));
  EXPECT_EQ(r.config->trusted_proxy_header, "forwarded");
  EXPECT_EQ(r.config->mqtt_keepalive, std::chrono::seconds{10});

  const scoped_env admin{"BRIDGE_ADMIN_LISTEN", "127.0.0.1:0"};
  const scoped_env per_address{"BRIDGE_MAX_CONNECTIONS_PER_ADDRESS", "3"};
  const scoped_env proxies{"BRIDGE_TRUSTED_PROXIES", "127.0.0.1,192.168.0.0/16"};
  const scoped_env header{"BRIDGE_TRUSTED_PROXY_HEADER", "x-forwarded-for"};
  const scoped_env keepalive{"BRIDGE_MQTT_KEEPALIVE", "2s"};
  r = parse({"--jwt-secret", secret});
  ASSERT_TRUE(r.config) << r.output;
  EXPECT_EQ(r.config->admin_port, 0);
  EXPECT_EQ(r.config->max_connections_per_address, 3u);
  EXPECT_EQ(r.config->trusted_proxies, (std::vector<std::string>{"127.0.0.1", "192.168.0.0/16"}));
  EXPECT_EQ(r.config->mqtt_keepalive, std::chrono::seconds{2});
}

TEST(BridgeConfig, CommandLineFlags) {
  // clang-format off
  const auto r = parse({"--jwt-secret",         secret,
                        "--mqtt-url",           "tcp://broker:1884",
                        "--mqtt-username",      "b",
                        "--mqtt-password",      "pw",
                        "--http-listen",        "127.0.0.1:0",
                        "--cors-origin",        "https://a.example",
                        "--cors-origin",        "https://b.example",
                        "--history-limit",      "7",
                        "--jobs-per-user",      "8",
                        "--max-jobs",           "9",
                        "--finished-ttl",       "15m",
                        "--rate-limit",         "2.5",
                        "--rate-limit-burst",   "5",
                        "--threads",            "4",
                        "--stream-queue-bytes", "300000",
                        "--log-level",          "debug"});
  // clang-format on
  ASSERT_TRUE(r.config) << r.output;
  const auto& c = *r.config;
  EXPECT_EQ(c.mqtt_url, "tcp://broker:1884");
  EXPECT_EQ(c.mqtt_username, "b");
  EXPECT_EQ(c.mqtt_password, "pw");
  EXPECT_EQ(c.http_port, 0);
  EXPECT_EQ(c.cors_origins, (std::vector<std::string>{"https://a.example", "https://b.example"}));
  EXPECT_EQ(c.history_limit, 7u);
  EXPECT_EQ(c.jobs_per_user, 8u);
  EXPECT_EQ(c.max_jobs, 9u);
  EXPECT_EQ(c.finished_ttl, std::chrono::minutes{15});
  EXPECT_DOUBLE_EQ(c.rate_limit, 2.5);
  EXPECT_DOUBLE_EQ(c.rate_limit_burst, 5);
  EXPECT_EQ(c.threads, 4u);
  EXPECT_EQ(c.stream_queue_bytes, 300000u);
  EXPECT_EQ(c.log_level, "debug");
}

TEST(BridgeConfig, ByteBudgetsAndTheJournal) {
  auto r = parse({"--jwt-secret", secret});
  ASSERT_TRUE(r.config) << r.output;
  EXPECT_EQ(r.config->history_bytes, 1u << 20);
  EXPECT_EQ(r.config->bytes_per_user, 64u << 20);
  EXPECT_EQ(r.config->max_bytes, 1u << 30);
  EXPECT_EQ(r.config->data_dir, "");
  EXPECT_FALSE(r.config->memory_only);
  EXPECT_EQ(r.config->data_max_bytes, std::uint64_t{8} << 30);

  r = parse({"--jwt-secret", secret, "--history-bytes", "256k", "--bytes-per-user", "8MiB", "--max-bytes",
             "2G", "--data-dir", "/srv/bridge", "--data-max-bytes", "100M"});
  ASSERT_TRUE(r.config) << r.output;
  EXPECT_EQ(r.config->history_bytes, 256u << 10);
  EXPECT_EQ(r.config->bytes_per_user, 8u << 20);
  EXPECT_EQ(r.config->max_bytes, std::size_t{2} << 30);
  EXPECT_EQ(r.config->data_dir, "/srv/bridge");
  EXPECT_EQ(r.config->data_max_bytes, 100u << 20);

  const scoped_env memory{"BRIDGE_MEMORY_ONLY", "true"};
  r = parse({"--jwt-secret", secret});
  ASSERT_TRUE(r.config) << r.output;
  EXPECT_TRUE(r.config->memory_only);
  EXPECT_EQ(parse({"--jwt-secret", secret, "--data-dir", "/srv/bridge"}).exit_code, 2)
      << "excludes --memory-only";
}

TEST(BridgeConfig, RefusesBadByteSizes) {
  EXPECT_EQ(parse({"--jwt-secret", secret, "--max-bytes", "lots"}).exit_code, 2);
  EXPECT_EQ(parse({"--jwt-secret", secret, "--history-bytes", "1.5M"}).exit_code, 2);
  EXPECT_EQ(parse({"--jwt-secret", secret, "--data-max-bytes", "1k"}).exit_code, 2);
}

TEST(BridgeConfig, EnvironmentFallbackAndCommandLineWins) {
  const scoped_env url{"BRIDGE_MQTT_URL", "tcp://from-env:1883"};
  const scoped_env listen{"BRIDGE_HTTP_LISTEN", "127.0.0.1:9090"};
  const scoped_env key{"BRIDGE_JWT_SECRET", secret};
  const scoped_env user{"BRIDGE_MQTT_USERNAME", "env-user"};
  auto r = parse({});
  ASSERT_TRUE(r.config) << r.output;
  EXPECT_EQ(r.config->mqtt_url, "tcp://from-env:1883");
  EXPECT_EQ(r.config->http_port, 9090);
  EXPECT_EQ(r.config->jwt_secret, secret);
  EXPECT_EQ(r.config->mqtt_username, "env-user");
  r = parse({"--mqtt-url", "tcp://from-flag:1883"});
  ASSERT_TRUE(r.config) << r.output;
  EXPECT_EQ(r.config->mqtt_url, "tcp://from-flag:1883");
}

TEST(BridgeConfig, PasswordFileFirstLine) {
  const auto path = write_temp("bridge-password", "s3cret\nignored\n");
  const auto r = parse({"--jwt-secret", secret, "--mqtt-password-file", path.string()});
  std::filesystem::remove(path);
  ASSERT_TRUE(r.config) << r.output;
  EXPECT_EQ(r.config->mqtt_password, "s3cret");
}

TEST(BridgeConfig, PublicKeyFileIsRead) {
  const auto path = write_temp("bridge-key", "-----BEGIN PUBLIC KEY-----\nabc\n-----END PUBLIC KEY-----\n");
  const auto r = parse({"--jwt-public-key", path.string()});
  std::filesystem::remove(path);
  ASSERT_TRUE(r.config) << r.output;
  EXPECT_NE(r.config->jwt_public_key_pem.find("BEGIN PUBLIC KEY"), std::string::npos);
}

TEST(BridgeConfig, NeedsExactlyOneJwtKey) {
  EXPECT_FALSE(parse({}).config);
  const auto path = write_temp("bridge-key2", "pem");
  const auto both = parse({"--jwt-secret", secret, "--jwt-public-key", path.string()});
  std::filesystem::remove(path);
  EXPECT_FALSE(both.config);
  EXPECT_NE(both.exit_code, 0);
}

TEST(BridgeConfig, RejectsBadValues) {
  for (const std::vector<std::string>& bad :
       std::vector<std::vector<std::string>>{{"--http-listen", "nonsense"},
                                             {"--http-listen", "127.0.0.1:70000"},
                                             {"--http-listen", "not-an-ip.invalid:80"},
                                             {"--finished-ttl", "soon"},
                                             {"--stall-after", "0s"},
                                             {"--stall-after", "8d"},
                                             {"--stalled-ttl", "later"},
                                             {"--threads", "0"},
                                             {"--stream-queue-bytes", "1000"},
                                             {"--log-level", "loud"},
                                             {"--mqtt-client-id", "a/b"},
                                             {"--mqtt-password-file", "/nonexistent/file"},
                                             {"--admin-listen", "8081"},
                                             {"--max-connections-per-address", "0"},
                                             {"--trusted-proxy", "10.0.0.0/33"},
                                             {"--trusted-proxy", "proxy.internal"},
                                             {"--trusted-proxy-header", "x-real-ip"},
                                             {"--mqtt-keepalive", "1s"},
                                             {"--mqtt-keepalive", "2h"},
                                             {"--unknown-flag"}}) {
    auto args = bad;
    args.insert(args.begin(), {"--jwt-secret", secret});
    const auto r = parse(args);
    EXPECT_FALSE(r.config) << bad[0];
    EXPECT_NE(r.exit_code, 0) << bad[0];
    EXPECT_FALSE(r.output.empty()) << bad[0];
  }
}

TEST(BridgeConfig, ListenAddressErrorsSayWhatIsExpected) {
  const auto r = parse({"--jwt-secret", secret, "--http-listen", "8080"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("--http-listen: expected host:port"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("localhost:8080"), std::string::npos) << r.output;
  const auto named =
      parse({"--jwt-secret", secret, "--http-listen", "localhost:0", "--admin-listen", "localhost:9"});
  ASSERT_TRUE(named.config) << named.output;
  EXPECT_EQ(named.config->http_address, "127.0.0.1");
  EXPECT_EQ(named.config->admin_address, "127.0.0.1");
  EXPECT_EQ(named.config->admin_port, 9);
}

// A mistyped flag makes its value an unexpected argument: the error names the
// flag, never the value, and never the value of a secret option.
TEST(BridgeConfig, ErrorsNeverShowSecrets) {
  const std::string password = "hunter2-broker-password";
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--jwt-secret", secret, "--mqtt-pasword", password},
           {"--jwt-secret", secret, "--mqtt-pasword=" + password},
           {"--jwt-secret", secret, "token", "--usr", password},
           {"--jwt-secret", secret, "--mqtt-password", password, "--mqtt-keepalive", password},
           {"--jwt-secert", secret, "--mqtt-password=" + password, "--threads", "none"}}) {
    const auto r = parse(args);
    EXPECT_EQ(r.exit_code, 2) << r.output;
    EXPECT_EQ(r.output.find(password), std::string::npos) << r.output;
    EXPECT_EQ(r.output.find(secret), std::string::npos) << r.output;
  }
  const auto typo = parse({"--jwt-secret", secret, "--mqtt-pasword", password});
  EXPECT_NE(typo.output.find("unknown option --mqtt-pasword"), std::string::npos) << typo.output;
}

TEST(BridgeConfig, StallTimesAreDurations) {
  const auto r = parse({"--jwt-secret", secret, "--stall-after", "90s", "--stalled-ttl", "2h"});
  ASSERT_TRUE(r.config) << r.output;
  EXPECT_EQ(r.config->stall_after, std::chrono::seconds{90});
  EXPECT_EQ(r.config->stalled_ttl, std::chrono::hours{2});
  const scoped_env env{"BRIDGE_STALL_AFTER", "5m"};
  EXPECT_EQ(parse({"--jwt-secret", secret}).config->stall_after, std::chrono::minutes{5});
}

TEST(BridgeConfig, DrainPeriodIsADurationUpToTenMinutes) {
  EXPECT_EQ(parse({"--jwt-secret", secret}).config->drain_period, std::chrono::seconds{5});
  EXPECT_EQ(parse({"--jwt-secret", secret, "--drain-period", "0"}).config->drain_period,
            std::chrono::seconds{0});
  EXPECT_EQ(parse({"--jwt-secret", secret, "--drain-period", "10m"}).config->drain_period,
            std::chrono::minutes{10});
  const auto too_long = parse({"--jwt-secret", secret, "--drain-period", "11m"});
  EXPECT_FALSE(too_long.config);
  EXPECT_NE(too_long.output.find("--drain-period: at most 10m"), std::string::npos) << too_long.output;
  EXPECT_FALSE(parse({"--jwt-secret", secret, "--drain-period", "soon"}).config);
  const scoped_env env{"BRIDGE_DRAIN_PERIOD", "20s"};
  EXPECT_EQ(parse({"--jwt-secret", secret}).config->drain_period, std::chrono::seconds{20});
}

TEST(BridgeConfig, HelpListsFlagsWithEnvironmentNames) {
  const auto r = parse({"--help"});
  EXPECT_FALSE(r.config);
  EXPECT_EQ(r.exit_code, 0);
  for (const char* text : {"--mqtt-url",
                           "BRIDGE_MQTT_URL",
                           "--http-listen",
                           "BRIDGE_HTTP_LISTEN",
                           "--jwt-secret",
                           "BRIDGE_JWT_SECRET",
                           "--jwt-public-key",
                           "--cors-origin",
                           "--rate-limit",
                           "--threads",
                           "--finished-ttl",
                           "--mqtt-password-file",
                           "token",
                           "--admin-listen",
                           "BRIDGE_ADMIN_LISTEN",
                           "--max-connections-per-address",
                           "--trusted-proxy",
                           "BRIDGE_TRUSTED_PROXIES",
                           "--trusted-proxy-header",
                           "--mqtt-keepalive",
                           "--stall-after",
                           "BRIDGE_STALL_AFTER",
                           "--stalled-ttl",
                           "BRIDGE_STALLED_TTL"}) {
    EXPECT_NE(r.output.find(text), std::string::npos) << text;
  }
}

TEST(BridgeConfig, TokenSubcommand) {
  auto r = parse({"--jwt-secret", secret, "token", "--user", "alice", "--admin", "--ttl", "2h"});
  ASSERT_TRUE(r.config) << r.output;
  EXPECT_EQ(r.config->mode, bridge_config::command::token);
  EXPECT_EQ(r.config->token_user, "alice");
  EXPECT_TRUE(r.config->token_admin);
  EXPECT_EQ(r.config->token_ttl, std::chrono::hours{2});
  r = parse({"token", "--user", "bob", "--jwt-secret", secret});
  ASSERT_TRUE(r.config) << r.output;
  EXPECT_EQ(r.config->token_ttl, std::chrono::hours{1});
  EXPECT_FALSE(r.config->token_admin);
  EXPECT_FALSE(parse({"token", "--user", "bob"}).config);                          // no secret
  EXPECT_FALSE(parse({"--jwt-secret", secret, "token", "--user", "a/b"}).config);  // bad id
  EXPECT_FALSE(parse({"--jwt-secret", secret, "token"}).config);                   // no user
}

TEST(ListenAddress, Forms) {
  EXPECT_EQ(parse_listen_address("127.0.0.1:80"), (std::pair<std::string, std::uint16_t>{"127.0.0.1", 80}));
  EXPECT_EQ(parse_listen_address("[::1]:8080"), (std::pair<std::string, std::uint16_t>{"::1", 8080}));
  EXPECT_EQ(parse_listen_address(":0"), (std::pair<std::string, std::uint16_t>{"127.0.0.1", 0}));
  EXPECT_FALSE(parse_listen_address("127.0.0.1"));
  EXPECT_FALSE(parse_listen_address("127.0.0.1:"));
  EXPECT_FALSE(parse_listen_address("127.0.0.1:8o"));
  EXPECT_EQ(parse_listen_address("localhost:80"), (std::pair<std::string, std::uint16_t>{"127.0.0.1", 80}));
  EXPECT_FALSE(parse_listen_address("no-such-host.invalid:80"));  // .invalid never resolves (RFC 6761)
}

}  // namespace
}  // namespace progress::bridge
