// What a queue supervisor counts for /metrics, driven deterministically:
// attempts by function and result, the label cap on function ids, the DLQ
// moves, and the histograms' counts.

#include <algorithm>

#include "actors/metrics.hpp"
#include "actors/queue_actor.hpp"
#include "queue_fixture.hpp"

using namespace troupe;
using namespace troupe::testing;
using namespace std::chrono_literals;

namespace {

struct queue_metrics_test : queue_fixture {
  void start(queue_config q) {
    spawn_queue(std::move(q), queue_links{{}, {}, 0ms});
  }

  metrics::queue_metrics snapshot() {
    return ask<metrics::queue_metrics>(queue, atom::metrics_v);
  }

  static const metrics::function_attempts*
  find(const metrics::queue_metrics& m, const std::string& fn) {
    auto i = std::find_if(m.functions.begin(), m.functions.end(),
                          [&](auto& f) { return f.function == fn; });
    return i == m.functions.end() ? nullptr : &*i;
  }

  static uint64_t results(const metrics::function_attempts* f,
                          metrics::attempt_result r) {
    return f ? f->results[static_cast<size_t>(r)] : 0;
  }
};

} // namespace

TEST_F(queue_metrics_test, attempts_are_counted_by_function_and_result) {
  bool failed_once = false;
  script->decide = [&](const seen_call& c) {
    if (c.data.find(R"("n":"hang")") != std::string::npos) return answer::drop;
    if (!failed_once) {
      failed_once = true;
      return answer::fail;
    }
    return answer::ok;
  };
  auto q = standard(4, 2, 10);
  q.timeout_ms = 100;
  start(q);
  enqueue("a"); // fails once, then succeeds
  enqueue("b");
  enqueue("lost", "", "nobody"); // no provider: not_found twice, then dead
  enqueue("hang");               // times out twice, then dead
  // Small steps, so that the sweep sees the timeouts on time.
  for (int i = 0; i < 200; ++i) advance(5ms);
  auto m = snapshot();
  EXPECT_EQ(m.queue, "q");
  EXPECT_EQ(m.type, "standard");
  EXPECT_EQ(m.concurrency, 4u);
  EXPECT_EQ(m.enqueued, 4u);
  auto f = find(m, "f");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(results(f, metrics::attempt_result::ok), 2u);
  EXPECT_EQ(results(f, metrics::attempt_result::error), 1u);
  EXPECT_EQ(results(f, metrics::attempt_result::timeout), 2u);
  auto nobody = find(m, "nobody");
  EXPECT_EQ(results(nobody, metrics::attempt_result::not_found), 2u);
  EXPECT_EQ(m.dead, 2u);
  EXPECT_EQ(m.dead_lettered, 2u);
  EXPECT_EQ(m.waiting + m.in_flight + m.delayed, 0u);
  // Histograms: every first attempt waited; every ended attempt timed;
  // two jobs succeeded and two went dead.
  EXPECT_EQ(m.wait.count(), 4u);
  EXPECT_EQ(f->duration.count(), 5u);
  EXPECT_EQ(m.succeeded.count(), 2u);
  EXPECT_EQ(m.dead_after.count(), 2u);
  // A timed-out attempt lasted timeout_ms (the sweep ticks at 1/8 of it).
  EXPECT_GE(f->duration.sum, 0.2);
  EXPECT_LT(f->duration.sum, 0.3);
}

TEST_F(queue_metrics_test, function_ids_past_the_cap_share_the_other_series) {
  start(standard(1, 0, 10));
  for (size_t i = 0; i < metrics::default_label_cap + 5; ++i)
    enqueue("j" + std::to_string(i), "", "missing" + std::to_string(i));
  advance(1s);
  auto m = snapshot();
  EXPECT_EQ(m.functions.size(), metrics::default_label_cap + 1);
  auto other = find(m, metrics::other_label);
  EXPECT_EQ(results(other, metrics::attempt_result::not_found), 5u);
  EXPECT_EQ(results(find(m, "missing0"), metrics::attempt_result::not_found),
            1u);
  EXPECT_EQ(find(m, "missing100"), nullptr);
  EXPECT_EQ(m.dead, metrics::default_label_cap + 5);
}

TEST_F(queue_metrics_test, redrive_and_discard_are_counted) {
  bool healed = false;
  script->decide = [&](const seen_call&) {
    return healed ? answer::ok : answer::fail;
  };
  start(standard(2, 0, 10));
  enqueue("a");
  auto b = enqueue("b");
  run();
  EXPECT_EQ(snapshot().dead, 2u);
  EXPECT_EQ(ask<uint64_t>(queue, atom::discard_v, b), 1u);
  healed = true;
  EXPECT_EQ(ask<uint64_t>(queue, atom::redrive_v), 1u);
  run();
  auto m = snapshot();
  EXPECT_EQ(m.discarded, 1u);
  EXPECT_EQ(m.redriven, 1u);
  EXPECT_EQ(m.dead_lettered, 2u);
  EXPECT_EQ(m.dead, 0u);
  EXPECT_EQ(m.succeeded.count(), 1u);
  // The redriven job's attempt is not a first attempt: one wait per job.
  EXPECT_EQ(m.wait.count(), 2u);
  auto f = find(m, "f");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(results(f, metrics::attempt_result::error), 2u);
  EXPECT_EQ(results(f, metrics::attempt_result::ok), 1u);
}

TEST_F(queue_metrics_test, oldest_waiting_is_the_first_waiting_enqueue) {
  script->decide = [](const seen_call&) { return answer::hold; };
  start(standard(1, 0, 10));
  EXPECT_EQ(snapshot().oldest_waiting_ms, 0);
  enqueue("running");
  auto before = now_ms();
  enqueue("first");
  enqueue("second");
  auto m = snapshot();
  EXPECT_EQ(m.in_flight, 1u);
  EXPECT_EQ(m.waiting, 2u);
  EXPECT_GE(m.oldest_waiting_ms, before - 1000);
  EXPECT_LE(m.oldest_waiting_ms, now_ms());
}
