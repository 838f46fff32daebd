// The operations a dashboard builds on, against a queue supervisor driven
// deterministically: a job by id in each state with its attempts log, pages
// of jobs per state, the groups of a FIFO queue, pause and resume (and the
// paused state in the store), and retry_now.

#include "actors/queue_actor.hpp"

#include <algorithm>

#include "actors/store_actor.hpp"
#include "queue_fixture.hpp"

using namespace troupe;
using namespace troupe::testing;
using namespace std::chrono_literals;

namespace {

struct queue_ops_test : queue_fixture {
  std::shared_ptr<store::job_store> db = store::make_memory_store();

  void start(queue_config q, bool durable = false, bool paused = false) {
    queue_links links;
    links.startup_grace = 0ms;
    links.paused = paused;
    if (durable)
      links.store = caf::actor_cast<store_handle>(spawn(store_actor, db));
    spawn_queue(std::move(q), std::move(links));
  }

  job_info lookup(const std::string& id) {
    return ask<job_info>(queue, atom::lookup_v, id);
  }

  /// The error a request for `xs...` fails with (none if it succeeds).
  template <class... Ts>
  caf::error fails_with(Ts&&... xs) {
    caf::scoped_actor self{sys};
    caf::error out;
    auto h = self->request(queue, caf::infinite, std::forward<Ts>(xs)...);
    run();
    h.receive([](const caf::message&) {}, [&](caf::error& e) { out = e; });
    return out;
  }

  job_page page(job_status st, uint64_t offset = 0, uint64_t limit = 50) {
    return ask<job_page>(queue, atom::jobs_v, st, offset, limit);
  }

  group_page groups() {
    return ask<group_page>(queue, atom::groups_v, uint64_t{0}, uint64_t{50});
  }

  uint64_t retry_now(const std::string& id) {
    return ask<uint64_t>(queue, atom::retrynow_v, id);
  }

  bool pause(bool on) {
    return on ? ask<bool>(queue, atom::pause_v)
              : ask<bool>(queue, atom::resume_v);
  }
};

bool named(const seen_call& c, const std::string& name) {
  return c.data.find(R"("n":")" + name + '"') != std::string::npos;
}

} // namespace

TEST_F(queue_ops_test, a_job_is_found_in_each_state_with_its_attempts) {
  script->decide = [](const seen_call& c) {
    if (named(c, "x") || named(c, "a")) return answer::fail;
    if (named(c, "b")) return answer::hold;
    return answer::ok;
  };
  start(standard(2, 2, 1000));
  auto x = enqueue("x");
  advance(1000ms);       // its second failure: dead
  auto a = enqueue("a"); // fails once: delayed
  auto b = enqueue("b"); // held: in flight
  EXPECT_TRUE(pause(true));
  auto c = enqueue("c"); // paused: waiting
  auto dead = lookup(x);
  EXPECT_EQ(dead.state, job_status::dead);
  EXPECT_EQ(dead.job.attempts, 2u);
  EXPECT_EQ(dead.max_attempts, 2u);
  EXPECT_GT(dead.job.failed_at, 0);
  EXPECT_EQ(dead.job.payload, payload("x", ""));
  ASSERT_EQ(dead.attempts_log.size(), 2u);
  EXPECT_EQ(dead.attempts_log[0].number, 1u);
  EXPECT_EQ(dead.attempts_log[1].number, 2u);
  EXPECT_FALSE(dead.attempts_log[1].ok);
  EXPECT_EQ(dead.attempts_log[1].duration_ms, 0); // virtual time
  EXPECT_NE(dead.attempts_log[1].error.find("invocation_failed"),
            std::string::npos);
  auto delayed = lookup(a);
  EXPECT_EQ(delayed.state, job_status::delayed);
  EXPECT_GT(delayed.next_attempt_at, 0);
  EXPECT_NE(delayed.job.last_error.find("scripted failure"), std::string::npos);
  auto running = lookup(b);
  EXPECT_EQ(running.state, job_status::in_flight);
  ASSERT_EQ(running.attempts_log.size(), 1u);
  EXPECT_EQ(running.attempts_log[0].duration_ms, -1);
  auto waiting = lookup(c);
  EXPECT_EQ(waiting.state, job_status::waiting);
  EXPECT_TRUE(waiting.attempts_log.empty());
  EXPECT_EQ(waiting.job.function_id, "f");
  EXPECT_EQ(fails_with(atom::lookup_v, std::string{"nope"}),
            errc::job_not_found);
}

TEST_F(queue_ops_test, a_job_that_succeeded_is_not_found) {
  start(standard(1, 3, 10));
  auto a = enqueue("a");
  EXPECT_EQ(fails_with(atom::lookup_v, a), errc::job_not_found);
}

