// The shape rules of WebSocket client ops, without a session.
#include "client_op.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace progress::bridge {
namespace {

using nlohmann::json;

std::string_view error_code(const client_op& op) {
  const auto* error = std::get_if<client_op_error>(&op);
  return error ? error->code : std::string_view{"<no error>"};
}

TEST(ClientOp, PingEchoesAStringOrNumberIdAsJson) {
  EXPECT_EQ(std::get<ping_op>(parse_client_op(R"({"op":"ping","id":"a\"b"})")).id_json, R"("a\"b")");
  EXPECT_EQ(std::get<ping_op>(parse_client_op(R"({"op":"ping","id":7})")).id_json, "7");
  EXPECT_EQ(std::get<ping_op>(parse_client_op(R"({"op":"ping","id":{"x":1}})")).id_json, "null");
  EXPECT_EQ(std::get<ping_op>(parse_client_op(R"({"op":"ping"})")).id_json, "null");
}

TEST(ClientOp, SubscribeCarriesItsScope) {
  const auto op =
      parse_client_op(R"({"op":"subscribe","userId":"bob","jobIds":["a","b"],"types":["import"]})");
  const auto& subscribe = std::get<subscribe_op>(op);
  EXPECT_EQ(subscribe.user_id, "bob");
  EXPECT_EQ(subscribe.job_ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(subscribe.types, (std::vector<std::string>{"import"}));

  const auto plain =
      std::get<subscribe_op>(parse_client_op(R"({"op":"subscribe","userId":null,"jobIds":null})"));
  EXPECT_FALSE(plain.user_id);
  EXPECT_TRUE(plain.job_ids.empty());
  EXPECT_TRUE(std::holds_alternative<unsubscribe_op>(parse_client_op(R"({"op":"unsubscribe"})")));
}

TEST(ClientOp, MalformedOpsAreBadRequestsAndUnknownVerbsUnknownOps) {
  for (const std::string text :
       {"not json", "[1,2,3]", R"("subscribe")", R"({"op":42})", R"({"noop":true})",
        R"({"op":"subscribe","jobIds":"not-an-array"})", R"({"op":"subscribe","types":[1,2]})",
        R"({"op":"subscribe","types":[""]})", R"({"op":"subscribe","jobIds":["a/b"]})",
        R"({"op":"subscribe","userId":7})"}) {
    EXPECT_EQ(error_code(parse_client_op(text)), "bad_request") << text;
  }
  EXPECT_EQ(error_code(parse_client_op(
                json{{"op", "subscribe"}, {"jobIds", std::vector<std::string>(101, "j")}}.dump())),
            "bad_request");
  EXPECT_EQ(error_code(parse_client_op(
                json{{"op", "subscribe"}, {"types", std::vector<std::string>(21, "t")}}.dump())),
            "bad_request");
  EXPECT_EQ(error_code(parse_client_op(json{{"op", "subscribe"}, {"types", {std::string(65, 't')}}}.dump())),
            "bad_request");
  EXPECT_EQ(error_code(parse_client_op(R"({"op":"dance"})")), "unknown_op");
}

TEST(ClientOp, ResumeCarriesTheJobVersionsHeld) {
  const auto op = parse_client_op(
      R"({"op":"resume","jobs":[{"userId":"alice","jobId":"a","status":"in_progress","attempt":1,"seq":7,)"
      R"("timestamp":1795000000000,"annotated":true},{"userId":"alice","jobId":"b","status":"completed","seq":null}]})");
  const auto& resume = std::get<resume_op>(op);
  ASSERT_EQ(resume.jobs.size(), 2u);
  EXPECT_EQ(resume.jobs[0].key.job_id, "a");
  EXPECT_EQ(resume.jobs[0].status, job_status::in_progress);
  EXPECT_EQ(resume.jobs[0].attempt, 1);
  EXPECT_EQ(resume.jobs[0].seq, 7);
  EXPECT_EQ(resume.jobs[0].timestamp, 1795000000000);
  EXPECT_TRUE(resume.jobs[0].annotated);
  EXPECT_EQ(resume.jobs[1].status, job_status::completed);
  EXPECT_FALSE(resume.jobs[1].seq);
  EXPECT_FALSE(resume.jobs[1].annotated);
  EXPECT_TRUE(std::get<resume_op>(parse_client_op(R"({"op":"resume","jobs":[]})")).jobs.empty());
}

TEST(ClientOp, MalformedResumesAreBadRequests) {
  for (const char* text : {
           R"({"op":"resume"})",
           R"({"op":"resume","jobs":{}})",
           R"({"op":"resume","jobs":[1]})",
           R"({"op":"resume","jobs":[{"userId":"alice","jobId":"a"}]})",
           R"({"op":"resume","jobs":[{"userId":"alice","jobId":"..","status":"queued"}]})",
           R"({"op":"resume","jobs":[{"userId":"alice","jobId":"a","status":"exploded"}]})",
           R"({"op":"resume","jobs":[{"userId":"alice","jobId":"a","status":"queued","seq":-1}]})",
           R"({"op":"resume","jobs":[{"userId":"alice","jobId":"a","status":"queued","seq":1.5}]})",
           R"({"op":"resume","jobs":[{"userId":"alice","jobId":"a","status":"queued","annotated":1}]})",
       }) {
    EXPECT_EQ(error_code(parse_client_op(text)), "bad_request") << text;
  }
  json many = json::array();
  for (std::size_t i = 0; i <= resume_op::max_jobs; ++i)
    many.push_back({{"userId", "alice"}, {"jobId", "j" + std::to_string(i)}, {"status", "queued"}});
  EXPECT_EQ(error_code(parse_client_op(json{{"op", "resume"}, {"jobs", many}}.dump())), "bad_request");
}

}  // namespace
}  // namespace progress::bridge
