// Publishes one update through the installed SDK into an in-memory transport
// and checks it with the installed protocol library.
#include <iostream>
#include <memory>
#include <string>

#include <progress/protocol/validation.hpp>
#include <progress/publisher/publisher.hpp>

namespace {

class memory_transport final : public progress::message_transport {
 public:
  void connect() override {}
  void disconnect() noexcept override {}
  void publish(std::string topic, std::string payload, int, bool, completion done) noexcept override {
    last_topic = std::move(topic);
    last_payload = std::move(payload);
    done(std::nullopt);
  }

  std::string last_topic;
  std::string last_payload;
};

}  // namespace

int main() {
  auto transport = std::make_shared<memory_transport>();
  progress::publisher_options options;
  options.worker_id = "consumer";
  progress::publisher publisher(options, transport);
  auto job = publisher.job("alice", "j1");
  job.phase(1, 2, "Download").wait();
  const auto parsed = progress::parse_update(progress::job_key{"alice", "j1"}, transport->last_payload);
  if (transport->last_topic != "users/alice/jobs/j1" || !parsed || parsed.state->phase != 1) {
    std::cerr << "unexpected message: " << transport->last_topic << ' ' << transport->last_payload << '\n';
    return 1;
  }
  std::cout << transport->last_payload << '\n';
  return 0;
}
