#include "metrics/prometheus_text.hpp"

#include <gtest/gtest.h>

#include <string>

#include "actors/metrics.hpp"

using namespace troupe::metrics;

namespace {

/// The one line of `text` that starts with `prefix` followed by a space or
/// '{' (a whole series name), or "" when there is none.
std::string line_of(const std::string& text, const std::string& prefix) {
  size_t at = 0;
  std::string found;
  while (at < text.size()) {
    auto end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    auto line = text.substr(at, end - at);
    if (line.rfind(prefix, 0) == 0 && line.size() > prefix.size()
        && (line[prefix.size()] == ' ' || line[prefix.size()] == '{')) {
      EXPECT_TRUE(found.empty()) << "two lines start with " << prefix;
      found = line;
    }
    at = end + 1;
  }
  return found;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

queue_metrics sample_queue() {
  queue_metrics q;
  q.queue = "orders";
  q.type = "fifo";
  q.group_field = "customer";
  q.concurrency = 4;
  q.paused = true;
  q.waiting = 3;
  q.in_flight = 2;
  q.delayed = 1;
  q.dead = 5;
  q.oldest_waiting_ms = 1700000000500;
  q.enqueued = 11;
  q.dead_lettered = 6;
  q.redriven = 1;
  q.discarded = 2;
  function_attempts f;
  f.function = "orders::ship";
  f.results[static_cast<size_t>(attempt_result::ok)] = 7;
  f.results[static_cast<size_t>(attempt_result::timeout)] = 2;
  f.duration.observe(attempt_seconds, 0.002);
  f.duration.observe(attempt_seconds, 0.002);
  f.duration.observe(attempt_seconds, 45);
  f.duration.observe(attempt_seconds, 1000);
  q.functions.push_back(f);
  q.wait.observe(wait_seconds, 0.0005);
  q.succeeded.observe(completion_seconds, 0.2);
  return q;
}

} // namespace

TEST(histogram, counts_each_value_in_the_first_bucket_that_holds_it) {
  histogram h{attempt_seconds};
  ASSERT_EQ(h.counts.size(), attempt_seconds.size + 1);
  h.observe(attempt_seconds, 0.001); // on the first bound: le="0.001"
  h.observe(attempt_seconds, 0.0011);
  h.observe(attempt_seconds, 1e9); // past the last bound: +Inf
  EXPECT_EQ(h.counts[0], 1u);
  EXPECT_EQ(h.counts[1], 1u);
  EXPECT_EQ(h.counts.back(), 1u);
  EXPECT_EQ(h.count(), 3u);
  EXPECT_DOUBLE_EQ(h.sum, 0.0021 + 1e9);
}

TEST(label_cap, keeps_the_first_ids_and_folds_the_rest_into_other) {
  label_cap cap{3};
  EXPECT_EQ(cap.slot("a"), 0u);
  EXPECT_EQ(cap.slot("b"), 1u);
  EXPECT_EQ(cap.slot("a"), 0u);
  EXPECT_EQ(cap.slot("c"), 2u);
  auto other = cap.slot("d");
  EXPECT_EQ(other, 3u);
  EXPECT_EQ(cap.name(other), "_other");
  for (int i = 0; i < 1000; ++i)
    EXPECT_EQ(cap.slot("flood-" + std::to_string(i)), other);
  EXPECT_EQ(cap.slot("c"), 2u); // an id under the cap keeps its slot
  EXPECT_EQ(cap.size(), 4u);
  EXPECT_EQ(cap.name(1), "b");
}

TEST(label_cap, default_cap_gives_one_hundred_ids_their_own_series) {
  label_cap cap;
  for (size_t i = 0; i < 100; ++i)
    EXPECT_EQ(cap.slot("fn" + std::to_string(i)), i);
  EXPECT_EQ(cap.name(cap.slot("fn100")), "_other");
  EXPECT_EQ(cap.slot("fn101"), cap.slot("fn100"));
  EXPECT_EQ(cap.size(), 101u);
}

TEST(attempt_result, error_codes_map_to_results) {
  EXPECT_EQ(classify_error("timeout"), attempt_result::timeout);
  EXPECT_EQ(classify_error("invocation_stopped"), attempt_result::stopped);
  EXPECT_EQ(classify_error("function_not_found"), attempt_result::not_found);
  EXPECT_EQ(classify_error("invocation_failed"), attempt_result::error);
  EXPECT_EQ(classify_error(""), attempt_result::error);
  EXPECT_EQ(classify_call("timeout"), call_outcome::timeout);
  EXPECT_EQ(classify_call("boom"), call_outcome::error);
}

TEST(prometheus_render, queue_series_carry_their_values_and_labels) {
  snapshot s;
  s.version = "1.2.3";
  s.now_ms = 1800000000000;
  s.queues.push_back(sample_queue());
  auto text = render(s);
  EXPECT_TRUE(has_line(text, "# TYPE troupe_build_info gauge"));
  EXPECT_TRUE(has_line(text, R"(troupe_build_info{version="1.2.3"} 1)"));
  EXPECT_TRUE(has_line(
    text,
    R"(troupe_queue_info{group_field="customer",queue="orders",type="fifo"} 1)"));
  EXPECT_TRUE(
    has_line(text, R"(troupe_queue_jobs{queue="orders",state="waiting"} 3)"));
  EXPECT_TRUE(
    has_line(text, R"(troupe_queue_jobs{queue="orders",state="in_flight"} 2)"));
  EXPECT_TRUE(
    has_line(text, R"(troupe_queue_jobs{queue="orders",state="delayed"} 1)"));
  EXPECT_TRUE(
    has_line(text, R"(troupe_queue_jobs{queue="orders",state="dead"} 5)"));
  EXPECT_TRUE(has_line(text, R"(troupe_queue_concurrency{queue="orders"} 4)"));
  EXPECT_TRUE(has_line(text, R"(troupe_queue_paused{queue="orders"} 1)"));
  EXPECT_TRUE(has_line(
    text,
    R"(troupe_queue_oldest_waiting_timestamp_seconds{queue="orders"} 1700000000.5)"));
  EXPECT_TRUE(has_line(text, "# TYPE troupe_jobs_enqueued_total counter"));
  EXPECT_TRUE(
    has_line(text, R"(troupe_jobs_enqueued_total{queue="orders"} 11)"));
  EXPECT_TRUE(has_line(
    text,
    R"(troupe_job_attempts_total{function="orders::ship",queue="orders",result="ok"} 7)"));
  EXPECT_TRUE(has_line(
    text,
    R"(troupe_job_attempts_total{function="orders::ship",queue="orders",result="timeout"} 2)"));
  EXPECT_TRUE(has_line(
    text,
    R"(troupe_job_attempts_total{function="orders::ship",queue="orders",result="not_found"} 0)"));
  EXPECT_TRUE(
    has_line(text, R"(troupe_jobs_dead_lettered_total{queue="orders"} 6)"));
  EXPECT_TRUE(has_line(text, R"(troupe_jobs_redriven_total{queue="orders"} 1)"));
  EXPECT_TRUE(
    has_line(text, R"(troupe_jobs_discarded_total{queue="orders"} 2)"));
}

TEST(prometheus_render, histograms_are_cumulative_with_inf_sum_and_count) {
  snapshot s;
  s.queues.push_back(sample_queue());
  auto text = render(s);
  EXPECT_TRUE(has_line(text, "# TYPE troupe_job_attempt_duration_seconds "
                             "histogram"));
  const std::string series = "troupe_job_attempt_duration_seconds";
  const std::string ls = R"(function="orders::ship",queue="orders")";
  EXPECT_TRUE(has_line(text, series + "_bucket{" + ls + R"(,le="0.001"} 0)"));
  EXPECT_TRUE(has_line(text, series + "_bucket{" + ls + R"(,le="0.0025"} 2)"));
  EXPECT_TRUE(has_line(text, series + "_bucket{" + ls + R"(,le="30"} 2)"));
  EXPECT_TRUE(has_line(text, series + "_bucket{" + ls + R"(,le="60"} 3)"));
  EXPECT_TRUE(has_line(text, series + "_bucket{" + ls + R"(,le="300"} 3)"));
  EXPECT_TRUE(has_line(text, series + "_bucket{" + ls + R"(,le="+Inf"} 4)"));
  EXPECT_TRUE(has_line(text, series + "_count{" + ls + "} 4"));
  EXPECT_TRUE(has_line(text, series + "_sum{" + ls + "} 1045.004"));
  EXPECT_TRUE(has_line(
    text,
    R"(troupe_job_completion_seconds_count{outcome="succeeded",queue="orders"} 1)"));
  EXPECT_TRUE(has_line(
    text,
    R"(troupe_job_completion_seconds_count{outcome="dead",queue="orders"} 0)"));
  EXPECT_TRUE(has_line(
    text, R"(troupe_job_wait_seconds_bucket{queue="orders",le="0.001"} 1)"));
}

TEST(prometheus_render, idle_queue_reports_scrape_time_as_oldest_waiting) {
  snapshot s;
  s.now_ms = 1800000000250;
  queue_metrics q;
  q.queue = "idle";
  q.type = "standard";
  s.queues.push_back(q);
  auto text = render(s);
  EXPECT_TRUE(has_line(
    text,
    R"(troupe_queue_oldest_waiting_timestamp_seconds{queue="idle"} 1800000000.25)"));
  // No attempts yet: no function series at all.
  EXPECT_EQ(text.find("troupe_job_attempts_total{"), std::string::npos);
}

TEST(prometheus_render, store_http_workers_and_calls) {
  snapshot s;
  s.has_store = true;
  s.store.commits = 3;
  s.store.writes = 10;
  s.store.writes_per_commit.observe(commit_writes, 5);
  s.store.duration.observe(commit_seconds, 0.003);
  s.has_http = true;
  s.http.push_back(http_count{"GET", "/orders/:id", 200, 4});
  s.http.push_back(http_count{"GET", "", 404, 1});
  s.workers_connected = 2;
  s.worker_connections = 5;
  s.calls[static_cast<size_t>(call_kind::sync)]
         [static_cast<size_t>(call_outcome::ok)]
    = 9;
  s.calls[static_cast<size_t>(call_kind::void_call)]
         [static_cast<size_t>(call_outcome::sent)]
    = 4;
  auto text = render(s);
  EXPECT_TRUE(has_line(text, "troupe_store_commits_total 3"));
  EXPECT_TRUE(has_line(text, "troupe_store_commit_writes_total 10"));
  EXPECT_TRUE(has_line(text, "troupe_store_commit_errors_total 0"));
  EXPECT_TRUE(has_line(text, R"(troupe_store_writes_per_commit_bucket{le="5"} 1)"));
  EXPECT_TRUE(has_line(
    text, R"(troupe_store_commit_duration_seconds_bucket{le="0.0025"} 0)"));
  EXPECT_TRUE(has_line(
    text, R"(troupe_store_commit_duration_seconds_bucket{le="0.005"} 1)"));
  EXPECT_TRUE(has_line(
    text,
    R"(troupe_http_requests_total{code="200",method="GET",route="/orders/:id"} 4)"));
  EXPECT_TRUE(has_line(
    text, R"(troupe_http_requests_total{code="404",method="GET",route=""} 1)"));
  EXPECT_TRUE(has_line(text, "troupe_workers_connected 2"));
  EXPECT_TRUE(has_line(text, "troupe_worker_connections_total 5"));
  EXPECT_TRUE(
    has_line(text, R"(troupe_calls_total{kind="sync",outcome="ok"} 9)"));
  EXPECT_TRUE(
    has_line(text, R"(troupe_calls_total{kind="void",outcome="sent"} 4)"));
  // A Void call has no other outcome, a sync call is never just sent.
  EXPECT_EQ(line_of(text, R"(troupe_calls_total{kind="void",outcome="ok"})"),
            "");
  EXPECT_EQ(line_of(text, R"(troupe_calls_total{kind="sync",outcome="sent"})"),
            "");
}

TEST(prometheus_render, leaves_out_what_the_engine_does_not_run) {
  snapshot s; // no queues, no store, no REST API
  auto text = render(s);
  EXPECT_EQ(text.find("troupe_store_"), std::string::npos);
  EXPECT_EQ(text.find("troupe_http_requests_total"), std::string::npos);
  EXPECT_EQ(text.find("troupe_queue_"), std::string::npos);
  EXPECT_NE(text.find("troupe_build_info"), std::string::npos);
}

TEST(prometheus_render, label_values_are_escaped) {
  snapshot s;
  queue_metrics q;
  q.queue = "q";
  q.type = "standard";
  function_attempts f;
  f.function = "odd\"name\\with\nnewline";
  f.results[0] = 1;
  q.functions.push_back(f);
  s.queues.push_back(q);
  auto text = render(s);
  EXPECT_TRUE(has_line(
    text,
    R"(troupe_job_attempts_total{function="odd\"name\\with\nnewline",queue="q",result="ok"} 1)"))
    << text;
}
