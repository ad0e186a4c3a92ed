// progress-publish: publishes job progress from shell scripts and pipelines.
//
//   progress-publish --user alice --job j1 --status in_progress --progress 40 --message "Copying"
//   progress-publish --user alice --job j1 --remove
//   producer | progress-publish --stdin --user alice
//
// Every update waits for the broker's acknowledgement; the exit status is
// non-zero when anything was refused. In --stdin mode a request to cancel one
// of the jobs is reported as one JSON line on stdout.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "progress/command_line/parse_error_text.hpp"
#include "progress/protocol/mqtt_reason.hpp"
#include "progress/protocol/topic.hpp"
#include "progress/protocol/validation.hpp"
#include "progress/publisher/publisher.hpp"
#include "progress/publisher/validation_error.hpp"

namespace {

using nlohmann::json;

// Exit statuses, as documented in docs/publisher-sdk.md (and in --help).
constexpr int exit_ok = 0;
constexpr int exit_failed = 1;   // an update was refused or not acknowledged, or a --stdin line failed
constexpr int exit_usage = 2;    // the command line is wrong: unknown option, bad value, invalid update
constexpr int exit_connect = 3;  // the broker could not be reached or refused the connection

// Updates of one stdin batch that may await their acknowledgement at once;
// when reached, the oldest is waited for before reading on.
constexpr std::size_t max_outstanding = 1000;
// Distinct jobs one stdin batch may address; lines for further jobs fail.
constexpr std::size_t max_batch_jobs = 10000;
// Cancel lines waiting for stdout; beyond, further ones are counted and
// reported on stderr instead.
constexpr std::size_t max_waiting_lines = 1000;

struct settings {
  std::string url = "tcp://127.0.0.1:1883";
  std::string username;
  std::string password;
  std::string worker_id = "progress-publish";
  std::string client_id;
  double timeout_s = 10.0;

  std::string user;
  std::string job;
  bool remove = false;
  bool from_stdin = false;

  // One update given by flags; turned into a protocol v1 object.
  json fields = json::object();
  std::string details_text;
};

std::string env_or(const char* name, std::string fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : std::move(fallback);
}

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void complain(const std::string& text) {
  std::cerr << "progress-publish: " << text << '\n';
}

std::string describe(const progress::rejection& reason) {
  return reason.field.empty() ? reason.message : reason.field + ": " + reason.message;
}

// What to check when the broker refuses the connection with `reason_code`.
std::string connect_hint(int reason_code) {
  switch (reason_code) {
    case 0x86:
    case 0x87:
      return std::string(progress::mqtt_reason_name(static_cast<std::uint8_t>(reason_code))) +
             ": check --username/--password (or PROGRESS_MQTT_USERNAME/PROGRESS_MQTT_PASSWORD)";
    case 0x85: return "client identifier not valid: check --client-id";
    case 0x84: return "unsupported protocol version: the broker must speak MQTT v5 (Mosquitto 2 or later)";
    case 0x8A: return "banned: the broker refuses this account or address";
    case 0x9C:
    case 0x9D: return "the broker points to another server: check --url";
    default: return std::string(progress::mqtt_reason_name(static_cast<std::uint8_t>(reason_code)));
  }
}

// "cannot connect to tcp://...: not authorized: check --username/--password (reason code 135)"
std::string connect_failure(const std::string& url, const progress::publish_error& error) {
  if (error.reason_code() >= 0x80) {
    return "cannot connect to " + url + ": " + connect_hint(error.reason_code()) + " (reason code " +
           std::to_string(error.reason_code()) + ")";
  }
  if (error.code() == progress::publish_errc::timed_out) {
    return std::string(error.what()) + ": is the broker running there? check --url and --timeout";
  }
  return std::string(error.what()) + ": is the broker running there? check --url";
}

// Waits for one acknowledgement; returns the problem, if any.
std::optional<std::string> settle(const progress::delivery& outcome, std::chrono::milliseconds timeout) {
  if (!outcome.wait_for(timeout)) return "no acknowledgement from the broker within the timeout";
  try {
    outcome.wait();
    return std::nullopt;
  } catch (const progress::publish_error& e) {
    return std::string("broker refused the update: ") + e.what();
  }
}

// Writes lines to stdout on its own thread, so that the MQTT client's thread,
// which reports cancel requests, never waits for a reader of stdout.
class line_writer {
 public:
  line_writer() : thread_([this] { run(); }) {}
  ~line_writer() {
    {
      const std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_one();
    thread_.join();
    if (dropped_ > 0) complain(std::to_string(dropped_) + " cancel lines not written: stdout was not read");
  }
  line_writer(const line_writer&) = delete;
  line_writer& operator=(const line_writer&) = delete;

  void write(std::string line) {
    {
      const std::lock_guard lock(mutex_);
      if (lines_.size() >= max_waiting_lines) {
        ++dropped_;
        return;
      }
      lines_.push_back(std::move(line));
    }
    wake_.notify_one();
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return done_ || !lines_.empty(); });
      if (lines_.empty()) return;
      auto line = std::move(lines_.front());
      lines_.pop_front();
      lock.unlock();
      std::cout << line << std::endl;
      lock.lock();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::string> lines_;
  std::size_t dropped_ = 0;
  bool done_ = false;
  std::thread thread_;
};

// {"event":"cancel_requested","userId":...,"jobId":...,"requestId":...,"requestedBy":...,"timestamp":...}
std::string cancel_line(const progress::job_key& key, const progress::cancel_request& request) {
  return json{{"event", "cancel_requested"},
              {"userId", key.user_id},
              {"jobId", key.job_id},
              {"requestId", request.request_id},
              {"requestedBy", request.requested_by},
              {"timestamp", request.timestamp}}
      .dump();
}

class batch {
 public:
  batch(progress::publisher& publisher, const settings& config, std::chrono::milliseconds timeout,
        line_writer& out)
      : publisher_(publisher), config_(config), timeout_(timeout), out_(out) {}

