// The shared protocol test vectors (protocol/testdata/) through the C++
// validator. The JavaScript and Python SDKs run the same files through theirs,
// so the three cannot drift apart.
#include <gtest/gtest.h>

#include <fstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "progress/protocol/control_message.hpp"
#include "progress/protocol/topic.hpp"
#include "progress/protocol/validation.hpp"

using namespace progress;
using nlohmann::json;

namespace {

json load(const std::string& name) {
  std::ifstream in(std::string(PROGRESS_TESTDATA_DIR) + "/" + name);
  if (!in) throw std::runtime_error("cannot open protocol/testdata/" + name);
  return json::parse(in);
}

std::string hex_bytes(const std::string& hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return bytes;
}

// A byte spec (protocol/testdata/README.md): text, {"hex"}, {"repeat", "times"} or {"concat"}.
std::string bytes_of(const json& spec) {
  if (spec.is_string()) return spec.get<std::string>();
  if (spec.contains("hex")) return hex_bytes(spec.at("hex").get<std::string>());
  if (spec.contains("repeat")) {
    const auto unit = bytes_of(spec.at("repeat"));
    std::string out;
    for (int i = 0; i < spec.at("times").get<int>(); ++i) out += unit;
    return out;
  }
  std::string out;
  for (const auto& part : spec.at("concat")) out += bytes_of(part);
  return out;
}

}  // namespace

TEST(protocol_vectors, ids) {
  const auto vectors = load("ids.json").at("vectors");
  ASSERT_FALSE(vectors.empty());
  for (const auto& v : vectors) {
    const auto id = bytes_of(v.at("id"));
    EXPECT_EQ(is_valid_id(id), v.at("valid").get<bool>()) << v.at("id").dump();
  }
}

// The "build" and "parse" vectors of one kind of job-scoped topic.
static void check_job_scoped_topics(const json& section,
                                    std::string (*build)(std::string_view, std::string_view),
                                    std::optional<job_key> (*parse)(std::string_view)) {
  for (const auto& v : section.at("build")) {
    const auto user = v.at("userId").get<std::string>();
    const auto job = v.at("jobId").get<std::string>();
    if (v.value("error", false)) {
      EXPECT_THROW((void)build(user, job), std::invalid_argument) << v.dump();
    } else {
      EXPECT_EQ(build(user, job), v.at("topic").get<std::string>());
    }
  }
  for (const auto& v : section.at("parse")) {
    const auto key = parse(v.at("topic").get<std::string>());
    ASSERT_EQ(key.has_value(), v.at("valid").get<bool>()) << v.dump();
    if (key) {
      EXPECT_EQ(*key, (job_key{v.at("userId").get<std::string>(), v.at("jobId").get<std::string>()}));
    }
  }
}

TEST(protocol_vectors, topics) {
  const auto topics = load("topics.json");
  check_job_scoped_topics(topics.at("jobTopic"), job_topic, parse_job_topic);
  check_job_scoped_topics(topics.at("controlTopic"), control_topic, parse_control_topic);
  for (const auto& v : topics.at("workerStatusTopic").at("build")) {
    const auto worker = v.at("workerId").get<std::string>();
    if (v.value("error", false)) {
      EXPECT_THROW((void)worker_status_topic(worker), std::invalid_argument) << v.dump();
    } else {
      EXPECT_EQ(worker_status_topic(worker), v.at("topic").get<std::string>());
    }
  }
}

// A payload vector against what a parser made of it: the rejection it expects, or the
// accepted value (as JSON) holding the fields it expects.
template <typename Result>
void check_payload_vector(const json& v, const Result& result, const std::optional<json>& accepted) {
  if (!v.at("valid").get<bool>()) {
    ASSERT_FALSE(result);
    EXPECT_EQ(to_string(result.error->reason), v.at("reason").get<std::string>());
    EXPECT_EQ(result.error->field, v.at("field").get<std::string>());
    return;
  }
  ASSERT_TRUE(accepted) << result.error->message;
  for (const auto& [name, expected] : v.at("expect").items()) {
    ASSERT_TRUE(accepted->contains(name)) << name;
    EXPECT_EQ(accepted->at(name), expected) << name;
  }
  for (const auto& name : v.value("absent", json::array())) {
    EXPECT_FALSE(accepted->contains(name.get<std::string>())) << name;
  }
}

TEST(protocol_vectors, updates) {
  const auto vectors = load("updates.json").at("vectors");
  ASSERT_FALSE(vectors.empty());
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.at("name").get<std::string>());
    const job_key key{v.at("userId").get<std::string>(), v.at("jobId").get<std::string>()};
    const auto result = parse_update(key, bytes_of(v.at("payload")));
    check_payload_vector(v, result, result ? std::optional<json>(*result.state) : std::nullopt);
  }
}

TEST(protocol_vectors, control_messages) {
  const auto vectors = load("control.json").at("vectors");
  ASSERT_FALSE(vectors.empty());
  for (const auto& v : vectors) {
    SCOPED_TRACE(v.at("name").get<std::string>());
    const auto result = parse_control(bytes_of(v.at("payload")));
    check_payload_vector(v, result, result ? std::optional<json>(*result.message) : std::nullopt);
  }
}
