#include "progress/publisher/publisher_clock.hpp"

namespace progress {
namespace {

class system_clock final : public publisher_clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
  std::int64_t unix_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace

std::shared_ptr<publisher_clock> publisher_clock::system() {
  static const auto clock = std::make_shared<system_clock>();
  return clock;
}

}  // namespace progress
