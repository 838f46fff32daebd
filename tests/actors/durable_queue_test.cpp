// A queue supervisor with a store actor (over the memory store, which the
// test inspects directly): what reaches the store, and when; and recovery
// of stored jobs at start.

#include <algorithm>
#include <map>

#include "actors/store_actor.hpp"
#include "queue_fixture.hpp"

using namespace troupe;
using namespace troupe::testing;
using namespace std::chrono_literals;
using store::job_state;

namespace {

struct durable_queue_test : queue_fixture {
  std::shared_ptr<store::job_store> db = store::make_memory_store();
  store_handle store_actor_hdl
    = caf::actor_cast<store_handle>(spawn(store_actor, db));

  void start(queue_config q, recovered_jobs recovered = {}) {
    spawn_queue(std::move(q), queue_links{{}, store_actor_hdl, {}},
                std::move(recovered));
  }

  std::vector<store::stored_job> stored() {
    std::vector<store::stored_job> all;
    auto err = db->for_each_job(
      [&](store::stored_job&& x) { all.push_back(std::move(x)); });
    EXPECT_FALSE(err) << caf::to_string(err);
    return all;
  }

  /// A stored job as the store would hand it back at start-up.
  static store::stored_job stored_job(const std::string& name, job_state st,
                                      const std::string& group = "",
                                      int64_t due_at = 0) {
    store::stored_job s;
    s.job.id = "id-" + name;
    s.job.queue = "q";
    s.job.function_id = "f";
    s.job.payload = payload(name, group);
    s.job.group = group;
    s.job.attempts = st == job_state::waiting ? 0 : 1;
    s.state = st;
    s.due_at = due_at;
    return s;
  }
};

queue_config config(uint32_t max_retries, uint64_t backoff_ms) {
  queue_config q;
  q.concurrency = 2;
  q.max_retries = max_retries;
  q.backoff_ms = backoff_ms;
  return q;
}

} // namespace

TEST_F(durable_queue_test, receipt_only_after_the_put_is_committed) {
  script->decide = [](const seen_call&) { return answer::hold; };
  start(config(3, 10));
  auto x = make_job(spec, 1 << 20, "f", "{}");
  caf::scoped_actor self{sys};
  auto h = self->request(queue, caf::infinite, *x);
  // The supervisor asked the store; until the store runs, no receipt.
  sched.run_once(); // queue handles the job
  EXPECT_TRUE(stored().empty());
  EXPECT_TRUE(script->calls.empty());
  run();
  auto s = stored();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].job.id, x->id);
  EXPECT_EQ(s[0].state, job_state::waiting);
  std::string receipt;
  h.receive([&](std::string& r) { receipt = r; },
            [](caf::error& e) { ADD_FAILURE() << caf::to_string(e); });
  EXPECT_EQ(receipt, x->id);
  EXPECT_EQ(script->calls.size(), 1u);
}

TEST_F(durable_queue_test, success_removes_the_job) {
  start(config(3, 10));
  enqueue("a");
  EXPECT_EQ(script->calls.size(), 1u);
  EXPECT_TRUE(stored().empty());
}

TEST_F(durable_queue_test, failures_retries_and_the_dlq_are_stored) {
  script->decide = [](const seen_call&) { return answer::fail; };
  start(config(2, 1000));
  auto id = enqueue("a");
  auto s = stored();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].state, job_state::delayed);
  EXPECT_EQ(s[0].job.attempts, 1u);
  EXPECT_GT(s[0].due_at, 0);
  EXPECT_NE(s[0].job.last_error.find("scripted failure"), std::string::npos);
  advance(1000ms);
  s = stored();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].state, job_state::dead);
  EXPECT_EQ(s[0].job.attempts, 2u);
  EXPECT_GT(s[0].job.failed_at, 0);
  // Redrive: back to waiting with attempts reset (then fails again).
  script->decide = [](const seen_call&) { return answer::hold; };
  EXPECT_EQ(ask<uint64_t>(queue, atom::redrive_v, id), 1u);
  run();
  s = stored();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].state, job_state::waiting);
  EXPECT_EQ(s[0].job.attempts, 0u);
}

