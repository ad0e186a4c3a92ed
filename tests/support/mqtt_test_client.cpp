#include "mqtt_test_client.hpp"

namespace progress::test {

mqtt_test_client::mqtt_test_client(const std::string& url, std::string client_id)
    : client_(url, std::move(client_id), mqtt::create_options(MQTTVERSION_5)) {
  client_.set_message_callback([this](mqtt::const_message_ptr message) {
    {
      std::lock_guard lock(mutex_);
      messages_.push_back({message->get_topic(), message->to_string(), message->is_retained()});
    }
    arrived_.notify_all();
  });
}

mqtt_test_client::~mqtt_test_client() {
  try {
    disconnect();
  } catch (...) {
  }
}

int mqtt_test_client::connect(const std::string& username, const std::string& password, bool clean_start) {
  auto options = mqtt::connect_options_builder()
                     .mqtt_version(MQTTVERSION_5)
                     .clean_start(clean_start)
                     .user_name(username)
                     .password(password)
                     .connect_timeout(std::chrono::seconds(5))
                     .finalize();
  try {
    client_.connect(options)->wait();
    return 0;
  } catch (const mqtt::exception& error) {
    // Paho reports a refused CONNACK's reason code as the return code.
    const int code = error.get_reason_code() != 0 ? error.get_reason_code() : error.get_return_code();
    return code > 0 ? code : -1;
  }
}

void mqtt_test_client::disconnect() {
  if (client_.is_connected()) client_.disconnect()->wait_for(std::chrono::seconds(5));
}

int mqtt_test_client::subscribe(const std::string& filter) {
  try {
    auto token = client_.subscribe(filter, 1);
    token->wait();
    const auto response = token->get_subscribe_response();
    const auto codes = response.get_reason_codes();
    return codes.empty() ? -1 : static_cast<int>(codes.front());
  } catch (const mqtt::exception& error) {
    return error.get_reason_code() != 0 ? error.get_reason_code() : -1;
  }
}

int mqtt_test_client::publish(const std::string& topic, const std::string& payload, bool retained, int qos) {
  try {
    auto token = client_.publish(topic, payload.data(), payload.size(), qos, retained);
    token->wait();
    return static_cast<int>(token->get_reason_code());
  } catch (const mqtt::exception& error) {
    return error.get_reason_code() != 0 ? error.get_reason_code() : -1;
  }
}

std::vector<received_message> mqtt_test_client::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

std::optional<received_message> mqtt_test_client::wait_for(const std::string& topic,
                                                           std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  std::optional<received_message> found;
  arrived_.wait_for(lock, timeout, [&] {
    for (auto it = messages_.rbegin(); it != messages_.rend(); ++it) {
      if (it->topic == topic) {
        found = *it;
        return true;
      }
    }
    return false;
  });
  return found;
}

bool mqtt_test_client::wait_for_count(std::size_t count, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return arrived_.wait_for(lock, timeout, [&] { return messages_.size() >= count; });
}

}  // namespace progress::test
