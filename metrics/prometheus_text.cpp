#include "metrics/prometheus_text.hpp"

#include <algorithm>
#include <deque>
#include <limits>
#include <sstream>
#include <tuple>
#include <vector>

#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#ifndef TROUPE_VERSION
#  define TROUPE_VERSION "unknown"
#endif

namespace troupe::metrics {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;
using labels = std::vector<ClientMetric::Label>;

/// A deque: the references add() hands out stay valid.
struct families {
  std::deque<MetricFamily> all;

  MetricFamily& add(std::string name, std::string help, MetricType type) {
    all.push_back(MetricFamily{std::move(name), std::move(help), type, {}});
    return all.back();
  }
};

void gauge(MetricFamily& f, labels ls, double v) {
  ClientMetric m;
  m.label = std::move(ls);
  m.gauge.value = v;
  f.metric.push_back(std::move(m));
}

void counter(MetricFamily& f, labels ls, uint64_t v) {
  ClientMetric m;
  m.label = std::move(ls);
  m.counter.value = static_cast<double>(v);
  f.metric.push_back(std::move(m));
}

void histo(MetricFamily& f, labels ls, const bounds& b, const histogram& h) {
  ClientMetric m;
  m.label = std::move(ls);
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= b.size; ++i) {
    cumulative += i < h.counts.size() ? h.counts[i] : 0;
    m.histogram.bucket.push_back(ClientMetric::Bucket{
      cumulative,
      i < b.size ? b.values[i] : std::numeric_limits<double>::infinity()});
  }
  m.histogram.sample_count = cumulative;
  m.histogram.sample_sum = h.sum;
  f.metric.push_back(std::move(m));
}

labels queue_label(const queue_metrics& q) { return {{"queue", q.queue}}; }

void render_queues(families& out, const snapshot& x) {
  auto queues = x.queues;
  std::sort(queues.begin(), queues.end(),
            [](const queue_metrics& a, const queue_metrics& b) {
              return a.queue < b.queue;
            });
  auto& info = out.add("troupe_queue_info",
                       "A configured queue; its type and FIFO group field "
                       "as labels, value 1",
                       MetricType::Gauge);
  auto& jobs = out.add("troupe_queue_jobs",
                       "Jobs the queue holds, by state", MetricType::Gauge);
  auto& conc = out.add("troupe_queue_concurrency",
                       "Configured jobs (standard) or groups (fifo) in "
                       "flight at once",
                       MetricType::Gauge);
  auto& paused = out.add("troupe_queue_paused",
                         "1 while dispatch of the queue is paused",
                         MetricType::Gauge);
  auto& oldest = out.add(
    "troupe_queue_oldest_waiting_timestamp_seconds",
    "Enqueue time of the oldest waiting job (the scrape time when none)",
    MetricType::Gauge);
  auto& enq = out.add("troupe_jobs_enqueued_total", "Jobs accepted",
                      MetricType::Counter);
  auto& attempts = out.add("troupe_job_attempts_total",
                           "Attempts by function and result",
                           MetricType::Counter);
  auto& dead = out.add("troupe_jobs_dead_lettered_total",
                       "Jobs moved to the dead-letter queue",
                       MetricType::Counter);
  auto& redriven = out.add("troupe_jobs_redriven_total",
                           "Dead jobs sent back to their queue",
                           MetricType::Counter);
  auto& discarded = out.add("troupe_jobs_discarded_total",
                            "Dead jobs discarded", MetricType::Counter);
  auto& wait = out.add("troupe_job_wait_seconds",
                       "From enqueue to the start of the first attempt",
                       MetricType::Histogram);
  auto& duration = out.add("troupe_job_attempt_duration_seconds",
                           "From the start of an attempt to its result",
                           MetricType::Histogram);
  auto& completion = out.add(
    "troupe_job_completion_seconds",
    "From enqueue to success or the dead-letter queue, retries included",
    MetricType::Histogram);
  static const char* states[] = {"waiting", "in_flight", "delayed", "dead"};
  for (auto& q : queues) {
    gauge(info,
          {{"group_field", q.group_field}, {"queue", q.queue}, {"type", q.type}},
          1);
    uint64_t counts[] = {q.waiting, q.in_flight, q.delayed, q.dead};
    for (size_t i = 0; i < 4; ++i)
      gauge(jobs, {{"queue", q.queue}, {"state", states[i]}},
            static_cast<double>(counts[i]));
    gauge(conc, queue_label(q), static_cast<double>(q.concurrency));
    gauge(paused, queue_label(q), q.paused ? 1 : 0);
    auto ts = q.oldest_waiting_ms != 0 ? q.oldest_waiting_ms : x.now_ms;
    gauge(oldest, queue_label(q), static_cast<double>(ts) / 1000.0);
    counter(enq, queue_label(q), q.enqueued);
    auto fns = q.functions;
    std::sort(fns.begin(), fns.end(),
              [](const function_attempts& a, const function_attempts& b) {
                return a.function < b.function;
              });
    for (auto& f : fns) {
      for (size_t r = 0; r < attempt_results && r < f.results.size(); ++r)
        counter(attempts,
                {{"function", f.function},
                 {"queue", q.queue},
                 {"result", to_label(static_cast<attempt_result>(r))}},
                f.results[r]);
      histo(duration, {{"function", f.function}, {"queue", q.queue}},
            attempt_seconds, f.duration);
    }
    counter(dead, queue_label(q), q.dead_lettered);
    counter(redriven, queue_label(q), q.redriven);
    counter(discarded, queue_label(q), q.discarded);
    histo(wait, queue_label(q), wait_seconds, q.wait);
    histo(completion, {{"outcome", "dead"}, {"queue", q.queue}},
          completion_seconds, q.dead_after);
    histo(completion, {{"outcome", "succeeded"}, {"queue", q.queue}},
          completion_seconds, q.succeeded);
  }
}