TEST_F(durable_queue_test, discard_deletes_the_stored_job) {
  script->decide = [](const seen_call&) { return answer::fail; };
  start(config(1, 10));
  auto id = enqueue("a");
  ASSERT_EQ(stored().size(), 1u);
  EXPECT_EQ(ask<uint64_t>(queue, atom::discard_v, id), 1u);
  run();
  EXPECT_TRUE(stored().empty());
}

TEST_F(durable_queue_test, recovery_runs_waiting_jobs_in_order_and_parks_dead) {
  auto jobs = std::make_shared<recovered_jobs::element_type>();
  jobs->push_back(stored_job("w1", job_state::waiting));
  jobs->push_back(stored_job("d1", job_state::dead));
  jobs->push_back(stored_job("w2", job_state::waiting));
  // One at a time, so the calls show the dispatch order.
  auto q = config(3, 10);
  q.concurrency = 1;
  start(q, jobs);
  EXPECT_EQ(call_order(), (std::vector<std::string>{"w1", "w2"}));
  auto dead = ask<std::vector<job>>(queue, atom::list_v, uint64_t{0},
                                    uint64_t{10});
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].id, "id-d1");
  EXPECT_EQ(ask<queue_stats>(queue, atom::stats_v).dlq, 1u);
}

TEST_F(durable_queue_test, a_damaged_stored_payload_is_quarantined_not_sent) {
  // A damaged row used to go out as it was: invalid UTF-8 made the SDK drop
  // the connection (1007) and reconnect in a loop, and innocent jobs were
  // charged for it.
  auto jobs = std::make_shared<recovered_jobs::element_type>();
  jobs->push_back(stored_job("ok1", job_state::waiting));
  auto bad = stored_job("bad", job_state::waiting);
  bad.job.payload = std::string{"{\"n\":\"\xff\xfe\"}"};
  jobs->push_back(bad);
  auto cut = stored_job("cut", job_state::delayed);
  cut.job.payload = R"({"n":"cu)";
  jobs->push_back(cut);
  jobs->push_back(stored_job("ok2", job_state::waiting));
  // The store holds them as recovery found them.
  for (auto& x : *jobs)
    ASSERT_TRUE(
      db->apply({store::make_write(store::store_write::kind::put, x.job)}));
  auto q = config(3, 10);
  q.concurrency = 1;
  start(q, jobs);
  EXPECT_EQ(call_order(), (std::vector<std::string>{"ok1", "ok2"}));
  auto dead = ask<std::vector<job>>(queue, atom::list_v, uint64_t{0},
                                    uint64_t{10});
  ASSERT_EQ(dead.size(), 2u);
  for (auto& d : dead) {
    EXPECT_EQ(d.payload, "null");
    EXPECT_NE(d.last_error.find("damaged_payload"), std::string::npos);
  }
  // Stored as dead, with their bytes as they were, so they stay out of the
  // queue after a restart too.
  run();
  auto rows = stored();
  ASSERT_EQ(rows.size(), 2u) << "ok1 and ok2 were acked";
  for (auto& r : rows) {
    EXPECT_EQ(r.state, job_state::dead) << r.job.id;
    EXPECT_NE(r.job.payload, "null") << r.job.id;
  }
}

TEST_F(durable_queue_test, an_attempt_start_marks_the_job_running) {
  script->decide = [](const seen_call&) { return answer::hold; };
  start(config(3, 10));
  enqueue("a");
  run();
  auto s = stored();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_TRUE(s[0].running) << "a crash now would cut this attempt off";
  EXPECT_EQ(s[0].state, job_state::waiting);
}

