// progress-demo-worker: runs realistic jobs for a few users so that the
// bridge and the frontend have something to show. Uses only the public SDK.
//
//   progress-demo-worker --username worker --password secret --rounds 2 --speed 4
//
// Each round runs four jobs at once: a 6-phase token launch (alice), a 5-phase
// sell (bob), a counted library scan (carol) and a data import that fails
// (bob). SIGINT/SIGTERM cancel the running jobs and disconnect cleanly. A
// user's request to cancel a job (its control topic) stops that job, which
// then reports `cancelled`.

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <functional>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "progress/publisher/publisher.hpp"
#include "progress/publisher/validation_error.hpp"

namespace {

using namespace std::chrono_literals;

// Stop requests from the signal thread and cancel requests from users; every
// job waits through here.
class stopper {
 public:
  explicit stopper(double speed) : speed_(speed) {}

  // Sleeps `d` divided by the speed; false when asked to stop, or when `job`
  // was asked to cancel, meanwhile.
  bool pause(const progress::job& job, std::chrono::milliseconds d) {
    const auto scaled = std::chrono::duration<double, std::milli>(static_cast<double>(d.count()) / speed_);
    std::unique_lock lock(mutex_);
    return !changed_.wait_for(lock, scaled, [this, &job] { return stopped_ || job.cancel_requested(); });
  }

  // Wakes the pauses to look again (a job was asked to cancel). Called on the
  // MQTT client's thread, so it only takes the mutex for a moment.
  void wake() {
    const std::lock_guard lock(mutex_);
    changed_.notify_all();
  }

  void stop() {
    const std::lock_guard lock(mutex_);
    stopped_ = true;
    changed_.notify_all();
  }

  [[nodiscard]] bool stopped() {
    const std::lock_guard lock(mutex_);
    return stopped_;
  }

 private:
  const double speed_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool stopped_ = false;
};

void say(const std::string& line) {
  static std::mutex mutex;
  const std::lock_guard lock(mutex);
  std::cout << line << std::endl;
}

// Runs the phases in order, reporting `steps` progress updates in each.
// Returns false when interrupted.
bool run_phases(progress::job& job, stopper& stop, const std::vector<std::string>& titles, int steps,
                std::chrono::milliseconds step_time) {
  const auto phases = static_cast<std::int64_t>(titles.size());
  for (std::int64_t phase = 1; phase <= phases; ++phase) {
    const auto& title = titles[static_cast<std::size_t>(phase - 1)];
    job.phase(phase, phases, title, title + "...");
    for (int step = 1; step <= steps; ++step) {
      if (!stop.pause(job, step_time)) return false;
      const double done =
          (static_cast<double>(phase - 1) + static_cast<double>(step) / steps) / static_cast<double>(phases);
      job.progress(100.0 * done, std::nullopt,
                   "step " + std::to_string(step) + " of " + std::to_string(steps));
      job.eta(std::chrono::milliseconds(
          static_cast<std::int64_t>((1.0 - done) * static_cast<double>(phases * steps * step_time.count()))));
    }
  }
  return true;
}

bool token_launch(progress::job& job, stopper& stop) {
  job.start("Launching token PBX");
  if (!run_phases(job, stop,
                  {"Validate parameters", "Compile contract", "Deploy contract", "Verify on explorer",
                   "Create liquidity pool", "Announce launch"},
                  4, 400ms)) {
    return false;
  }
  job.complete(
      {{"token", "PBX"}, {"address", "0x5fbdb2315678afecb367f032d93f642f64180aa3"}, {"supply", 1000000}});
  return true;
}

bool sell(progress::job& job, stopper& stop) {
  job.start("Selling 250 PBX");
  if (!run_phases(job, stop, {"Check balance", "Quote price", "Sign transaction", "Broadcast", "Confirm"}, 3,
                  500ms)) {
    return false;
  }
  job.complete({{"amount", 250}, {"price", 0.42}, {"currency", "USDC"}});
  return true;
}

bool library_scan(progress::job& job, stopper& stop) {
  constexpr std::int64_t files = 240;
  job.start("Scanning the music library");
  job.phase(1, 1, "Scan files");
  std::int64_t duplicates = 0;
  for (std::int64_t file = 1; file <= files; ++file) {
    if (!stop.pause(job, 40ms)) return false;
    if (file % 17 == 0) ++duplicates;
    job.counter(file, files, "Scanned " + std::to_string(file) + " of " + std::to_string(files) + " files");
  }
  job.complete({{"files", files}, {"duplicates", duplicates}});
  return true;
}

bool data_import(progress::job& job, stopper& stop) {
  job.start("Importing prices.csv");
  // Three phases from the start, and progress that only grows: the download is
  // the small first part, then the row counter carries the bar.
  job.phase(1, 3, "Download", "Downloading prices.csv");
  for (int chunk = 1; chunk <= 4; ++chunk) {
    if (!stop.pause(job, 300ms)) return false;
    job.progress(2.0 * chunk, std::nullopt, "chunk " + std::to_string(chunk) + " of 4");
  }
  job.phase(2, 3, "Parse rows", "Parsing 5000 rows");
  for (std::int64_t row = 500; row <= 1500; row += 500) {
    if (!stop.pause(job, 400ms)) return false;
    job.counter(row, 5000);
  }
  if (!stop.pause(job, 400ms)) return false;
  job.fail(progress::job_error{"Row 1742: unknown column 'price_usd'", "E_SCHEMA"});
  return true;
}

struct flow {
  const char* name;
  std::string user;
  std::function<bool(progress::job&, stopper&)> run;
};

}  // namespace

