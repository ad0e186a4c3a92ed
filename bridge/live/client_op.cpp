#include "client_op.hpp"

#include <cstddef>

#include <nlohmann/json.hpp>

#include "progress/protocol/topic.hpp"
#include "progress/protocol/validation.hpp"
#include "stream_scope.hpp"

namespace progress::bridge {

namespace {

client_op_error bad_request(std::string message) {
  return client_op_error{"bad_request", std::move(message)};
}

// The string array `field` of an op, each entry accepted by `valid`; nothing
// (and `error` set) when it is malformed.
template <typename Valid>
std::optional<std::vector<std::string>> string_array(const nlohmann::json& op, const char* field,
                                                     std::size_t max, Valid valid, std::string& error) {
  std::vector<std::string> values;
  const auto it = op.find(field);
  if (it == op.end() || it->is_null()) return values;
  if (!it->is_array() || it->size() > max) {
    error = std::string(field) + " must be an array of at most " + std::to_string(max) + " strings";
    return std::nullopt;
  }
  for (const auto& value : *it) {
    if (!value.is_string() || !valid(value.get_ref<const std::string&>())) {
      error = std::string("invalid entry in ") + field;
      return std::nullopt;
    }
    values.push_back(value.get<std::string>());
  }
  return values;
}

bool valid_type(const std::string& type) {
  return !type.empty() && type.size() <= max_type_length;
}

client_op parse_subscribe(const nlohmann::json& op) {
  subscribe_op subscribe;
  if (const auto user = op.find("userId"); user != op.end() && !user->is_null()) {
    if (!user->is_string()) return bad_request("userId must be a string");
    subscribe.user_id = user->get<std::string>();
  }
  std::string error;
  auto job_ids = string_array(
      op, "jobIds", stream_scope::max_job_ids, [](const std::string& id) { return is_valid_id(id); }, error);
  if (!job_ids) return bad_request(std::move(error));
  auto types = string_array(op, "types", stream_scope::max_types, valid_type, error);
  if (!types) return bad_request(std::move(error));
  subscribe.job_ids = std::move(*job_ids);
  subscribe.types = std::move(*types);
  return subscribe;
}

}  // namespace

client_op parse_client_op(std::string_view text) {
  const auto op = nlohmann::json::parse(text, nullptr, false);
  if (op.is_discarded() || !op.is_object()) return bad_request("an op is a JSON object");
  const auto name = op.find("op");
  if (name == op.end() || !name->is_string()) return bad_request("missing \"op\"");
  const auto& verb = name->get_ref<const std::string&>();

  if (verb == "ping") {
    ping_op ping;
    if (const auto given = op.find("id"); given != op.end() && (given->is_string() || given->is_number()))
      ping.id_json = given->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return ping;
  }
  if (verb == "unsubscribe") return unsubscribe_op{};
  if (verb == "subscribe") return parse_subscribe(op);
  return client_op_error{"unknown_op", "unknown op; expected subscribe, unsubscribe or ping"};
}

}  // namespace progress::bridge