  void line(std::size_t number, const std::string& text) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) return;
    auto key = key_of(number, text);
    if (!key) return;
    const auto parsed = progress::parse_update(*key, text);
    if (!parsed) return fail(number, describe(*parsed.error));

    auto handle = jobs_.find(*key);
    if (handle == jobs_.end()) {
      if (jobs_.size() >= max_batch_jobs) {
        return fail(number, "more than " + std::to_string(max_batch_jobs) + " jobs in one batch");
      }
      progress::job_options options;
      options.first_seq = unix_ms();
      options.on_cancel = [&out = out_, key = *key](const progress::cancel_request& request) {
        out.write(cancel_line(key, request));
      };
      handle = jobs_.emplace(*key, publisher_.job(key->user_id, key->job_id, options)).first;
    }
    try {
      outstanding_.emplace_back(number, handle->second.update(*parsed.state));
    } catch (const progress::validation_error& e) {
      return fail(number, describe(e.reason()));
    }
    if (outstanding_.size() >= max_outstanding) settle_oldest();
  }

  // Waits for everything still unacknowledged; true when all went through.
  bool finish() {
    while (!outstanding_.empty()) settle_oldest();
    return failures_ == 0;
  }

 private:
  std::optional<progress::job_key> key_of(std::size_t number, const std::string& text) {
    const json document = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (document.is_discarded() || !document.is_object()) {
      fail(number, "not a JSON object");
      return std::nullopt;
    }
    progress::job_key key{config_.user, config_.job};
    for (auto [field, target] : {std::pair{"userId", &key.user_id}, std::pair{"jobId", &key.job_id}}) {
      const auto it = document.find(field);
      if (it != document.end() && it->is_string()) *target = it->get<std::string>();
      if (target->empty()) {
        fail(number, std::string(field) + " missing (give it in the line or with --user/--job)");
        return std::nullopt;
      }
      if (!progress::is_valid_id(*target)) {
        fail(number, std::string(field) + " must match [A-Za-z0-9_.-]{1,128}");
        return std::nullopt;
      }
    }
    return key;
  }

  void settle_oldest() {
    auto [number, outcome] = std::move(outstanding_.front());
    outstanding_.pop_front();
    if (auto problem = settle(outcome, timeout_)) fail(number, *problem);
  }

  void fail(std::size_t number, const std::string& problem) {
    ++failures_;
    complain("line " + std::to_string(number) + ": " + problem);
  }

  progress::publisher& publisher_;
  const settings& config_;
  const std::chrono::milliseconds timeout_;
  line_writer& out_;
  std::map<progress::job_key, progress::job> jobs_;
  std::deque<std::pair<std::size_t, progress::delivery>> outstanding_;
  std::size_t failures_ = 0;
};

// Builds the update given by flags and checks it exactly as the bridge will.
std::optional<progress::job_state> single_update(const settings& config) {
  json object = config.fields;
  if (!config.details_text.empty()) {
    auto details = json::parse(config.details_text, nullptr, /*allow_exceptions=*/false);
    if (details.is_discarded() || !details.is_object()) {
      complain("--details must be a JSON object");
      return std::nullopt;
    }
    object["details"] = std::move(details);
  }
  const auto parsed = progress::parse_update(progress::job_key{config.user, config.job}, object.dump());
  if (!parsed) {
    complain("invalid update: " + describe(*parsed.error));
    return std::nullopt;
  }
  return parsed.state;
}