TEST_F(durable_queue_test,
       attempts_cut_off_by_crashes_are_charged_after_a_bound) {
  // A job that crashed the engine on every run was retried forever: an
  // attempt cut off by a crash was never charged.
  auto put_all = [&](const recovered_jobs::element_type& xs) {
    for (auto& x : xs) {
      ASSERT_TRUE(
        db->apply({store::make_write(store::store_write::kind::put, x.job)}));
      if (x.running) {
        ASSERT_TRUE(db->apply(
          {store::make_write(store::store_write::kind::start, x.job)}));
      }
      for (uint32_t i = 0; i < x.crashes; ++i) {
        ASSERT_TRUE(db->apply(
          {store::make_write(store::store_write::kind::crashed, x.job)}));
      }
    }
  };
  auto jobs = std::make_shared<recovered_jobs::element_type>();
  auto first = stored_job("first", job_state::waiting);
  first.running = true; // one crash so far: runs again, uncharged
  auto third = stored_job("third", job_state::waiting);
  third.running = true;
  third.crashes = 2; // the third crash: charged, a retry left
  auto last = stored_job("last", job_state::delayed);
  last.job.attempts = 2;
  last.running = true;
  last.crashes = 2; // charged, no attempt left: the DLQ
  auto calm = stored_job("calm", job_state::waiting);
  *jobs = {first, third, last, calm};
  put_all(*jobs);
  script->decide = [](const seen_call&) { return answer::hold; };
  auto q = config(3, 1000);
  q.concurrency = 5;
  q.max_crash_recoveries = 3;
  start(q, jobs);
  EXPECT_EQ(call_order(), (std::vector<std::string>{"first", "calm"}))
    << "third waits for its retry";
  auto st = ask<queue_stats>(queue, atom::stats_v);
  EXPECT_EQ(st.delayed, 1u);
  EXPECT_EQ(st.dlq, 1u);
  EXPECT_EQ(st.failed_attempts_total, 2u);
  auto dead = ask<std::vector<job>>(queue, atom::list_v, uint64_t{0},
                                    uint64_t{10});
  ASSERT_EQ(dead.size(), 1u);
  EXPECT_EQ(dead[0].id, "id-last");
  EXPECT_EQ(dead[0].attempts, 3u);
  EXPECT_NE(dead[0].last_error.find("\"engine_crash\""), std::string::npos)
    << dead[0].last_error;
  EXPECT_NE(dead[0].last_error.find("3 times in a row"), std::string::npos);
  run();
  std::map<std::string, store::stored_job> rows;
  for (auto& r : stored()) rows[r.job.id] = r;
  EXPECT_EQ(rows["id-first"].crashes, 1u);
  EXPECT_TRUE(rows["id-first"].running) << "started again";
  EXPECT_EQ(rows["id-third"].state, job_state::delayed);
  EXPECT_EQ(rows["id-third"].job.attempts, 1u);
  EXPECT_EQ(rows["id-third"].crashes, 0u) << "counted afresh for attempt 2";
  EXPECT_NE(rows["id-third"].job.last_error.find("engine_crash"),
            std::string::npos);
  EXPECT_EQ(rows["id-last"].state, job_state::dead);
  EXPECT_EQ(rows["id-calm"].crashes, 0u);
  // The charged job runs again after its backoff.
  advance(1000ms);
  EXPECT_EQ(call_order(), (std::vector<std::string>{"first", "calm", "third"}));
}

TEST_F(durable_queue_test, recovered_delayed_job_waits_the_rest_of_its_delay) {
  auto jobs = std::make_shared<recovered_jobs::element_type>();
  jobs->push_back(stored_job("late", job_state::delayed, "", now_ms() + 10000));
  start(config(3, 10), jobs);
  EXPECT_TRUE(script->calls.empty());
  EXPECT_EQ(ask<queue_stats>(queue, atom::stats_v).delayed, 1u);
  advance(9000ms);
  EXPECT_TRUE(script->calls.empty());
  advance(1100ms);
  EXPECT_EQ(call_order(), (std::vector<std::string>{"late"}));
}

TEST_F(durable_queue_test, recovered_fifo_group_waits_behind_its_delayed_head) {
  auto jobs = std::make_shared<recovered_jobs::element_type>();
  jobs->push_back(stored_job("a1", job_state::delayed, "a", now_ms() + 5000));
  jobs->push_back(stored_job("a2", job_state::waiting, "a"));
  jobs->push_back(stored_job("b1", job_state::waiting, "b"));
  auto q = config(3, 10);
  q.type = queue_type::fifo;
  q.message_group_field = "g";
  start(q, jobs);
  EXPECT_EQ(call_order(), (std::vector<std::string>{"b1"}));
  advance(5100ms);
  EXPECT_EQ(call_order(), (std::vector<std::string>{"b1", "a1", "a2"}));
}
