// A queue supervisor whose store actor cannot commit (a failing_store): an
// enqueue is refused with errc::store_failure and leaves no trace, the queue
// takes jobs again once the store recovers, and a lost fire-and-forget write
// is logged while the queue keeps working.

#include <gtest/gtest.h>

#include "actors/store_actor.hpp"
#include "failing_store.hpp"
#include "queue_fixture.hpp"

using namespace troupe;
using namespace troupe::testing;

namespace {

struct store_failure_test : queue_fixture {
  std::shared_ptr<failing_store> db = std::make_shared<failing_store>();
  store_handle store_actor_hdl
    = caf::actor_cast<store_handle>(spawn(store_actor, db));

  store_failure_test() {
    queue_config q;
    q.concurrency = 2;
    q.max_retries = 3;
    q.backoff_ms = 10;
    spawn_queue(q, queue_links{{}, store_actor_hdl, {}});
  }

  /// Enqueues job `name`, expecting an error; returns it.
  caf::error enqueue_error(const std::string& name) {
    auto x = make_job(spec, 1 << 20, "f", payload(name, ""));
    EXPECT_TRUE(x);
    caf::scoped_actor self{sys};
    auto h = self->request(queue, caf::infinite, std::move(*x));
    run();
    caf::error out;
    h.receive([&](std::string& id) { ADD_FAILURE() << "accepted as " << id; },
              [&](caf::error& err) { out = std::move(err); });
    return out;
  }
};

/// The message text of an engine error.
std::string message(const caf::error& x) {
  auto& ctx = x.context();
  return ctx.match_elements<std::string>() ? ctx.get_as<std::string>(0)
                                           : caf::to_string(x);
}

bool contains(const std::string& str, const std::string& part) {
  return str.find(part) != std::string::npos;
}

} // namespace

TEST_F(store_failure_test, enqueue_whose_commit_fails_is_refused) {
  db->failing = true;
  auto err = enqueue_error("a");
  EXPECT_EQ(err, errc::store_failure);
  EXPECT_TRUE(contains(message(err), "the job could not be stored"))
    << message(err);
  EXPECT_EQ(db->failed_applies, 1u);
  EXPECT_TRUE(script->calls.empty());
  auto s = stats();
  EXPECT_EQ(s.enqueued_total, 0u);
  EXPECT_EQ(s.waiting, 0u);
  EXPECT_EQ(s.in_flight, 0u);
  EXPECT_TRUE(db->stored().empty());
}

TEST_F(store_failure_test, enqueue_works_again_once_the_store_recovers) {
  db->failing = true;
  enqueue_error("a");
  db->failing = false;
  enqueue("b");
  EXPECT_EQ(call_order(), (std::vector<std::string>{"b"}));
  EXPECT_EQ(stats().enqueued_total, 1u);
  EXPECT_EQ(stats().succeeded_total, 1u);
  EXPECT_TRUE(db->stored().empty()); // put, then ack
}

TEST_F(store_failure_test, lost_ack_is_logged_and_the_queue_keeps_working) {
  script->decide = [](const seen_call&) { return answer::hold; };
  auto id = enqueue("a");
  ASSERT_EQ(db->stored().size(), 1u);
  db->failing = true;
  ::testing::internal::CaptureStderr();
  release(owner, true); // the ack cannot be committed
  auto log = ::testing::internal::GetCapturedStderr();
  EXPECT_TRUE(contains(log, "commit of a batch failed; its writes are lost"))
    << log;
  EXPECT_TRUE(contains(log, "injected failure: disk full")) << log;
  EXPECT_EQ(db->failed_applies, 1u);
  EXPECT_EQ(stats().succeeded_total, 1u);
  // The job stays stored: after a restart it would run again.
  auto left = db->stored();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].job.id, id);
  // The queue goes on: the next job is stored, run and acked.
  db->failing = false;
  script->decide = [](const seen_call&) { return answer::ok; };
  enqueue("b");
  EXPECT_EQ(call_order(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(stats().succeeded_total, 2u);
  left = db->stored();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].job.id, id);
}