// Adds a flag whose value, when given, becomes field `name` of the update.
template <typename T>
void add_field(CLI::App& app, settings& config, const std::string& flag, const char* name,
               const std::string& help) {
  app.add_option_function<T>(
         flag, [&config, name](const T& value) { config.fields[name] = value; }, help)
      ->group("Update");
}

int run(const settings& config) {
  if (!config.from_stdin && (config.user.empty() || config.job.empty())) {
    complain("--user and --job are required (or use --stdin)");
    return exit_usage;
  }
  if ((config.from_stdin || config.remove) && (!config.fields.empty() || !config.details_text.empty())) {
    complain(std::string("update flags cannot be combined with ") + (config.remove ? "--remove" : "--stdin"));
    return exit_usage;
  }
  if (!config.from_stdin && !config.remove && !config.fields.contains("status")) {
    complain("--status is required (or use --remove or --stdin)");
    return exit_usage;
  }
  for (const auto& [flag, id] : {std::pair{"--user", &config.user}, std::pair{"--job", &config.job}}) {
    if (!id->empty() && !progress::is_valid_id(*id)) {
      complain(std::string(flag) + " must match [A-Za-z0-9_.-]{1,128}");
      return exit_usage;
    }
  }
  std::optional<progress::job_state> update;
  if (!config.from_stdin && !config.remove) {
    update = single_update(config);
    if (!update) return exit_usage;
  }

  const auto timeout = std::chrono::milliseconds(static_cast<std::int64_t>(config.timeout_s * 1000.0));
  progress::publisher_options options;
  options.url = config.url;
  options.username = config.username;
  options.password = config.password;
  options.worker_id = config.worker_id;
  options.client_id = config.client_id;
  options.connect_timeout = timeout;
  options.throttle_interval = std::chrono::milliseconds{0};  // one line, one message
  // One update per process: the process ending says nothing about the job, so
  // only a --stdin session, which lives as long as its jobs, announces presence.
  options.announce_presence = config.from_stdin;

  std::optional<progress::publisher> connected;
  try {
    connected.emplace(options);
  } catch (const progress::validation_error& e) {
    complain(describe(e.reason()));
    return exit_usage;
  } catch (const progress::publish_error& e) {
    complain(connect_failure(config.url, e));
    return exit_connect;
  }
  auto& publisher = *connected;

  try {
    if (config.from_stdin) {
      line_writer out;
      batch lines(publisher, config, timeout, out);
      std::string text;
      for (std::size_t number = 1; std::getline(std::cin, text); ++number) lines.line(number, text);
      const bool all_good = lines.finish();
      publisher.close();
      return all_good ? exit_ok : exit_failed;
    }
    progress::job_options single;
    single.first_seq = unix_ms();
    single.follow_control = false;  // one update and out: no requests to wait for
    auto job = publisher.job(config.user, config.job, single);
    const auto outcome = config.remove ? job.remove() : job.update(*update);
    const auto problem = settle(outcome, timeout);
    publisher.close();
    if (problem) {
      complain(*problem);
      return exit_failed;
    }
    return exit_ok;
  } catch (const progress::validation_error& e) {
    complain(e.what());
    return exit_usage;
  } catch (const progress::publish_error& e) {
    complain(e.what());
    return exit_failed;
  } catch (const std::exception& e) {
    complain(std::string("unexpected error: ") + e.what());
    return exit_failed;
  }
}

}  // namespace

