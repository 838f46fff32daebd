// Queue supervisors driven deterministically: retry timing, the DLQ, FIFO
// order through retries, concurrency bounds, supervision and redrive.

#include "actors/queue_actor.hpp"

#include <algorithm>

#include "queue_fixture.hpp"

using namespace troupe;
using namespace troupe::testing;
using namespace std::chrono_literals;

namespace {

struct queue_test : queue_fixture {
  void start(queue_config q,
             std::chrono::milliseconds grace = std::chrono::milliseconds{0}) {
    spawn_queue(std::move(q), queue_links{{}, {}, grace});
  }
};

answer fail_always(const seen_call&) { return answer::fail; }

} // namespace

TEST_F(queue_test, retries_wait_exactly_the_base_times_powers_of_two) {
  script->decide = fail_always;
  start(standard(1, 4, 1000));
  enqueue("a");
  EXPECT_EQ(script->calls.size(), 1u);
  // After the k-th failure the retry waits 1000 * 2^(k-1) ms, not 1 ms less.
  for (int64_t wait : {1000, 2000, 4000}) {
    auto before = script->calls.size();
    advance(std::chrono::milliseconds(wait - 1));
    EXPECT_EQ(script->calls.size(), before) << "too early for " << wait;
    advance(1ms);
    EXPECT_EQ(script->calls.size(), before + 1) << "late for " << wait;
  }
  EXPECT_EQ(stats().dlq, 1u);
  advance(60s);
  EXPECT_EQ(script->calls.size(), 4u);
}

TEST_F(queue_test, max_backoff_caps_a_retry_delay) {
  script->decide = fail_always;
  auto q = standard(1, 4, 100);
  q.max_backoff_ms = 150;
  start(q);
  enqueue("a");
  for (int64_t wait : {100, 150, 150}) {
    auto before = script->calls.size();
    advance(std::chrono::milliseconds(wait - 1));
    EXPECT_EQ(script->calls.size(), before);
    advance(1ms);
    EXPECT_EQ(script->calls.size(), before + 1);
  }
}

TEST_F(queue_test, job_reaches_the_dead_letters_after_exactly_max_retries) {
  script->decide = fail_always;
  start(standard(2, 3, 10));
  auto id = enqueue("a");
  advance(10ms);
  EXPECT_TRUE(dead().empty());
  advance(20ms);
  EXPECT_EQ(script->calls.size(), 3u);
  auto d = expect_one_dead(id, 3);
  EXPECT_EQ(d.payload, R"({"n":"a","g":""})");
  EXPECT_NE(d.last_error.find("scripted failure"), std::string::npos);
  auto s = stats();
  EXPECT_EQ(s.failed_attempts_total, 3u);
  EXPECT_EQ(s.dead_total, 1u);
  EXPECT_EQ(s.waiting + s.in_flight + s.delayed, 0u);
}

TEST_F(queue_test, max_retries_zero_means_one_attempt) {
  script->decide = fail_always;
  start(standard(1, 0, 10));
  enqueue("a");
  advance(1s);
  EXPECT_EQ(script->calls.size(), 1u);
  EXPECT_EQ(dead().size(), 1u);
}

TEST_F(queue_test, fifo_group_waits_for_its_retry_while_another_proceeds) {
  bool a1_failed = false;
  script->decide = [&](const seen_call& c) {
    if (c.data.find(R"("n":"a1")") != std::string::npos && !a1_failed) {
      a1_failed = true;
      return answer::fail;
    }
    return answer::ok;
  };
  start(fifo(2, 3, 1000));
  for (auto [n, g] : {std::pair{"a1", "a"},
                      {"a2", "a"},
                      {"b1", "b"},
                      {"b2", "b"},
                      {"a3", "a"}})
    enqueue(n, g);
  // a1 failed and backs off: a2 and a3 wait; group b ran through.
  EXPECT_EQ(call_order(), (std::vector<std::string>{"a1", "b1", "b2"}));
  EXPECT_EQ(stats().delayed, 1u);
  advance(999ms);
  EXPECT_EQ(script->calls.size(), 3u);
  advance(1ms);
  EXPECT_EQ(call_order(),
            (std::vector<std::string>{"a1", "b1", "b2", "a1", "a2", "a3"}));
  EXPECT_EQ(stats().succeeded_total, 5u);
}