int main(int argc, char** argv) {
  std::string url = "tcp://127.0.0.1:1883";
  std::string username = "worker";
  std::string password;
  std::string worker_id = "demo-worker";
  double speed = 1.0;
  unsigned rounds = 0;
  unsigned keep_rounds = 3;
  if (const char* v = std::getenv("PROGRESS_MQTT_URL")) url = v;
  if (const char* v = std::getenv("PROGRESS_MQTT_USERNAME")) username = v;
  if (const char* v = std::getenv("PROGRESS_MQTT_PASSWORD")) password = v;
  if (const char* v = std::getenv("PROGRESS_WORKER_ID")) worker_id = v;

  CLI::App app{"Publishes demo jobs for alice, bob and carol until stopped.", "progress-demo-worker"};
  app.add_option("--url", url, "Broker URL (env PROGRESS_MQTT_URL)")->capture_default_str();
  app.add_option("--username", username, "MQTT user name (env PROGRESS_MQTT_USERNAME)")
      ->capture_default_str();
  app.add_option("--password", password, "MQTT password (env PROGRESS_MQTT_PASSWORD)");
  app.add_option("--worker-id", worker_id, "Worker id (env PROGRESS_WORKER_ID)")->capture_default_str();
  app.add_option("--speed", speed, "Time factor; 4 runs four times faster")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--rounds", rounds, "Rounds to run; 0 runs until SIGINT/SIGTERM")->capture_default_str();
  app.add_option("--keep-rounds", keep_rounds,
                 "Finished rounds whose jobs stay retained; older ones are removed")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  // Signals are taken by one thread with sigwait(), so no job thread is
  // interrupted and shutdown is an ordinary condition-variable wake-up.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  stopper stop(speed);
  std::atomic<bool> finishing{false};
  std::thread signal_thread([&signals, &stop, &finishing] {
    int received = 0;
    sigwait(&signals, &received);
    if (!finishing) say("stopping: cancelling running jobs");
    stop.stop();
  });

  int status = EXIT_SUCCESS;
  try {
    progress::publisher_options options;
    options.url = url;
    options.username = username;
    options.password = password;
    options.worker_id = worker_id;
    options.on_error = [](const std::string& topic, const progress::publish_error& error) {
      say("publish to " + topic + " failed: " + error.what());
    };
    progress::publisher publisher(options);
    say("connected to " + url + " as " + worker_id);

    const auto run_tag = std::to_string(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
            .count());
    const std::vector<flow> flows{{"launch", "alice", token_launch},
                                  {"sell", "bob", sell},
                                  {"scan", "carol", library_scan},
                                  {"import", "bob", data_import}};
    // Finished rounds whose jobs stay visible; bounded by --keep-rounds.
    std::deque<std::vector<progress::job>> finished;

    for (unsigned round = 1; (rounds == 0 || round <= rounds) && !stop.stopped(); ++round) {
      say("round " + std::to_string(round));
      std::vector<progress::job> jobs;
      for (const auto& f : flows) {
        const std::string type = f.name;
        jobs.push_back(
            publisher.job(f.user, type + "-" + run_tag + "-" + std::to_string(round),
                          {.type = type,
                           .attempt = 1,
                           .first_seq = 1,
                           .on_cancel = [&stop](const progress::cancel_request&) { stop.wake(); }}));
      }
      std::vector<std::thread> threads;
      for (std::size_t i = 0; i < flows.size(); ++i) {
        threads.emplace_back([&job = jobs[i], &f = flows[i], &stop] {
          try {
            if (!f.run(job, stop)) {
              const auto request = job.last_cancel_request();
              job.cancel(request ? "Cancelled by " + request->requested_by : "Worker shutting down");
            }
            say(f.user + "/" + job.key().job_id + ": " +
                std::string(progress::to_string(job.state().status)));
          } catch (const progress::validation_error& e) {
            say(std::string("bug in the demo flow: ") + e.what());
          }
        });
      }
      for (auto& t : threads) t.join();
      finished.push_back(std::move(jobs));
      while (finished.size() > keep_rounds) {
        for (auto& old : finished.front()) old.remove();
        finished.pop_front();
      }
    }
    publisher.close();
    say("disconnected");
  } catch (const std::exception& e) {
    std::cerr << "progress-demo-worker: " << e.what() << '\n';
    status = EXIT_FAILURE;
  }

  // Wake the signal thread if no signal came (SIGTERM is still blocked, so it
  // reaches only sigwait()).
  finishing = true;
  if (!stop.stopped()) pthread_kill(signal_thread.native_handle(), SIGTERM);
  signal_thread.join();
  return status;
}
