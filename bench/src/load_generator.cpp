#include "load_generator.hpp"

#include <sys/resource.h>

#include <csignal>
#include <fstream>
#include <iostream>

#include "asio.hpp"

#include "token_issuer.hpp"

namespace progress::bench {

namespace {

volatile std::sig_atomic_t stop_signal = 0;
extern "C" void on_stop_signal(int) {
  stop_signal = 1;
}

using clock = std::chrono::steady_clock;

double seconds_since(clock::time_point start) {
  return std::chrono::duration<double>(clock::now() - start).count();
}

double cpu_seconds_of_self() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const auto seconds = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::string target_for(wire_protocol wire, const std::string& token) {
  switch (wire) {
    case wire_protocol::bridge: return "/api/v1/ws?access_token=" + token;
    case wire_protocol::socketio: return "/socket.io/?EIO=4&transport=websocket";
    case wire_protocol::plain: return "/ws?access_token=" + token;
    case wire_protocol::mqtt: return "/mqtt";
  }
  return "/";
}

}  // namespace

load_generator::load_generator(load_options options) : options_(std::move(options)) {
  for (int i = 0; i < options_.threads; ++i)
    workers_.push_back(std::make_unique<worker>(static_cast<std::size_t>(options_.connect_concurrency)));
  if (options_.wire != wire_protocol::mqtt) {
    tokens_.reserve(static_cast<std::size_t>(options_.users));
    for (int user = 0; user < options_.users; ++user)
      tokens_.push_back(bridge::mint_token(options_.jwt_secret, options_.user_prefix + std::to_string(user),
                                           false, std::chrono::hours(12), std::chrono::system_clock::now()));
  }
}

load_generator::~load_generator() {
  for (auto& w : workers_) {
    w->io.stop();
    if (w->thread.joinable()) w->thread.join();
  }
}

client_setup load_generator::setup_for(int index) const {
  client_setup setup;
  setup.wire = options_.wire;
  setup.host = options_.host;
  setup.port = options_.port;
  const int user = index % options_.users;
  setup.user_id = options_.user_prefix + std::to_string(user);
  if (!tokens_.empty()) setup.token = tokens_[static_cast<std::size_t>(user)];
  setup.target = target_for(options_.wire, setup.token);
  setup.source = boost::asio::ip::make_address_v4(static_cast<std::uint32_t>(
      (127U << 24) | (2U + static_cast<unsigned>(index % options_.source_addresses))));
  setup.mqtt_password = options_.mqtt_password;
  setup.client_id = "bench-" + std::to_string(index);
  setup.jobs_expected = options_.jobs_expected;
  setup.final_seq = options_.final_seq;
  setup.final_jobs = options_.final_jobs;
  // Spread the slow ones evenly: every (1/fraction)-th client.
  if (options_.slow_fraction > 0) {
    const int every = std::max(1, static_cast<int>(1.0 / options_.slow_fraction + 0.5));
    setup.slow = index % every == every - 1;
  }
  setup.slow_pause = std::chrono::milliseconds(options_.slow_pause_ms);
  setup.max_reconnects = options_.max_reconnects;
  setup.storm_without_cursor = options_.storm_without_cursor;
  setup.failover_port = options_.failover_port;
  setup.state_resume = options_.state_resume;
  return setup;
}

int load_generator::run() {
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGINT, on_stop_signal);
  const auto started = clock::now();
  const auto deadline = started + std::chrono::seconds(options_.max_run_s);

  for (int i = 0; i < options_.clients; ++i) {
    auto& w = *workers_[static_cast<std::size_t>(i % options_.threads)];
    w.clients.push_back(std::make_shared<bench_client>(w.io, setup_for(i), w.stats, w.gate, progress_));
  }
  for (auto& w : workers_) {
    boost::asio::post(w->io, [&w] {
      for (auto& client : w->clients) client->start();
    });
    w->thread = std::thread([&w] {
      auto guard = boost::asio::make_work_guard(w->io);
      w->io.run();
    });
  }

  const auto tick = std::chrono::milliseconds(10);
  const auto ready_deadline = started + std::chrono::seconds(options_.ready_timeout_s);
  while (progress_.ready.load() < options_.clients && clock::now() < ready_deadline && stop_signal == 0)
    std::this_thread::sleep_for(tick);
  const double connect_wall_s = seconds_since(started);
  std::cerr << "loadgen: " << progress_.ready.load() << " of " << options_.clients << " clients ready in "
            << connect_wall_s << " s\n";
  if (!options_.ready_file.empty())
    write_json(options_.ready_file, {{"ready", progress_.ready.load()}, {"seconds", connect_wall_s}});

  double storm_wall_s = 0;
  if (options_.storm_after_s > 0 && stop_signal == 0) {
    const auto storm_at = clock::now() + std::chrono::seconds(options_.storm_after_s);
    while (clock::now() < storm_at && stop_signal == 0) std::this_thread::sleep_for(tick);
    const auto storm_started = clock::now();
    storm();
    const auto storm_deadline = storm_started + std::chrono::seconds(options_.storm_timeout_s);
    while (progress_.recovered.load() < options_.clients && clock::now() < storm_deadline && stop_signal == 0)
      std::this_thread::sleep_for(tick);
    storm_wall_s = seconds_since(storm_started);
  } else if (options_.failover_port != 0 && stop_signal == 0) {
    // The replica the clients hold is killed from outside: from the first lost connection,
    // wait until every client holds its state again, through the failover port.
    while (progress_.failed_over.load() == 0 && clock::now() < deadline && stop_signal == 0)
      std::this_thread::sleep_for(tick);
    const auto failover_started = clock::now();
    const auto failover_deadline = failover_started + std::chrono::seconds(options_.storm_timeout_s);
    while (progress_.recovered.load() < options_.clients && clock::now() < failover_deadline &&
           stop_signal == 0)
      std::this_thread::sleep_for(tick);
    storm_wall_s = seconds_since(failover_started);
  } else {
    while (stop_signal == 0 && clock::now() < deadline) std::this_thread::sleep_for(tick);
  }