TEST_F(queue_test, fifo_dead_job_does_not_block_its_group) {
  script->decide = [](const seen_call& c) {
    return c.data.find(R"("n":"a1")") != std::string::npos ? answer::fail
                                                           : answer::ok;
  };
  start(fifo(1, 2, 10));
  enqueue("a1", "a");
  enqueue("a2", "a");
  advance(10ms);
  EXPECT_EQ(call_order(), (std::vector<std::string>{"a1", "a1", "a2"}));
  EXPECT_EQ(dead().size(), 1u);
}

TEST_F(queue_test, standard_concurrency_is_never_exceeded) {
  script->decide = [](const seen_call&) { return answer::hold; };
  start(standard(3, 1, 10));
  for (int i = 0; i < 10; ++i) enqueue("j" + std::to_string(i));
  size_t max_held = 0;
  while (!script->held.empty()) {
    max_held = std::max(max_held, script->held.size());
    EXPECT_LE(script->held.size(), 3u);
    EXPECT_LE(stats().in_flight, 3u);
    release(owner, true);
  }
  EXPECT_EQ(max_held, 3u);
  EXPECT_EQ(script->calls.size(), 10u);
  EXPECT_EQ(stats().succeeded_total, 10u);
}

TEST_F(queue_test, fifo_runs_at_most_concurrency_groups_and_one_job_each) {
  script->decide = [](const seen_call&) { return answer::hold; };
  start(fifo(2, 1, 10));
  for (int i = 0; i < 4; ++i)
    for (auto g : {"a", "b", "c"}) enqueue(g + std::to_string(i), g);
  std::vector<std::string> groups_running;
  while (!script->held.empty()) {
    EXPECT_LE(script->held.size(), 2u);
    // The two running calls are of different groups.
    if (script->held.size() == 2) {
      auto& x = script->calls[script->held[0]].data;
      auto& y = script->calls[script->held[1]].data;
      EXPECT_NE(x.substr(x.find("\"g\"")), y.substr(y.find("\"g\"")));
    }
    release(owner, true);
  }
  // Each group's jobs ran in enqueue order.
  auto order = call_order();
  for (auto g : {"a", "b", "c"}) {
    std::vector<std::string> seen;
    for (auto& n : order)
      if (n[0] == g[0]) seen.push_back(n);
    EXPECT_EQ(seen, (std::vector<std::string>{
                      std::string{g} + "0", std::string{g} + "1",
                      std::string{g} + "2", std::string{g} + "3"}));
  }
}

TEST_F(queue_test, crashed_delivery_actor_is_replaced_and_its_job_not_charged) {
  script->decide = [](const seen_call&) { return answer::hold; };
  start(standard(2, 2, 10));
  auto id = enqueue("a");
  ASSERT_EQ(script->held.size(), 1u);
  auto victim = caf::actor_cast<caf::actor>(script->calls[0].sender);
  ASSERT_TRUE(victim);
  script->held.clear();
  script->calls[0].promise = caf::response_promise{};
  script->decide = fail_always;
  caf::anon_send_exit(victim, caf::exit_reason::kill);
  run();
  // The job ran again at once, on another actor, without a charge...
  ASSERT_EQ(script->calls.size(), 2u);
  EXPECT_NE(script->calls[1].sender, script->calls[0].sender);
  advance(10ms);
  // ...so it still got both of its attempts.
  EXPECT_EQ(script->calls.size(), 3u);
  expect_one_dead(id, 2);
  EXPECT_EQ(ask<std::vector<caf::actor>>(queue, atom::children_v).size(), 1u)
    << "the replacement, kept idle; the dead one is gone";
}