void render_store(families& out, const store_metrics& s) {
  counter(out.add("troupe_store_commits_total",
                  "Store commits (one transaction and fsync each)",
                  MetricType::Counter),
          {}, s.commits);
  counter(out.add("troupe_store_commit_writes_total",
                  "Writes in all store commits", MetricType::Counter),
          {}, s.writes);
  counter(out.add("troupe_store_commit_errors_total",
                  "Store commits that failed (their writes are lost)",
                  MetricType::Counter),
          {}, s.failed);
  histo(out.add("troupe_store_writes_per_commit",
                "Writes in one store commit (the group-commit batch)",
                MetricType::Histogram),
        {}, commit_writes, s.writes_per_commit);
  histo(out.add("troupe_store_commit_duration_seconds",
                "Time of one store commit", MetricType::Histogram),
        {}, commit_seconds, s.duration);
}

void render_http(families& out, std::vector<http_count> xs) {
  std::sort(xs.begin(), xs.end(), [](const http_count& a, const http_count& b) {
    return std::tie(a.route, a.method, a.status)
           < std::tie(b.route, b.method, b.status);
  });
  auto& f = out.add("troupe_http_requests_total",
                    "REST API requests by route pattern (\"\" when none "
                    "matched), method and status code",
                    MetricType::Counter);
  for (auto& x : xs)
    counter(f,
            {{"code", std::to_string(x.status)},
             {"method", x.method},
             {"route", x.route}},
            x.count);
}

} // namespace

std::string render(const snapshot& x) {
  families out;
  gauge(out.add("troupe_build_info", "The running troupe's version, value 1",
                MetricType::Gauge),
        {{"version", x.version.empty() ? TROUPE_VERSION : x.version}}, 1);
  render_queues(out, x);
  if (x.has_store) render_store(out, x.store);
  gauge(out.add("troupe_workers_connected", "Worker connections open now",
                MetricType::Gauge),
        {}, static_cast<double>(x.workers_connected));
  counter(out.add("troupe_worker_connections_total",
                  "Worker connections accepted", MetricType::Counter),
          {}, x.worker_connections);
  auto& calls = out.add("troupe_calls_total",
                        "Workers' trigger() calls by kind (sync, void, "
                        "enqueue) and outcome",
                        MetricType::Counter);
  for (size_t k = 0; k < call_kinds; ++k)
    for (size_t o = 0; o < call_outcomes; ++o) {
      auto kind = static_cast<call_kind>(k);
      auto outcome = static_cast<call_outcome>(o);
      // Only the outcomes a kind can have: a Void call is only sent.
      if ((kind == call_kind::void_call) != (outcome == call_outcome::sent))
        continue;
      counter(calls, {{"kind", to_label(kind)}, {"outcome", to_label(outcome)}},
              x.calls[k][o]);
    }
  if (x.has_http) render_http(out, x.http);
  // A family without series says nothing; promtool wants none of them.
  std::vector<MetricFamily> all;
  for (auto& f : out.all)
    if (!f.metric.empty()) all.push_back(std::move(f));
  std::ostringstream text;
  prometheus::TextSerializer{}.Serialize(text, all);
  return text.str();
}

} // namespace troupe::metrics
