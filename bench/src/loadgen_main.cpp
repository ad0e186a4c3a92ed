// progress-bench-loadgen: thousands of WebSocket clients watching job progress through one
// contender (progress-bridge, Socket.IO, Mosquitto's websockets listener or a plain ws
// relay), measuring latency from the publisher's send time to arrival.
#include <iostream>
#include <map>

#include <CLI/CLI.hpp>

#include "load_generator.hpp"

int main(int argc, char** argv) {
  using progress::bench::wire_protocol;
  progress::bench::load_options options;
  CLI::App app{"Benchmark load generator: WebSocket clients watching job progress", "progress-bench-loadgen"};
  const std::map<std::string, wire_protocol> wires{{"bridge", wire_protocol::bridge},
                                                   {"socketio", wire_protocol::socketio},
                                                   {"mqtt", wire_protocol::mqtt},
                                                   {"plain", wire_protocol::plain}};
  app.add_option("--wire", options.wire, "Contender framing: bridge, socketio, mqtt, plain")
      ->required()
      ->transform(CLI::CheckedTransformer(wires, CLI::ignore_case));
  app.add_option("--host", options.host, "Contender address")->capture_default_str();
  app.add_option("--port", options.port, "Contender port")->required();
  app.add_option("--clients", options.clients, "Connections")
      ->check(CLI::Range(1, 15000))
      ->capture_default_str();
  app.add_option("--users", options.users, "Distinct users; client i watches user i % users")
      ->check(CLI::Range(1, 15000))
      ->capture_default_str();
  app.add_option("--user-prefix", options.user_prefix, "User ids are <prefix><n>")->capture_default_str();
  app.add_option("--source-addresses", options.source_addresses,
                 "Source addresses 127.0.0.2 ... used in turn")
      ->check(CLI::Range(1, 250))
      ->capture_default_str();
  app.add_option("--jwt-secret", options.jwt_secret, "HS256 secret for the clients' tokens")
      ->envname("BENCH_JWT_SECRET");
  app.add_option("--mqtt-password", options.mqtt_password, "Password of every user's broker account")
      ->envname("BENCH_MQTT_PASSWORD");
  app.add_option("--jobs-expected", options.jobs_expected,
                 "A client is ready once it holds that many job states")
      ->capture_default_str();
  app.add_option("--final-jobs", options.final_jobs, "Jobs each client must end with in their final state")
      ->capture_default_str();
  app.add_option("--final-seq", options.final_seq, "Seq of each job's final (terminal) state, for the check")
      ->capture_default_str();
  app.add_option("--slow-fraction", options.slow_fraction,
                 "Fraction of clients that stop reading for a while")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--slow-pause-ms", options.slow_pause_ms, "How long slow clients stop reading")
      ->capture_default_str();
  app.add_option("--threads", options.threads, "Client threads")
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  app.add_option("--connect-concurrency", options.connect_concurrency, "Handshakes in flight per thread")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  app.add_option("--ready-timeout", options.ready_timeout_s, "Seconds to wait for every client to be ready")
      ->capture_default_str();
  app.add_option("--storm-after", options.storm_after_s, "Seconds after ready to drop and reconnect everyone")
      ->capture_default_str();
  app.add_option("--storm-timeout", options.storm_timeout_s, "Seconds to wait for the storm's recovery")
      ->capture_default_str();
  app.add_option("--max-run", options.max_run_s, "Upper bound of the whole run in seconds")
      ->capture_default_str();
  app.add_flag("--storm-without-cursor", options.storm_without_cursor,
               "Bridge clients reconnect after the storm without their cursor (a fresh snapshot each)");
  app.add_option("--failover-port", options.failover_port,
                 "After a lost connection, reconnect to this port (another bridge replica); the run "
                 "measures from the first loss until every client holds its state again");
  app.add_flag("--state-resume", options.state_resume,
               "Bridge clients reconnect with ?resume=state and the job versions they hold");
  app.add_option("--max-reconnects", options.max_reconnects, "Reconnects per client after a lost connection")
      ->capture_default_str();
  app.add_option("--ready-file", options.ready_file,
                 "Written once every client is ready (or the wait ended)");
  app.add_option("--publisher-report", options.publisher_report, "Publisher's report: sent counts per step");
  app.add_option("--report", options.report_file, "Where the JSON report goes (default stdout)");
  CLI11_PARSE(app, argc, argv);
  if (options.clients % options.users != 0) {
    std::cerr << "--clients must be a multiple of --users (every user gets the same number of watchers)\n";
    return 2;
  }
  try {
    progress::bench::load_generator generator(options);
    return generator.run();
  } catch (const std::exception& e) {
    std::cerr << "progress-bench-loadgen: " << e.what() << "\n";
    return 1;
  }
}