TEST_F(queue_test, children_dying_too_often_pause_dispatching_with_backoff) {
  script->decide = [](const seen_call&) { return answer::hold; };
  queue_links links{{}, {}, 0ms};
  links.restarts = restart_limit{2, 1000ms, 100ms, 250ms};
  spawn_queue(standard(1, 2, 10), links);
  enqueue("a");
  ASSERT_EQ(script->calls.size(), 1u);
  // Kills the actor running the latest call; the job is not charged.
  auto kill_latest = [&] {
    auto victim = caf::actor_cast<caf::actor>(script->calls.back().sender);
    ASSERT_TRUE(victim);
    script->held.clear();
    for (auto& c : script->calls) c.promise = caf::response_promise{};
    caf::anon_send_exit(victim, caf::exit_reason::kill);
    run();
  };
  // Two deaths within the window: replaced at once.
  kill_latest();
  ASSERT_EQ(script->calls.size(), 2u);
  advance(10ms);
  kill_latest();
  ASSERT_EQ(script->calls.size(), 3u);
  // The third: nothing is dispatched for the first pause...
  advance(10ms);
  kill_latest();
  EXPECT_EQ(script->calls.size(), 3u);
  advance(90ms);
  EXPECT_EQ(script->calls.size(), 3u);
  advance(10ms);
  ASSERT_EQ(script->calls.size(), 4u) << "replaced after 100 ms";
  // ...and while deaths go on, each pause doubles, up to max_pause.
  kill_latest();
  advance(199ms);
  EXPECT_EQ(script->calls.size(), 4u);
  advance(1ms);
  ASSERT_EQ(script->calls.size(), 5u) << "replaced after 200 ms";
  kill_latest();
  advance(249ms);
  EXPECT_EQ(script->calls.size(), 5u);
  advance(1ms);
  ASSERT_EQ(script->calls.size(), 6u) << "250 ms, the cap";
  // Calm for longer than the window: a death is replaced at once again,
  // and the next excess starts from the first pause.
  advance(1500ms);
  kill_latest();
  ASSERT_EQ(script->calls.size(), 7u);
  kill_latest();
  ASSERT_EQ(script->calls.size(), 8u);
  kill_latest();
  EXPECT_EQ(script->calls.size(), 8u);
  advance(100ms);
  EXPECT_EQ(script->calls.size(), 9u);
  EXPECT_EQ(stats().failed_attempts_total, 0u) << "never charged";
}

TEST_F(queue_test, crashed_group_actor_is_replaced_and_order_kept) {
  script->decide = [](const seen_call&) { return answer::hold; };
  start(fifo(1, 2, 10));
  enqueue("a1", "a");
  enqueue("a2", "a");
  ASSERT_EQ(script->held.size(), 1u);
  auto victim = caf::actor_cast<caf::actor>(script->calls[0].sender);
  script->held.clear();
  script->calls[0].promise = caf::response_promise{};
  script->decide = [](const seen_call&) { return answer::ok; };
  caf::anon_send_exit(victim, caf::exit_reason::kill);
  run();
  EXPECT_EQ(call_order(), (std::vector<std::string>{"a1", "a1", "a2"}));
  EXPECT_EQ(stats().failed_attempts_total, 0u);
  EXPECT_EQ(stats().succeeded_total, 2u);
}

TEST_F(queue_test, redrive_gives_a_dead_job_its_attempts_again) {
  script->decide = fail_always;
  start(standard(1, 2, 10));
  auto id = enqueue("a");
  advance(10ms);
  ASSERT_EQ(dead().size(), 1u);
  EXPECT_EQ(ask<uint64_t>(queue, atom::redrive_v, id), 1u);
  run();
  advance(10ms);
  // Two more attempts, then back in the DLQ with attempts counted afresh.
  EXPECT_EQ(script->calls.size(), 4u);
  expect_one_dead(id, 2);
  script->decide = [](const seen_call&) { return answer::ok; };
  EXPECT_EQ(ask<uint64_t>(queue, atom::redrive_v), 1u);
  run();
  EXPECT_EQ(script->calls.size(), 5u);
  EXPECT_TRUE(dead().empty());
  EXPECT_EQ(stats().succeeded_total, 1u);
}

