#include "metrics.hpp"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace progress::bridge {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Metrics, CountsMqttMessagesWithReasons) {
  metrics m;
  m.message_received();
  m.message_received();
  m.message_received();
  m.message_accepted();
  m.message_rejected("invalid_json");
  m.message_rejected("invalid_json");
  m.message_rejected("bad_topic");
  m.update_ignored("duplicate");

  const auto text = m.scrape();
  EXPECT_THAT(text, HasSubstr("progress_bridge_mqtt_messages_received_total 3"));
  EXPECT_THAT(text, HasSubstr("progress_bridge_mqtt_messages_accepted_total 1"));
  EXPECT_THAT(text, HasSubstr("progress_bridge_mqtt_messages_rejected_total{reason=\"invalid_json\"} 2"));
  EXPECT_THAT(text, HasSubstr("progress_bridge_mqtt_messages_rejected_total{reason=\"bad_topic\"} 1"));
  EXPECT_THAT(text, HasSubstr("progress_bridge_updates_ignored_total{decision=\"duplicate\"} 1"));
  EXPECT_THAT(text, HasSubstr("# TYPE progress_bridge_mqtt_messages_rejected_total counter"));
}

TEST(Metrics, GaugesFollowTheLatestValue) {
  metrics m;
  m.set_jobs(job_status::in_progress, 7);
  m.set_jobs(job_status::failed, 2);
  m.set_mqtt_connected(true);
  m.mqtt_reconnect();

  auto text = m.scrape();
  EXPECT_THAT(text, HasSubstr("progress_bridge_jobs{status=\"in_progress\"} 7"));
  EXPECT_THAT(text, HasSubstr("progress_bridge_jobs{status=\"failed\"} 2"));
  EXPECT_THAT(text, HasSubstr("progress_bridge_jobs{status=\"queued\"} 0"));
  EXPECT_THAT(text, HasSubstr("progress_bridge_mqtt_connected 1"));
  EXPECT_THAT(text, HasSubstr("progress_bridge_mqtt_reconnects_total 1"));

  m.set_jobs(job_status::in_progress, 3);
  m.set_mqtt_connected(false);
  text = m.scrape();
  EXPECT_THAT(text, HasSubstr("progress_bridge_jobs{status=\"in_progress\"} 3"));
  EXPECT_THAT(text, HasSubstr("progress_bridge_mqtt_connected 0"));
}

TEST(Metrics, ScrapeHooksRunBeforeEveryScrape) {
  metrics m;
  std::size_t running = 4;
  m.on_scrape([&running](metrics& self) { self.set_jobs(job_status::in_progress, running); });
  EXPECT_THAT(m.scrape(), HasSubstr("progress_bridge_jobs{status=\"in_progress\"} 4"));
  running = 9;
  EXPECT_THAT(m.scrape(), HasSubstr("progress_bridge_jobs{status=\"in_progress\"} 9"));
}

TEST(Metrics, RecordsHttpRequestsByRouteAndCode) {
  metrics m;
  m.http_request("/api/v1/jobs", 200, 0.003);
  m.http_request("/api/v1/jobs", 200, 0.2);
  m.http_request("/api/v1/jobs", 401, 0.001);
  m.auth_failure("expired");
  m.rate_limited();

  const auto text = m.scrape();
  EXPECT_THAT(text, HasSubstr("progress_bridge_http_requests_total{code=\"200\",route=\"/api/v1/jobs\"} 2"));
  EXPECT_THAT(text, HasSubstr("progress_bridge_http_requests_total{code=\"401\",route=\"/api/v1/jobs\"} 1"));
  EXPECT_THAT(text,
              HasSubstr("progress_bridge_http_request_duration_seconds_count{route=\"/api/v1/jobs\"} 3"));
  EXPECT_THAT(
      text,
      HasSubstr(
          "progress_bridge_http_request_duration_seconds_bucket{route=\"/api/v1/jobs\",le=\"0.005\"} 2"));
  EXPECT_THAT(text, HasSubstr("progress_bridge_auth_failures_total{reason=\"expired\"} 1"));
  EXPECT_THAT(text, HasSubstr("progress_bridge_rate_limited_total 1"));
}

TEST(Metrics, BoundsTheNumberOfLabelValues) {
  metrics m;
  for (std::size_t i = 0; i < metrics::max_label_sets + 10; ++i)
    m.message_rejected("reason_" + std::to_string(i));

  const auto text = m.scrape();
  EXPECT_THAT(text, HasSubstr("reason=\"reason_0\"} 1"));
  EXPECT_THAT(text, HasSubstr("reason=\"reason_63\"} 1"));
  EXPECT_THAT(text, Not(HasSubstr("reason=\"reason_64\"")));
  // Values past the guard share one extra series.
  EXPECT_THAT(text, HasSubstr("progress_bridge_mqtt_messages_rejected_total{reason=\"other\"} 10"));
}

}  // namespace
}  // namespace progress::bridge
