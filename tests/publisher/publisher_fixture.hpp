#pragma once
// A publisher wired to a fake transport and a manual clock.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fake_transport.hpp"
#include "manual_clock.hpp"
#include "progress/publisher/publisher.hpp"

namespace progress::test {

class publisher_fixture : public ::testing::Test {
 protected:
  static publisher_options default_options() {
    publisher_options options;
    options.worker_id = "worker-1";
    options.throttle_interval = std::chrono::milliseconds{100};
    return options;
  }

  publisher& make_publisher(publisher_options options = default_options()) {
    publisher_.emplace(std::move(options), transport_, clock_);
    return *publisher_;
  }

  // The JSON of the i-th message sent.
  [[nodiscard]] nlohmann::json sent_json(std::size_t i) const {
    return nlohmann::json::parse(transport_->sent().at(i).payload);
  }

  std::shared_ptr<fake_transport> transport_ = std::make_shared<fake_transport>();
  std::shared_ptr<manual_clock> clock_ = std::make_shared<manual_clock>();
  std::optional<publisher> publisher_;
};

}  // namespace progress::test