  const double run_wall_s = seconds_since(started);
  for (auto& w : workers_) {
    boost::asio::post(w->io, [&w] {
      for (auto& client : w->clients) client->stop();
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (auto& w : workers_) {
    w->io.stop();
    if (w->thread.joinable()) w->thread.join();
  }
  const auto result = report(connect_wall_s, storm_wall_s, run_wall_s);
  if (options_.report_file.empty())
    std::cout << result.dump(2) << "\n";
  else
    write_json(options_.report_file, result);
  return 0;
}

void load_generator::storm() {
  const auto now = clock::now();
  for (auto& w : workers_) {
    boost::asio::post(w->io, [&w, now] {
      for (auto& client : w->clients) client->drop_and_reconnect(now);
    });
  }
}

nlohmann::json load_generator::report(double connect_wall_s, double storm_wall_s, double run_wall_s) const {
  run_stats total;
  std::int64_t slow_clients = 0, slow_ok = 0, normal_clients = 0, normal_ok = 0;
  for (const auto& w : workers_) {
    total.merge(w->stats);
    for (const auto& client : w->clients) {
      const bool ok = client->holds_final_state();
      if (client->setup().slow) {
        ++slow_clients;
        slow_ok += ok ? 1 : 0;
      } else {
        ++normal_clients;
        normal_ok += ok ? 1 : 0;
      }
    }
  }

  // What was sent per step, to turn deliveries into a delivered/sent ratio. Every user
  // has clients/users watchers, and the publisher spreads its messages over all users.
  nlohmann::json sent_steps = nlohmann::json::array();
  if (!options_.publisher_report.empty()) {
    std::ifstream in(options_.publisher_report);
    if (in) sent_steps = nlohmann::json::parse(in).value("steps", nlohmann::json::array());
  }
  const double fanout = static_cast<double>(options_.clients) / static_cast<double>(options_.users);

  nlohmann::json steps = nlohmann::json::array();
  const int last_step = std::max(total.highest_step(), static_cast<int>(sent_steps.size()) - 1);
  for (int i = 0; i <= last_step && i < run_stats::max_steps; ++i) {
    auto step = run_stats::summary_ms(total.step(i));
    step["step"] = i;
    if (static_cast<std::size_t>(i) < sent_steps.size()) {
      const auto sent = sent_steps[static_cast<std::size_t>(i)].value("sent", 0.0);
      const double expected = sent * fanout;
      step["sent"] = sent;
      step["expected"] = expected;
      step["delivered_ratio"] = expected > 0 ? static_cast<double>(total.step(i).count()) / expected : 0.0;
      step["rate"] = sent_steps[static_cast<std::size_t>(i)].value("rate", 0.0);
      step["achieved_rate"] = sent_steps[static_cast<std::size_t>(i)].value("achieved_rate", 0.0);
      // The server's CPU during the step, when the publisher watched it: CPU per message by rate.
      const auto& server_cpu =
          sent_steps[static_cast<std::size_t>(i)].value("server_cpu_s", nlohmann::json());
      if (server_cpu.is_array() && !server_cpu.empty() && server_cpu[0].is_number() && sent > 0)
        step["cpu_us_per_message"] = server_cpu[0].get<double>() * 1e6 / sent;
    }
    steps.push_back(std::move(step));
  }

  nlohmann::json close_codes = nlohmann::json::object();
  for (const auto& [code, count] : total.close_codes()) close_codes[std::to_string(code)] = count;

  return {{"clients", options_.clients},
          {"users", options_.users},
          {"ready_clients", progress_.ready.load()},
          {"connect_wall_s", connect_wall_s},
          {"connect_to_state_ms", run_stats::summary_ms(total.ready())},
          {"steps", steps},
          {"slow_deliveries_ms", run_stats::summary_ms(total.slow())},
          {"storm",
           {{"recovered", progress_.recovered.load()},
            {"wall_s", storm_wall_s},
            {"recovery_ms", run_stats::summary_ms(total.storm())},
            {"failed_over", progress_.failed_over.load()},
            {"bytes_received", total.storm_bytes_received},
            {"bytes_sent", total.storm_bytes_sent}}},
          {"final_state",
           {{"slow_clients", slow_clients},
            {"slow_ok", slow_ok},
            {"normal_clients", normal_clients},
            {"normal_ok", normal_ok}}},
          {"connect_failures", total.connect_failures},
          {"disconnects", total.disconnects},
          {"reconnects", total.reconnects},
          {"close_codes", close_codes},
          {"protocol_errors", total.protocol_errors},
          {"state_messages", total.state_messages},
          {"untimed_messages", total.untimed_messages},
          {"loadgen_cpu_s", cpu_seconds_of_self()},
          {"run_wall_s", run_wall_s}};
}

void load_generator::write_json(const std::string& path, const nlohmann::json& value) const {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary);
    out << value.dump(2) << "\n";
  }
  std::rename(temporary.c_str(), path.c_str());  // readers never see half a file
}

}  // namespace progress::bench
