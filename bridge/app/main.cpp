// progress-bridge: MQTT ingest -> job store -> REST, WebSocket and SSE
// (docs/configuration.md).
#include <pthread.h>
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "access_policy.hpp"
#include "api_service.hpp"
#include "asio.hpp"
#include "bridge_config.hpp"
#include "build_info.hpp"
#include "data_dir.hpp"
#include "embedded_dashboard.hpp"
#include "job_lifecycle.hpp"
#include "job_store.hpp"
#include "journal.hpp"
#include "jwt_verifier.hpp"
#include "listener.hpp"
#include "log_flush.hpp"
#include "metrics.hpp"
#include "mqtt_ingest.hpp"
#include "open_file_limit.hpp"
#include "static_files.hpp"
#include "store_upkeep.hpp"
#include "stream_hub.hpp"
#include "token_issuer.hpp"

namespace {

using namespace progress::bridge;

// After a stop signal, open connections get this long to finish before the
// event loop is stopped regardless.
constexpr auto shutdown_grace = std::chrono::seconds{10};

void setup_logging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("bridge");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::flush_on(spdlog::level::info);
}

std::string url_host(const tcp::endpoint& endpoint) {
  const auto address = endpoint.address().to_string();
  return endpoint.address().is_v6() ? "[" + address + "]" : address;
}

std::shared_ptr<const trusted_proxies> proxies_of(const bridge_config& cfg) {
  if (cfg.trusted_proxies.empty()) return nullptr;
  std::vector<address_range> ranges;
  for (const auto& text : cfg.trusted_proxies) ranges.push_back(*address_range::parse(text));  // validated
  return std::make_shared<const trusted_proxies>(std::move(ranges), cfg.trusted_proxy_header == "forwarded"
                                                                        ? forwarded_header::forwarded
                                                                        : forwarded_header::x_forwarded_for);
}

// Opens a listener and logs its address ("<what> listening on http://...");
// null, logged, when the address cannot be bound.
std::shared_ptr<listener> open_listener(net::io_context& ioc, std::string_view what,
                                        const std::string& address, std::uint16_t port,
                                        std::shared_ptr<http_service> service, listener_options options) {
  beast::error_code ec;
  const tcp::endpoint endpoint{net::ip::make_address(address, ec), port};
  auto opened = std::make_shared<listener>(ioc, endpoint, std::move(service), std::move(options), ec);
  if (ec) {
    spdlog::critical("cannot listen on {}:{}: {}", address, port, ec.message());
    return nullptr;
  }
  const auto bound = opened->local_endpoint();
  spdlog::info("{} listening on http://{}:{}", what, url_host(bound), bound.port());
  return opened;
}

int print_token(const bridge_config& cfg) {
  try {
    std::cout << mint_token(cfg.jwt_secret, cfg.token_user, cfg.token_admin, cfg.token_ttl) << '\n';
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "token: " << e.what() << '\n';
    return 2;
  }
}

// The journal in the data directory, or null: with --memory-only, or when it
// cannot be opened (logged; the bridge does not start then).
std::unique_ptr<journal> open_journal(const bridge_config& cfg, job_store& store, metrics& bridge_metrics) {
  if (cfg.memory_only) {
    spdlog::warn("--memory-only: job timelines will not survive a restart");
    return nullptr;
  }
  const auto dir =
      cfg.data_dir.empty() ? default_data_dir() : std::optional{std::filesystem::path{cfg.data_dir}};
  if (!dir) {
    spdlog::critical(
        "no data directory: set --data-dir (BRIDGE_DATA_DIR) or HOME, or run with --memory-only");
    return nullptr;
  }
  try {
    return std::make_unique<journal>(
        journal_options{.dir = *dir, .max_bytes = cfg.data_max_bytes, .limits = {}}, store, bridge_metrics);
  } catch (const std::exception& e) {
    spdlog::critical("journal: {}", e.what());
    return nullptr;
  }
}

// The signals that stop the bridge: SIGTERM drains first, SIGINT does not.
const sigset_t& stop_signals() {
  static const sigset_t set = [] {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    return signals;
  }();
  return set;
}