TEST_F(queue_ops_test, pages_list_each_state_without_payloads) {
  script->decide = [](const seen_call& c) {
    return named(c, "d") ? answer::fail : answer::ok;
  };
  start(standard(1, 1, 10));
  enqueue("d");
  pause(true);
  std::vector<std::string> ids;
  for (auto n : {"w1", "w2", "w3", "w4", "w5"}) ids.push_back(enqueue(n));
  auto all = page(job_status::waiting);
  EXPECT_EQ(all.total, 5u);
  ASSERT_EQ(all.jobs.size(), 5u);
  EXPECT_EQ(all.queue, "q");
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(all.jobs[i].job.id, ids[i]);
  EXPECT_TRUE(all.jobs[0].job.payload.empty());
  EXPECT_EQ(all.jobs[0].payload_size, payload("w1", "").size());
  EXPECT_TRUE(all.jobs[0].attempts_log.empty());
  auto second = page(job_status::waiting, 2, 2);
  EXPECT_EQ(second.total, 5u);
  EXPECT_EQ(second.offset, 2u);
  EXPECT_EQ(second.limit, 2u);
  ASSERT_EQ(second.jobs.size(), 2u);
  EXPECT_EQ(second.jobs[0].job.id, ids[2]);
  EXPECT_TRUE(page(job_status::waiting, 9, 2).jobs.empty());
  auto dead = page(job_status::dead);
  EXPECT_EQ(dead.total, 1u);
  ASSERT_EQ(dead.jobs.size(), 1u);
  EXPECT_EQ(dead.jobs[0].state, job_status::dead);
  EXPECT_EQ(dead.jobs[0].max_attempts, 1u);
  EXPECT_TRUE(dead.jobs[0].job.payload.empty());
  EXPECT_EQ(page(job_status::in_flight).total, 0u);
  EXPECT_EQ(page(job_status::delayed).total, 0u);
  EXPECT_EQ(page(job_status::held).total, 0u);
}

TEST_F(queue_ops_test, delayed_jobs_are_listed_soonest_first) {
  script->decide = [](const seen_call&) { return answer::fail; };
  auto q = standard(2, 5, 1000);
  start(q);
  auto a = enqueue("a");
  advance(1000ms);       // a fails again: waits 2000 ms
  auto b = enqueue("b"); // waits 1000 ms
  auto p = page(job_status::delayed);
  ASSERT_EQ(p.jobs.size(), 2u);
  EXPECT_EQ(p.jobs[0].job.id, b);
  EXPECT_EQ(p.jobs[1].job.id, a);
  EXPECT_LE(p.jobs[0].next_attempt_at, p.jobs[1].next_attempt_at);
  EXPECT_EQ(stats().delayed, 2u);
}

TEST_F(queue_ops_test, pause_stops_new_attempts_and_resume_restarts_them) {
  script->decide = [](const seen_call& c) {
    if (named(c, "r") && c.data.find("again") == std::string::npos)
      return answer::fail;
    return named(c, "h") ? answer::hold : answer::ok;
  };
  start(standard(2, 3, 1000));
  enqueue("r"); // fails: retry in 1 s
  enqueue("h"); // runs, held
  EXPECT_TRUE(pause(true));
  EXPECT_TRUE(stats().paused);
  enqueue("b");    // accepted, not started
  advance(1000ms); // r's timer fires while paused: r waits
  EXPECT_EQ(script->calls.size(), 2u);
  EXPECT_EQ(lookup(enqueue("c")).state, job_status::waiting);
  EXPECT_EQ(stats().waiting, 3u);
  EXPECT_EQ(stats().delayed, 0u);
  release(owner, true); // the running attempt finishes
  EXPECT_EQ(stats().succeeded_total, 1u);
  EXPECT_EQ(script->calls.size(), 2u);
  EXPECT_FALSE(pause(false));
  EXPECT_FALSE(stats().paused);
  EXPECT_EQ(call_order(), (std::vector<std::string>{"r", "h", "b", "r", "c"}));
}

TEST_F(queue_ops_test, a_fifo_queue_paused_keeps_its_groups_waiting) {
  start(fifo(2, 3, 10));
  pause(true);
  enqueue("a", "g1");
  enqueue("b", "g2");
  EXPECT_TRUE(script->calls.empty());
  pause(false);
  EXPECT_EQ(script->calls.size(), 2u);
}

TEST_F(queue_ops_test, a_queue_started_paused_runs_nothing_until_resumed) {
  start(standard(1, 3, 10), false, true);
  enqueue("a");
  EXPECT_TRUE(script->calls.empty());
  EXPECT_TRUE(stats().paused);
  pause(false);
  EXPECT_EQ(script->calls.size(), 1u);
}

