// Bridge replicas behind a load balancer: two real bridges on one Mosquitto
// serve the same jobs alike, apart from the fields documented as per replica,
// and a stream client that comes back to the other replica resumes by the
// job versions it holds (docs/protocol.md "State resume").
#include <algorithm>

#include "live_stream_fixture.hpp"

namespace progress::bridge {
namespace {

// The job as a client compares it: without the fields each replica sets on its own.
json without_replica_fields(json job) {
  job.erase("updatedAt");
  if (job.contains("stalled")) job["stalled"].erase("since");
  return job;
}

// Every job of `user_id` the replica serves, by job id, as compared.
std::map<std::string, json> rest_view(unsigned short port, const std::string& user_id) {
  std::map<std::string, json> jobs;
  const auto reply = http_get(port, "/api/v1/users/" + user_id + "/jobs?limit=500", token_for(user_id));
  if (reply.status != 200) return jobs;
  const auto body = reply.body_json();
  for (const auto& job : body["jobs"]) jobs[job["jobId"]] = without_replica_fields(job);
  return jobs;
}

// What a client holding `jobs` sends to resume by state.
std::string resume_op_for(const std::map<std::string, json>& jobs) {
  json held = json::array();
  for (const auto& [id, job] : jobs) {
    json version = {{"userId", job["userId"]}, {"jobId", id}, {"status", job["status"]}};
    for (const char* field : {"attempt", "seq", "timestamp"}) {
      if (job.contains(field)) version[field] = job[field];
    }
    if (job.contains("stalled") || job.contains("cancelRequested")) version["annotated"] = true;
    held.push_back(version);
  }
  return json{{"op", "resume"}, {"jobs", held}}.dump();
}

std::string state_resume_target(const std::string& token, const std::string& cursor) {
  return websocket_target(token, cursor) + "&resume=state";
}

class Replicas : public LiveStreams {
 protected:
  void SetUp() override {
    LiveStreams::SetUp();
    // The tests poll both replicas' REST answers until they agree: no request rate limit.
    first_ = start_bridge({"--rate-limit", "0"}, "-first");
    second_ = start_bridge({"--rate-limit", "0"}, "-second");
  }
  // Both replicas serve `count` jobs of `user_id`, the same apart from the per-replica fields.
  bool replicas_agree(const std::string& user_id, std::size_t count, std::function<bool(const json&)> also = {}) {
    const bool agreed = wait_until(
        [&] {
          const auto first = rest_view(first_->port(), user_id);
          if (first.size() != count || first != rest_view(second_->port(), user_id)) return false;
          return !also || std::all_of(first.begin(), first.end(), [&](const auto& job) { return also(job.second); });
        },
        10s);
    if (!agreed) {
      ADD_FAILURE() << "the replicas do not agree on " << count << " jobs:\n"
                    << json(rest_view(first_->port(), user_id)).dump() << "\n"
                    << json(rest_view(second_->port(), user_id)).dump();
    }
    return agreed;
  }
  std::unique_ptr<bridge_process> first_;
  std::unique_ptr<bridge_process> second_;
};

TEST_F(Replicas, ServeTheSameJobsApartFromPerReplicaFields) {
  const auto alice = user("alice");
  publish(alice, "import", {{"status", "in_progress"}, {"progress", 40}, {"seq", 4}, {"attempt", 1},
                            {"timestamp", 1795000000000}, {"details", {{"rows", 400}}}});
  publish(alice, "broken", {{"status", "failed"}, {"seq", 9}, {"error", {{"message", "bad row"}, {"code", 7}}}});
  publish(alice, "orphan", {{"status", "in_progress"}, {"seq", 2}, {"workerId", "w-" + test_name()}});
  publish(alice, "to-cancel", {{"status", "started"}, {"seq", 1}});
  publish(alice, "gone", {{"status", "queued"}});
  remove_job(alice, "gone");
  ASSERT_TRUE(replicas_agree(alice, 4));

  // The bridges' own marks: a worker that went away stalls its job, a cancel asked of one replica.
  ASSERT_EQ(worker_->publish("workers/w-" + test_name() + "/status", R"({"status":"offline"})"), 0);
  const auto asked = test::send_request(first_->port(), http::verb::post,
                                        "/api/v1/users/" + alice + "/jobs/to-cancel/cancel", token_for(alice));
  ASSERT_EQ(asked.status, 202u) << asked.body;
  ASSERT_TRUE(replicas_agree(alice, 4, [](const json& job) {
    if (job["jobId"] == "orphan") return job.contains("stalled");
    if (job["jobId"] == "to-cancel") return job.contains("cancelRequested");
    return true;
  }));

  for (const auto& [id, job] : rest_view(first_->port(), alice)) {
    EXPECT_EQ(without_replica_fields(rest_job(second_->port(), alice, id)), job) << id;
  }
  const auto stats = [&](const bridge_process& bridge) {
    return http_get(bridge.port(), "/api/v1/users/" + alice + "/stats", token_for(alice)).body_json();
  };
  EXPECT_EQ(stats(*first_), stats(*second_));
  EXPECT_EQ(rest_job(second_->port(), alice, "orphan")["stalled"]["reason"], "worker_offline");
}

TEST_F(Replicas, AClientComingBackToTheOtherReplicaGetsOnlyWhatChanged) {
  const auto alice = user("alice");
  publish(alice, "steady", {{"status", "in_progress"}, {"progress", 30}, {"seq", 3}});
  publish(alice, "runner", {{"status", "in_progress"}, {"seq", 1}});
  publish(alice, "doomed", {{"status", "queued"}, {"seq", 1}});
  ASSERT_TRUE(replicas_agree(alice, 3));

  std::map<std::string, json> held;
  std::string first_cursor;
  {
    auto ws = open_websocket(first_->port(), token_for(alice));
    auto snapshot = next_of_type(*ws, "snapshot");
    ASSERT_TRUE(snapshot);
    for (const auto& job : (*snapshot)["jobs"]) held[job["jobId"]] = job;
    first_cursor = (*snapshot)["cursor"];
  }  // the first replica goes away for this client

  // Meanwhile a job finishes, one is removed, one is new.
  publish(alice, "runner", {{"status", "completed"}, {"progress", 100}, {"seq", 2}});
  remove_job(alice, "doomed");
  publish(alice, "fresh", {{"status", "queued"}, {"seq", 1}});
  ASSERT_TRUE(replicas_agree(alice, 3, [](const json& job) { return job["jobId"] != "doomed"; }));

  auto ws = std::make_unique<websocket_test_client>(second_->port(),
                                                    state_resume_target(token_for(alice), first_cursor));
  ASSERT_TRUE(ws->upgraded()) << ws->upgrade_status();
  ASSERT_TRUE(ws->send_text(resume_op_for(held)));
  auto answer = next_of_type(*ws, "snapshot");
  ASSERT_TRUE(answer);
  EXPECT_EQ((*answer)["recovery"], "state");
  EXPECT_EQ((*answer)["recovered"], false) << "a cursor of another replica replays nothing";
  EXPECT_EQ(job_ids((*answer)["jobs"]), (std::set<std::string>{"runner", "fresh"})) << "only what changed";
  EXPECT_EQ((*answer)["removed"], json::array({{{"userId", alice}, {"jobId", "doomed"}}}));
  EXPECT_EQ((*answer)["unchanged"], 1);
  expect_nothing_more(*ws);

  // The client's view, updated by the answer, holds every job current.
  for (const auto& job : (*answer)["jobs"]) held[job["jobId"]] = job;
  for (const auto& gone : (*answer)["removed"]) held.erase(gone["jobId"]);
  std::map<std::string, json> view;
  for (const auto& [id, job] : held) view[id] = without_replica_fields(job);
  EXPECT_EQ(view, rest_view(second_->port(), alice));
  EXPECT_EQ(view.at("runner")["status"], "completed") << "a terminal state reached while away is never missed";

  // Live from there on, with this replica's cursors.
  publish(alice, "steady", {{"status", "in_progress"}, {"progress", 40}, {"seq", 4}});
  auto update = next_of_type(*ws, "job");
  ASSERT_TRUE(update);
  EXPECT_EQ((*update)["job"]["seq"], 4);

  // The same client back to the first replica with its cursor from the second: again by state.
  held["steady"] = (*update)["job"];
  ASSERT_TRUE(replicas_agree(alice, 3, [](const json& job) { return job["jobId"] != "steady" || job["seq"] == 4; }));
  auto back = std::make_unique<websocket_test_client>(
      first_->port(), state_resume_target(token_for(alice), (*update)["cursor"]));
  ASSERT_TRUE(back->send_text(resume_op_for(held)));
  auto nothing_new = next_of_type(*back, "snapshot");
  ASSERT_TRUE(nothing_new);
  EXPECT_EQ((*nothing_new)["recovery"], "state");
  EXPECT_TRUE((*nothing_new)["jobs"].empty()) << nothing_new->dump();
  EXPECT_TRUE((*nothing_new)["removed"].empty());
  EXPECT_EQ((*nothing_new)["unchanged"], 3);
}

TEST_F(Replicas, ClientsThatDoNotSendTheirStateGetFullSnapshots) {
  const auto alice = user("alice");
  publish(alice, "one", {{"status", "in_progress"}, {"seq", 1}});
  publish(alice, "two", {{"status", "completed"}, {"seq", 5}});
  ASSERT_TRUE(replicas_agree(alice, 2));
  std::string first_cursor;
  {
    auto ws = open_websocket(first_->port(), token_for(alice));
    auto snapshot = next_of_type(*ws, "snapshot");
    ASSERT_TRUE(snapshot);
    first_cursor = (*snapshot)["cursor"];
  }
  const auto expect_full = [&](const std::optional<json>& snapshot, const char* why) {
    ASSERT_TRUE(snapshot) << why;
    EXPECT_FALSE(snapshot->contains("recovery")) << why;
    EXPECT_FALSE(snapshot->contains("removed")) << why;
    EXPECT_EQ(job_ids((*snapshot)["jobs"]), (std::set<std::string>{"one", "two"})) << why;
  };

  // An old client: the other replica's cursor, no state.
  auto old_client = open_websocket(second_->port(), token_for(alice), first_cursor);
  expect_full(next_of_type(*old_client, "snapshot"), "old client");

  // Announced state, but another op came first: a full snapshot, and the op is served.
  auto other_op = std::make_unique<websocket_test_client>(second_->port(),
                                                          state_resume_target(token_for(alice), first_cursor));
  ASSERT_TRUE(other_op->send_text(R"({"op":"ping","id":"p"})"));
  std::map<std::string, json> first_two;  // the pong may come before the snapshot the hub takes
  for (int i = 0; i < 2; ++i) {
    auto message = other_op->next_message(message_timeout);
    ASSERT_TRUE(message);
    first_two[message->value("type", "")] = *message;
  }
  ASSERT_TRUE(first_two.contains("snapshot")) << json(first_two).dump();
  expect_full(first_two["snapshot"], "ping first");
  EXPECT_EQ(first_two["pong"]["id"], "p");
  // A resume later in the stream is refused; the stream stays open.
  ASSERT_TRUE(other_op->send_text(resume_op_for({})));
  auto refused = next_of_type(*other_op, "error");
  ASSERT_TRUE(refused);
  EXPECT_EQ((*refused)["code"], "bad_request");

  // A state too big to be read as a resume: a full snapshot.
  json huge = json::array();
  const std::string padding(100, 'x');
  for (std::size_t i = 0, bytes = 0; bytes <= 512 * 1024; ++i) {
    huge.push_back({{"userId", alice}, {"jobId", "held-" + std::to_string(i) + padding}, {"status", "queued"}});
    bytes += huge.back().dump().size() + 1;
  }
  auto too_big = std::make_unique<websocket_test_client>(second_->port(),
                                                         state_resume_target(token_for(alice), first_cursor));
  ASSERT_TRUE(too_big->send_text(json{{"op", "resume"}, {"jobs", huge}}.dump()));
  expect_full(next_of_type(*too_big, "snapshot"), "oversize state");

  // Announced state that never comes: a full snapshot after the wait.
  auto silent = std::make_unique<websocket_test_client>(second_->port(),
                                                        state_resume_target(token_for(alice), first_cursor));
  EXPECT_FALSE(silent->next_message(3s)) << "the bridge waits for the client's state";
  expect_full(next_of_type(*silent, "snapshot", 5s), "no state within the wait");
}

}  // namespace
}  // namespace progress::bridge