int serve(const bridge_config& cfg) {
  std::unique_ptr<jwt_verifier> verifier;
  try {
    verifier = std::make_unique<jwt_verifier>(jwt_verifier_options{
        .hs256_secret = cfg.jwt_secret, .public_key_pem = cfg.jwt_public_key_pem, .leeway = cfg.jwt_leeway});
  } catch (const std::exception& e) {
    spdlog::critical("JWT key: {}", e.what());
    return 2;
  }

  std::shared_ptr<const static_files> files;
  try {
    files = cfg.web_root.empty() ? std::make_shared<const static_files>(embedded_dashboard())
                                 : std::make_shared<const static_files>(cfg.web_root);
  } catch (const std::exception& e) {
    spdlog::critical("{}: {}", cfg.web_root.empty() ? "built-in dashboard" : "--web-root", e.what());
    return 2;
  }

  // Declared before the io_context: handlers it still holds when destroyed
  // may own sessions that use them.
  job_store store{store_limits{.history_per_job = cfg.history_limit,
                               .jobs_per_user = cfg.jobs_per_user,
                               .max_jobs = cfg.max_jobs,
                               .finished_ttl = cfg.finished_ttl,
                               .stalled_ttl = cfg.stalled_ttl,
                               .change_log_limit = cfg.change_log_limit,
                               .history_bytes_per_job = cfg.history_bytes,
                               .bytes_per_user = cfg.bytes_per_user,
                               .max_bytes = cfg.max_bytes}};
  metrics bridge_metrics;
  // Loaded before the ingest connects (the broker's replay is ordered against it).
  auto durable = open_journal(cfg, store, bridge_metrics);
  if (!durable && !cfg.memory_only) return 1;
  ledger_state saved_ledger;
  if (durable) {
    saved_ledger = durable->load();
    durable->start();
  }
  const auto changed = [&durable](const std::shared_ptr<stream_hub>& hub) {
    return [hub, log = durable.get()](const apply_result& result) {
      hub->publish(result);
      if (log) log->record(result);
    };
  };
  net::io_context ioc{static_cast<int>(cfg.threads)};
  auto hub = std::make_shared<stream_hub>(
      ioc, store,
      stream_hub_options{.resume_limit = std::max<std::size_t>(1, cfg.stream_queue_limit / 2),
                         .resume_bytes = cfg.stream_queue_bytes / 2});

  const auto descriptors = fit_open_file_limit(cfg.max_connections);
  if (descriptors.max_connections == 0) return 1;

  ingest_options ingest_opts;
  ingest_opts.keepalive = cfg.mqtt_keepalive;
  ingest_opts.url = cfg.mqtt_url;
  ingest_opts.username = cfg.mqtt_username;
  ingest_opts.password = cfg.mqtt_password;
  ingest_opts.client_id = cfg.mqtt_client_id;
  ingest_opts.ledger = durable.get();
  ingest_opts.saved_ledger = std::move(saved_ledger);
  // Every change of the store passes through the lifecycle (stalled jobs,
  // cancel requests) on its way to the live streams and the journal.
  auto lifecycle = std::make_shared<job_lifecycle>(
      hub->strand(), store, lifecycle_options{.stalls = {.stall_after = cfg.stall_after}}, changed(hub));
  std::shared_ptr<mqtt_ingest> ingest;
  try {
    ingest = std::make_shared<mqtt_ingest>(hub->strand(), ingest_opts, store, bridge_metrics,
                                           lifecycle->listener());
  } catch (const std::exception& e) {
    spdlog::critical("MQTT: {}", e.what());
    return 2;
  }
  lifecycle->attach(*ingest);
  bridge_metrics.on_scrape([ingest](metrics& m) { m.set_changes_unmarked(ingest->unmarked_changes()); });

  auto upkeep = std::make_shared<store_upkeep>(hub->strand(), store, bridge_metrics, lifecycle->listener());
  access_policy access{*verifier, bridge_metrics,
                       access_limits{.rate_limit = cfg.rate_limit, .rate_limit_burst = cfg.rate_limit_burst}};
  // Set on SIGTERM for --drain-period: /readyz answers 503 while all else is served.
  auto draining = std::make_shared<std::atomic<bool>>(false);
  auto api = std::make_shared<api_service>(
      store, hub, bridge_metrics, access, files, [ingest, draining] { return !*draining && ingest->ready(); },
      api_options{
          .cors_origins = cfg.cors_origins,
          .streams = stream_options{.queue_limit = cfg.stream_queue_limit,
                                    .queue_bytes = cfg.stream_queue_bytes,
                                    .stall_timeout = cfg.stream_stall_timeout,
                                    .heartbeat = cfg.stream_heartbeat,
                                    .token_leeway = cfg.jwt_leeway},
          .cancel = cancel_channel{
              .connected = [lifecycle] { return lifecycle->connected(); },
              .request =
                  [lifecycle](const progress::job_key& key, const progress::control_message& message) {
                    lifecycle->request_cancel(key, message);
                  },
          }});
  auto http =
      open_listener(ioc, "progress-bridge " + std::string(version()), cfg.http_address, cfg.http_port, api,
                    listener_options{.limits = {},
                                     .connections = {.max_connections = descriptors.max_connections,
                                                     .max_per_address = cfg.max_connections_per_address},
                                     .proxies = proxies_of(cfg),
                                     .name = "http"});
  auto admin = open_listener(
      ioc, "admin", cfg.admin_address, cfg.admin_port, std::make_shared<admin_door>(api),
      listener_options{
          .limits = {},
          .connections = {.max_connections = admin_max_connections, .max_per_address = admin_max_connections},
          .proxies = nullptr,
          .name = "admin"});
  if (!http || !admin) {
    ingest->stop();
    return 1;
  }
  // Weak: the metrics outlive the io_context the listeners use.
  bridge_metrics.on_scrape([http = std::weak_ptr(http), admin = std::weak_ptr(admin)](metrics& m) {
    if (const auto open = http.lock()) m.set_connections_open("public", open->open_connections());
    if (const auto open = admin.lock()) m.set_connections_open("admin", open->open_connections());
  });
  spdlog::info("MQTT broker {} as {}", cfg.mqtt_url, cfg.mqtt_username);
  spdlog::info("serving {} static files from {}", files->size(),
               cfg.web_root.empty() ? std::string{"the built-in dashboard"} : cfg.web_root);

  std::mutex mutex;
  std::condition_variable wake;
  bool stop_requested = false;
  int stop_signal = 0;
  bool drain_cut_short = false;  // a second signal during the drain period
  std::size_t running_threads = cfg.threads;

  // On a strand of its own: the main thread posts the signal set's later waits and its cancel there.
  net::signal_set signals{net::make_strand(ioc), SIGINT, SIGTERM};
  // main() held them back until now (a stop asked during a long journal load waited for it).
  pthread_sigmask(SIG_UNBLOCK, &stop_signals(), nullptr);
  signals.async_wait([&](const beast::error_code& error, int signal) {
    if (error) return;
    spdlog::info("signal {}: shutting down", signal);
    std::lock_guard lock{mutex};
    stop_requested = true;
    stop_signal = signal;
    wake.notify_all();
  });
  // Drain: report not ready so the load balancer sends new clients elsewhere,
  // and keep serving meanwhile; a second signal ends the drain at once.
  const auto drain = [&] {
    *draining = true;
    spdlog::info("draining: /readyz answers 503, serving for {}s more", cfg.drain_period.count());
    net::post(signals.get_executor(), [&] {
      signals.async_wait([&](const beast::error_code& error, int) {
        if (error) return;
        std::lock_guard lock{mutex};
        drain_cut_short = true;
        wake.notify_all();
      });
    });
    std::unique_lock lock{mutex};
    wake.wait_for(lock, cfg.drain_period, [&] { return drain_cut_short || running_threads == 0; });
  };

  auto flush = std::make_shared<log_flush>(ioc);
  ingest->start();
  lifecycle->start();
  upkeep->start();
  flush->start();
  http->run();
  admin->run();

  std::vector<std::thread> threads;
  for (unsigned i = 0; i < cfg.threads; ++i) {
    threads.emplace_back([&] {
      ioc.run();
      std::lock_guard lock{mutex};
      --running_threads;
      wake.notify_all();
    });
  }

  {
    std::unique_lock lock{mutex};
    wake.wait(lock, [&] { return stop_requested || running_threads == 0; });
  }
  // SIGTERM (an orchestrator, systemd) drains; SIGINT (Ctrl-C) stops at once.
  if (stop_signal == SIGTERM && cfg.drain_period.count() > 0) drain();
  // No wait for a signal may keep the event loop running.
  net::post(signals.get_executor(), [&signals] { signals.cancel(); });
  // Stop accepting and close idle connections; requests in progress finish;
  // live streams get a close frame (1001) or the end of their response.
  http->stop();
  admin->stop();
  hub->shutdown();
  upkeep->stop();
  flush->stop();
  lifecycle->stop();
  // Blocks until the broker saw the disconnect; the event loop keeps running meanwhile.
  ingest->stop();
  {
    std::unique_lock lock{mutex};
    if (!wake.wait_for(lock, shutdown_grace, [&] { return running_threads == 0; })) {
      spdlog::warn("connections still open after {}s: closing them", shutdown_grace.count());
      ioc.stop();
    }
  }
  for (auto& t : threads) t.join();
  if (durable) durable->stop();  // writes what waits
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Until serve() listens for them, SIGINT and SIGTERM wait instead of killing the bridge
  // half-way through its start; every thread started meanwhile inherits the mask.
  pthread_sigmask(SIG_BLOCK, &stop_signals(), nullptr);
  const auto parsed = parse_config(argc, argv);
  if (!parsed.config) {
    std::fputs(parsed.output.c_str(), parsed.exit_code == 0 ? stdout : stderr);
    return parsed.exit_code;
  }
  const auto& cfg = *parsed.config;
  if (cfg.mode == bridge_config::command::token) return print_token(cfg);
  try {
    setup_logging(cfg.log_level);
    return serve(cfg);
  } catch (const std::exception& e) {
    spdlog::critical("fatal: {}", e.what());
    return 1;
  }
}