TEST_F(queue_ops_test, pause_and_resume_reach_the_store) {
  start(standard(1, 3, 10), true);
  EXPECT_TRUE(pause(true));
  EXPECT_EQ(*db->paused_queues(), std::vector<std::string>{"q"});
  EXPECT_FALSE(pause(false));
  EXPECT_TRUE(db->paused_queues()->empty());
}

TEST_F(queue_ops_test, retry_now_runs_a_delayed_job_and_skips_its_old_timer) {
  script->decide = [](const seen_call&) { return answer::fail; };
  start(standard(1, 4, 1000), true);
  auto a = enqueue("a");
  EXPECT_EQ(script->calls.size(), 1u);
  EXPECT_EQ(retry_now("nope"), 0u);
  EXPECT_EQ(retry_now(a), 1u);
  EXPECT_EQ(script->calls.size(), 2u); // failed again: retry in 2 s
  EXPECT_EQ(stats().delayed, 1u);
  advance(1000ms); // the first timer: stale
  EXPECT_EQ(script->calls.size(), 2u);
  advance(1000ms);
  EXPECT_EQ(script->calls.size(), 3u);
  EXPECT_EQ(lookup(a).attempts_log.size(), 3u);
}

TEST_F(queue_ops_test, retry_now_of_a_job_that_is_not_delayed_does_nothing) {
  script->decide = [](const seen_call&) { return answer::hold; };
  start(standard(1, 4, 1000));
  auto a = enqueue("a");
  auto b = enqueue("b");
  EXPECT_EQ(retry_now(a), 0u); // in flight
  EXPECT_EQ(retry_now(b), 0u); // waiting
  EXPECT_EQ(script->calls.size(), 1u);
}

TEST_F(queue_ops_test,
       groups_show_the_blocked_one_first_and_retry_now_frees_it) {
  script->decide = [](const seen_call& c) {
    if (named(c, "a")) return answer::fail;
    return named(c, "c") ? answer::hold : answer::ok;
  };
  start(fifo(2, 5, 1000));
  auto c = enqueue("c", "g2"); // running, held
  auto a = enqueue("a", "g1"); // fails: g1 blocked
  auto b = enqueue("b", "g1"); // behind a
  auto gs = groups();
  EXPECT_EQ(gs.total, 2u);
  ASSERT_EQ(gs.groups.size(), 2u);
  EXPECT_EQ(gs.groups[0].group, "g1");
  EXPECT_TRUE(gs.groups[0].blocked_by_retry);
  EXPECT_GT(gs.groups[0].next_attempt_at, 0);
  EXPECT_EQ(gs.groups[0].jobs, 2u);
  EXPECT_EQ(gs.groups[0].head_id, a);
  EXPECT_EQ(gs.groups[1].group, "g2");
  EXPECT_TRUE(gs.groups[1].running);
  EXPECT_EQ(gs.groups[1].head_id, c);
  EXPECT_EQ(lookup(a).state, job_status::delayed);
  EXPECT_EQ(lookup(a).job.group, "g1");
  EXPECT_EQ(lookup(b).state, job_status::waiting);
  EXPECT_EQ(retry_now(b), 0u); // not the blocked head
  EXPECT_EQ(retry_now(a), 1u);
  EXPECT_EQ(script->count(R"("n":"a")"), 2u); // failed again: 2 s
  advance(1000ms);                            // the stale timer
  EXPECT_EQ(script->count(R"("n":"a")"), 2u);
  advance(1000ms);
  EXPECT_EQ(script->count(R"("n":"a")"), 3u);
  EXPECT_EQ(script->count(R"("n":"b")"), 0u); // still behind a
}

TEST_F(queue_ops_test, a_standard_queue_has_no_groups) {
  start(standard(1, 1, 10));
  EXPECT_EQ(fails_with(atom::groups_v, uint64_t{0}, uint64_t{10}),
            errc::invalid_argument);
}

TEST_F(queue_ops_test, the_attempts_log_keeps_the_newest_twenty) {
  script->decide = [](const seen_call&) { return answer::fail; };
  auto q = standard(1, 25, 1);
  q.max_backoff_ms = 1;
  start(q);
  auto a = enqueue("a");
  for (int i = 0; i < 30; ++i) advance(1ms);
  auto x = lookup(a);
  EXPECT_EQ(x.state, job_status::dead);
  EXPECT_EQ(x.job.attempts, 25u);
  ASSERT_EQ(x.attempts_log.size(), max_attempt_records);
  EXPECT_EQ(x.attempts_log.front().number, 6u);
  EXPECT_EQ(x.attempts_log.back().number, 25u);
}