TEST_F(queue_test, discard_drops_a_dead_job) {
  script->decide = fail_always;
  start(standard(1, 1, 10));
  auto id = enqueue("a");
  EXPECT_EQ(ask<uint64_t>(queue, atom::discard_v, std::string{"nope"}), 0u);
  EXPECT_EQ(ask<uint64_t>(queue, atom::discard_v, id), 1u);
  EXPECT_TRUE(dead().empty());
}

TEST_F(queue_test, dead_letters_are_listed_newest_first) {
  script->decide = fail_always;
  start(standard(1, 1, 10));
  auto first = enqueue("a");
  auto second = enqueue("b");
  auto d = dead();
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].id, second);
  EXPECT_EQ(d[1].id, first);
  auto page = ask<std::vector<job>>(queue, atom::list_v, uint64_t{1},
                                    uint64_t{5});
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].id, first);
}

TEST_F(queue_test, drain_waits_for_running_attempts_and_stops_dispatch) {
  script->decide = [](const seen_call&) { return answer::hold; };
  start(standard(1, 1, 10));
  enqueue("a");
  enqueue("b");
  caf::scoped_actor self{sys};
  auto h = self->request(queue, caf::infinite, atom::drain_v);
  run();
  release(owner, true);
  bool drained = false;
  h.receive([&] { drained = true; },
            [](caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
  EXPECT_TRUE(drained);
  // "b" was never started, and new jobs are refused.
  EXPECT_EQ(script->calls.size(), 1u);
  auto x = make_job(spec, 1 << 20, "f", "{}");
  auto h2 = self->request(queue, caf::infinite, std::move(*x));
  run();
  h2.receive([](std::string&) { ADD_FAILURE() << "accepted while draining"; },
             [](caf::error& e) {
               EXPECT_NE(error_text(e).find("stopping"), std::string::npos);
             });
}

TEST_F(queue_test, fifo_enqueue_validation_uses_iii_texts) {
  auto q = fifo(1, 1, 10);
  q.name = "payment";
  q.message_group_field = "orderId";
  auto missing = make_job(q, 100, "f", R"({"x":1})");
  ASSERT_FALSE(missing);
  EXPECT_EQ(error_text(missing.error()),
            "FIFO queue 'payment' requires field 'orderId' in data, but it "
            "was not found");
  auto not_object = make_job(q, 100, "f", R"("text")");
  ASSERT_FALSE(not_object);
  EXPECT_EQ(error_text(not_object.error()), error_text(missing.error()));
  auto null = make_job(q, 100, "f", R"({"orderId":null})");
  ASSERT_FALSE(null);
  EXPECT_EQ(error_text(null.error()),
            "FIFO queue 'payment': field 'orderId' must not be null");
  auto number = make_job(q, 100, "f", R"({"orderId":42})");
  ASSERT_TRUE(number);
  EXPECT_EQ(number->group, "42");
  auto big = make_job(q, 10, "f", R"({"orderId":"abcdefghijk"})");
  ASSERT_FALSE(big);
  EXPECT_NE(error_text(big.error()).find("exceeds the limit of 10 bytes"),
            std::string::npos);
}

TEST_F(queue_test,
       an_attempt_over_timeout_ms_fails_and_its_late_answer_is_dropped) {
  script->decide = [](const seen_call&) { return answer::hold; };
  auto q = standard(1, 2, 10);
  q.timeout_ms = 80; // swept every 10 ms
  start(q);
  auto id = enqueue("a");
  advance(70ms);
  EXPECT_EQ(stats().failed_attempts_total, 0u);
  advance(20ms);
  // Failed as a timeout and retried (the second attempt is held too).
  EXPECT_EQ(stats().failed_attempts_total, 1u);
  advance(10ms);
  ASSERT_EQ(script->calls.size(), 2u);
  // The first attempt's answer arrives late: it must not count.
  release(owner, true);
  EXPECT_EQ(stats().succeeded_total, 0u);
  EXPECT_EQ(stats().in_flight, 1u);
  release(owner, true);
  EXPECT_EQ(stats().succeeded_total, 1u);
  EXPECT_TRUE(dead().empty());
  (void)id;
}

TEST_F(queue_test, a_timed_out_fifo_job_keeps_its_group_waiting) {
  script->decide = [](const seen_call&) { return answer::hold; };
  auto q = fifo(2, 1, 10);
  q.timeout_ms = 80;
  start(q);
  enqueue("a1", "a");
  enqueue("a2", "a");
  advance(100ms);
  // a1 timed out on its only attempt: DLQ; a2 runs next.
  auto d = dead();
  ASSERT_EQ(d.size(), 1u);
  EXPECT_NE(d[0].last_error.find("timed out after 80 ms"), std::string::npos);
  EXPECT_EQ(call_order(), (std::vector<std::string>{"a1", "a2"}));
}

TEST_F(queue_test, a_delivery_actor_waiting_on_a_silent_owner_stays_alive) {
  // Nothing but the supervisor refers to the delivery actor while its call
  // is outstanding; it must not be collected as unreachable (and its job
  // restarted over and over).
  script->decide = [](const seen_call&) { return answer::drop; };
  start(standard(2, 1, 10));
  enqueue("a");
  run();
  EXPECT_EQ(script->calls.size(), 1u);
  EXPECT_EQ(stats().in_flight, 1u);
  EXPECT_EQ(ask<std::vector<caf::actor>>(queue, atom::children_v).size(), 1u);
}

TEST_F(queue_test, a_large_concurrency_costs_no_actor_while_idle) {
  // One actor per slot at start made 100,000 slots take half a minute to
  // start and stop; now a delivery actor exists only for a job.
  script->decide = [](const seen_call&) { return answer::hold; };
  start(standard(10000, 1, 10));
  auto children = [&] {
    return ask<std::vector<caf::actor>>(queue, atom::children_v).size();
  };
  EXPECT_EQ(children(), 0u);
  for (auto n : {"a", "b", "c"}) enqueue(n);
  EXPECT_EQ(script->held.size(), 3u);
  EXPECT_EQ(children(), 3u);
  release(owner, true);
  enqueue("d"); // takes the idle one
  EXPECT_EQ(children(), 3u);
  EXPECT_EQ(stats().in_flight, 3u);
}

TEST_F(queue_test, concurrency_bounds_the_delivery_actors) {
  script->decide = [](const seen_call&) { return answer::hold; };
  start(standard(2, 1, 10));
  for (auto n : {"a", "b", "c", "d"}) enqueue(n);
  EXPECT_EQ(script->held.size(), 2u);
  EXPECT_EQ(ask<std::vector<caf::actor>>(queue, atom::children_v).size(), 2u);
  EXPECT_EQ(stats().waiting, 2u);
}

TEST_F(queue_test, a_missing_function_is_not_charged_during_the_startup_grace) {
  start(standard(1, 1, 10), std::chrono::milliseconds(2000));
  // Nobody has registered "late" yet (workers still reconnecting).
  enqueue("a", "", "late");
  advance(600ms);
  EXPECT_EQ(stats().failed_attempts_total, 0u);
  EXPECT_TRUE(dead().empty());
  caf::anon_send(registry, register_function{"late", owner, {}, {}});
  run();
  advance(250ms);
  ASSERT_EQ(script->calls.size(), 1u);
  EXPECT_EQ(stats().succeeded_total, 1u);
  // After the grace period a missing function is an ordinary failure.
  advance(2000ms);
  enqueue("b", "", "nobody");
  EXPECT_EQ(stats().failed_attempts_total, 1u);
  EXPECT_EQ(dead().size(), 1u);
}