int main(int argc, char** argv) {
  settings config;
  config.url = env_or("PROGRESS_MQTT_URL", config.url);
  config.username = env_or("PROGRESS_MQTT_USERNAME", "");
  config.password = env_or("PROGRESS_MQTT_PASSWORD", "");
  config.worker_id = env_or("PROGRESS_WORKER_ID", config.worker_id);

  CLI::App app{
      "Publishes the state of a background job to the progress broker (protocol v1: full state, retained, "
      "QoS 1) and waits for the broker's acknowledgement.\n\n"
      "Examples:\n"
      "  progress-publish --user alice --job j1 --status in_progress --progress 40 \\\n"
      "      --phase 2 --total-phases 5 --phase-title Upload --message \"12 of 30 files\"\n"
      "  progress-publish --user alice --job j1 --status failed --error-message \"Disk full\" --error-code "
      "E_DISK\n"
      "  progress-publish --user alice --job j1 --remove\n"
      "  echo '{\"jobId\":\"j2\",\"status\":\"completed\"}' | progress-publish --stdin --user alice\n\n"
      "Exit status: 0 when every update was acknowledged; 1 when the broker refused an update, did not\n"
      "acknowledge it in time, or a --stdin line failed; 2 when the command line is wrong (unknown option,\n"
      "bad value, invalid update); 3 when the broker could not be reached or refused the connection.",
      "progress-publish"};

  app.add_option("--url", config.url, "Broker URL (env PROGRESS_MQTT_URL)")
      ->capture_default_str()
      ->group("Connection");
  app.add_option("--username", config.username, "MQTT user name (env PROGRESS_MQTT_USERNAME)")
      ->group("Connection");
  app.add_option("--password", config.password, "MQTT password (env PROGRESS_MQTT_PASSWORD)")
      ->group("Connection");
  app.add_option("--worker-id", config.worker_id,
                 "Worker id in updates and workers/<id>/status (env PROGRESS_WORKER_ID)")
      ->capture_default_str()
      ->group("Connection");
  app.add_option("--client-id", config.client_id, "MQTT client id (default: <worker-id>-<random>)")
      ->group("Connection");
  app.add_option("--timeout", config.timeout_s, "Seconds to wait for the connection and each acknowledgement")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& text) -> std::string {
            char* end = nullptr;
            const double seconds = std::strtod(text.c_str(), &end);
            return end != text.c_str() && *end == '\0' && seconds > 0 && seconds <= 3600
                       ? ""
                       : "must be a number of seconds above 0 and at most 3600";
          },
          "SECONDS"))
      ->group("Connection");

  app.add_option("--user", config.user, "User id the job belongs to (default for --stdin lines)")
      ->group("Job");
  app.add_option("--job", config.job, "Job id (default for --stdin lines)")->group("Job");
  auto* remove = app.add_flag("--remove", config.remove, "Clear the job's retained state")->group("Job");
  auto* from_stdin =
      app.add_flag("--stdin", config.from_stdin,
                   "Read one JSON update object per line from standard input; lines without "
                   "userId/jobId use --user/--job; bad lines are reported with their number "
                   "and skipped. A request to cancel one of these jobs is written to stdout as "
                   "one JSON line, {\"event\":\"cancel_requested\",\"userId\",\"jobId\","
                   "\"requestId\",\"requestedBy\",\"timestamp\"}")
          ->group("Job");
  remove->excludes(from_stdin);

  add_field<std::string>(app, config, "--status", "status",
                         "queued | started | in_progress | completed | failed | cancelled");
  add_field<double>(app, config, "--progress", "progress", "Overall percent, 0..100");
  add_field<std::string>(app, config, "--message", "message", "Short human-readable message");
  add_field<std::string>(app, config, "--detail", "detail", "Longer detail text");
  add_field<std::int64_t>(app, config, "--phase", "phase", "Current phase (1-based)");
  add_field<std::int64_t>(app, config, "--total-phases", "totalPhases", "Number of phases");
  add_field<std::string>(app, config, "--phase-title", "phaseTitle", "Title of the current phase");
  add_field<std::int64_t>(app, config, "--current", "current", "Items done");
  add_field<std::int64_t>(app, config, "--total", "total", "Items in all");
  add_field<std::string>(app, config, "--type", "type", "Job type, e.g. import");
  add_field<std::int64_t>(app, config, "--eta-ms", "etaMs", "Estimated milliseconds left");
  add_field<std::int64_t>(app, config, "--stall-after-ms", "stallAfterMs",
                          "Milliseconds the job may send nothing before the bridge marks it stalled");
  add_field<std::int64_t>(app, config, "--attempt", "attempt", "Attempt number (default 1)");
  add_field<std::int64_t>(
      app, config, "--seq", "seq",
      "Sequence number (default: current time in ms, so later calls supersede earlier ones)");
  app.add_option_function<std::string>(
         "--error-message", [&config](const std::string& text) { config.fields["error"]["message"] = text; },
         "Error message of a failed job")
      ->group("Update");
  app.add_option_function<std::string>(
         "--error-code", [&config](const std::string& code) { config.fields["error"]["code"] = code; },
         "Error code of a failed job (with --error-message)")
      ->group("Update");
  app.add_option("--details", config.details_text, "Result details as a JSON object, e.g. '{\"rows\":12}'")
      ->group("Update");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::ostringstream out;
    std::ostringstream err;
    // --help prints and ends well; every other parse error is a usage error, shown without secrets.
    if (app.exit(e, out, err) == 0) {
      std::cout << out.str() << err.str();
      return exit_ok;
    }
    std::cerr << progress::command_line::parse_error_text(app, e, argc, argv, {"--password"});
    return exit_usage;
  }
  return run(config);
}
