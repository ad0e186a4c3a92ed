#include "progress/protocol/worker_status.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace progress;

TEST(worker_status, parses_what_the_sdks_and_their_last_will_write) {
  const auto offline = parse_worker_status("w1", R"({"status":"offline","workerId":"w1","timestamp":1795000000000})");
  ASSERT_TRUE(offline) << offline.error->message;
  EXPECT_EQ(*offline.status, (worker_status{worker_presence::offline, "w1", 1795000000000}));
  const auto online = parse_worker_status("w1", R"({"status":"online"})");
  ASSERT_TRUE(online);
  EXPECT_EQ(*online.status, (worker_status{worker_presence::online, "w1", std::nullopt}));
}

TEST(worker_status, writes_what_it_reads) {
  const worker_status status{worker_presence::offline, "importer-1", 42};
  const auto text = nlohmann::json(status).dump();
  EXPECT_EQ(text, R"({"status":"offline","timestamp":42,"workerId":"importer-1"})");
  const auto back = parse_worker_status("importer-1", text);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back.status, status);
}

TEST(worker_status, ignores_unknown_fields_and_nulls) {
  const auto parsed = parse_worker_status("w", R"({"status":"online","workerId":null,"timestamp":null,"x":1})");
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(parsed.status->timestamp);
}

TEST(worker_status, refuses_malformed_payloads_with_a_reason) {
  const auto reason = [](std::string_view payload) {
    const auto result = parse_worker_status("w1", payload);
    return result ? std::string("valid") : std::string(to_string(result.error->reason));
  };
  EXPECT_EQ(reason(""), "invalid_json");
  EXPECT_EQ(reason("[1]"), "not_an_object");
  EXPECT_EQ(reason(R"({"workerId":"w1"})"), "missing_field");
  EXPECT_EQ(reason(R"({"status":1})"), "wrong_type");
  EXPECT_EQ(reason(R"({"status":"asleep"})"), "invalid_value");
  EXPECT_EQ(reason(R"({"status":"offline","workerId":"w2"})"), "id_mismatch");
  EXPECT_EQ(reason(R"({"status":"offline","workerId":7})"), "wrong_type");
  EXPECT_EQ(reason(R"({"status":"offline","timestamp":-1})"), "out_of_range");
  EXPECT_EQ(reason(R"({"status":"offline","timestamp":"soon"})"), "wrong_type");
  EXPECT_EQ(reason(std::string(5000, ' ')), "oversize");
}
