// The job_store contract, run against both implementations: the memory store
// and the SQLite store (in a fresh directory per test).

#include "store/job_count.hpp"
#include "store/job_store.hpp"

#include "store_fixture.hpp"

using namespace troupe;
using namespace troupe::store;
using namespace troupe::store::testing;
using kind = store_write::kind;

namespace {

enum class backend { memory, sqlite };

class job_store_test : public ::testing::TestWithParam<backend>,
                       public store_fixture {
protected:
  void SetUp() override {
    if (GetParam() == backend::memory)
      store = make_memory_store();
    else
      open_sqlite();
  }

  /// Closes and reopens a SQLite store; a memory store just stays.
  void reopen() {
    if (GetParam() == backend::sqlite) open_sqlite();
  }
};

const char* to_string(backend x) {
  return x == backend::memory ? "memory" : "sqlite";
}

void PrintTo(backend x, std::ostream* out) { *out << to_string(x); }

std::string backend_name(const ::testing::TestParamInfo<backend>& x) {
  return to_string(x.param);
}

INSTANTIATE_TEST_SUITE_P(both, job_store_test,
                         ::testing::Values(backend::memory, backend::sqlite),
                         backend_name);

TEST_P(job_store_test, empty_store_holds_nothing) {
  EXPECT_TRUE(stored().empty());
  auto n = store->count();
  ASSERT_TRUE(n);
  EXPECT_EQ(n->waiting + n->delayed + n->dead, 0u);
  auto size = count_stored_jobs(*store);
  ASSERT_TRUE(size);
  EXPECT_EQ(*size, 0u);
  EXPECT_TRUE(apply({}).empty());
}

TEST_P(job_store_test, put_assigns_increasing_seqs) {
  std::vector<store_write> batch{put(make_job("a")), put(make_job("b"))};
  auto first = store->apply(batch);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 2u);
  EXPECT_LT(first->at(0), first->at(1));
  auto second = apply({put(make_job("c"))});
  ASSERT_EQ(second.size(), 1u);
  EXPECT_GT(second[0], first->at(1));
  EXPECT_EQ(find("c").seq, second[0]);
}

TEST_P(job_store_test, put_stores_every_field_as_waiting) {
  auto x = make_job("a", "q", "g");
  x.payload = std::string{"{\"s\":\"\xc3\xa9\\n\"}\0tail", 16}
              + std::string(1 << 20, 'x');
  x.attempts = 2;
  x.last_error = R"({"code":"E"})";
  x.failed_at = 6;
  auto seqs = apply({put(x, 5)});
  ASSERT_EQ(seqs.size(), 1u);
  EXPECT_EQ(find("a"), (stored_job{x, seqs[0], job_state::waiting, 5}));
}

TEST_P(job_store_test, for_each_job_visits_in_seq_order) {
  apply({put(make_job("b1", "b")), put(make_job("a1", "a"))});
  apply({put(make_job("b2", "b")), put(make_job("a2", "a", "g"))});
  apply({put(make_job("a3", "a"))});
  EXPECT_EQ(ids(), (std::vector<std::string>{"b1", "a1", "b2", "a2", "a3"}));
}

TEST_P(job_store_test, ack_and_discard_delete) {
  apply({put(make_job("a")), put(make_job("b")), put(make_job("c"))});
  apply({write_to(kind::ack, "a")});
  apply({write_to(kind::dead, "c", 3, 0, "e", 9)});
  apply({write_to(kind::discard, "c")});
  EXPECT_EQ(ids(), (std::vector<std::string>{"b"}));
}

TEST_P(job_store_test, adopt_inserts_once_and_keeps_the_stored_job) {
  auto x = make_job("a", "q", "g");
  x.attempts = 1;
  apply({write_to(kind::ack, "none")});
  auto adopt = [](troupe::job j) { return make_write(kind::adopt, j); };
  auto first = apply({adopt(x)});
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(find("a"), (stored_job{x, first[0], job_state::waiting, 0}));
  // Again, with other fields, in a batch with a put: a no-op that fails
  // nothing.
  auto again = x;
  again.attempts = 5;
  again.payload = "{}";
  apply({write_to(kind::dead, "a", 3, 0, "e", 9)});
  auto dead = find("a");
  auto second = apply({adopt(again), put(make_job("b"))});
  EXPECT_EQ(second.size(), 2u);
  EXPECT_EQ(find("a"), dead);
  EXPECT_EQ(ids(), (std::vector<std::string>{"a", "b"}));
  reopen();
  EXPECT_EQ(find("a"), dead);
}

TEST_P(job_store_test, retry_sets_attempts_due_at_and_error) {
  apply({put(make_job("a"))});
  auto before = find("a");
  apply({write_to(kind::retry, "a", 1, 1234, R"({"code":"x"})", 77)});
  auto x = before;
  x.job.attempts = 1;
  x.job.last_error = R"({"code":"x"})";
  x.state = job_state::delayed;
  x.due_at = 1234;
  EXPECT_EQ(find("a"), x); // failed_at untouched
}

TEST_P(job_store_test, dead_sets_attempts_error_and_failed_at) {
  apply({put(make_job("a"))});
  apply({write_to(kind::retry, "a", 1, 1234, "first")});
  auto before = find("a");
  apply({write_to(kind::dead, "a", 2, 99, "second", 5678)});
  auto x = before;
  x.job.attempts = 2;
  x.job.last_error = "second";
  x.job.failed_at = 5678;
  x.state = job_state::dead;
  EXPECT_EQ(find("a"), x); // due_at untouched
}

TEST_P(job_store_test, requeue_resets_and_moves_behind_later_jobs) {
  apply({put(make_job("a", "q", "g")), put(make_job("b", "q", "g"))});
  apply({put(make_job("c", "q", "g"))});
  apply({write_to(kind::dead, "a", 3, 0, "boom", 42)});
  std::vector<store_write> batch{write_to(kind::requeue, "a", 7, 8, "x", 9)};
  ASSERT_TRUE(store->apply(batch));
  auto x = find("a");
  EXPECT_GT(x.seq, find("c").seq);
  EXPECT_EQ(x.state, job_state::waiting);
  EXPECT_EQ(x.job.attempts, 0u);
  EXPECT_EQ(x.due_at, 0);
  EXPECT_EQ(x.job.last_error, "");
  EXPECT_EQ(x.job.failed_at, 0);
  EXPECT_EQ(x.job.payload, make_job("a").payload);
  EXPECT_EQ(ids(), (std::vector<std::string>{"b", "c", "a"}));
}

TEST_P(job_store_test, writes_to_unknown_ids_are_noops) {
  apply({put(make_job("a"))});
  auto before = stored();
  for (auto op :
       {kind::ack, kind::retry, kind::dead, kind::requeue, kind::discard})
    apply({write_to(op, "nope", 1, 2, "e", 3)});
  EXPECT_EQ(stored(), before);
}

TEST_P(job_store_test, batch_mixing_all_kinds_applies_in_order) {
  apply({put(make_job("a")), put(make_job("b")), put(make_job("c"))});
  apply({write_to(kind::dead, "c", 1, 0, "e", 3)});
  auto seqs = apply({put(make_job("d")), write_to(kind::ack, "a"),
                     write_to(kind::retry, "b", 1, 50, "late"),
                     write_to(kind::requeue, "c"), put(make_job("e")),
                     write_to(kind::dead, "d", 4, 0, "gone", 60),
                     write_to(kind::discard, "d"), put(make_job("a"))});
  ASSERT_EQ(seqs.size(), 3u);
  EXPECT_EQ(ids(), (std::vector<std::string>{"b", "c", "e", "a"}));
  EXPECT_EQ(find("b").state, job_state::delayed);
  EXPECT_EQ(find("b").due_at, 50);
  EXPECT_EQ(find("c").state, job_state::waiting);
  EXPECT_EQ(find("a").seq, seqs[2]);
  auto n = store->count();
  ASSERT_TRUE(n);
  EXPECT_EQ(n->waiting, 3u);
  EXPECT_EQ(n->delayed, 1u);
  EXPECT_EQ(n->dead, 0u);
  auto size = count_stored_jobs(*store);
  ASSERT_TRUE(size);
  EXPECT_EQ(*size, 4u);
}

TEST_P(job_store_test, failed_batch_changes_nothing) {
  auto old_seqs = apply({put(make_job("a"))});
  auto before = stored();
  std::vector<store_write> batch{put(make_job("b")),
                                 write_to(kind::retry, "a", 1, 2, "e"),
                                 write_to(kind::requeue, "a"),
                                 put(make_job("a"))};
  auto x = store->apply(batch);
  ASSERT_FALSE(x);
  EXPECT_EQ(x.error(), errc::store_failure);
  EXPECT_NE(message(x.error()).find("put of job a"), std::string::npos)
    << message(x.error());
  EXPECT_EQ(stored(), before);
  reopen();
  EXPECT_EQ(stored(), before);
  auto seqs = apply({put(make_job("b"))});
  ASSERT_EQ(seqs.size(), 1u);
  EXPECT_GT(seqs[0], old_seqs[0]);
  EXPECT_EQ(ids(), (std::vector<std::string>{"a", "b"}));
}

TEST_P(job_store_test, seq_keeps_growing_after_reopen) {
  auto old_seqs = apply({put(make_job("a")), put(make_job("b"))});
  apply({write_to(kind::ack, "b")}); // deletes the newest seq
  auto before = stored();
  reopen();
  EXPECT_EQ(stored(), before);
  auto seqs = apply({put(make_job("c"))});
  ASSERT_EQ(seqs.size(), 1u);
  EXPECT_GT(seqs[0], old_seqs[1]);
  EXPECT_EQ(ids(), (std::vector<std::string>{"a", "c"}));
}

TEST_P(job_store_test, count_counts_each_state) {
  apply({put(make_job("a")), put(make_job("b")), put(make_job("c")),
         put(make_job("d"))});
  apply({write_to(kind::retry, "b", 1, 10, "e"),
         write_to(kind::dead, "c", 3, 0, "e", 20),
         write_to(kind::dead, "d", 3, 0, "e", 20)});
  auto n = store->count();
  ASSERT_TRUE(n);
  EXPECT_EQ(n->waiting, 1u);
  EXPECT_EQ(n->delayed, 1u);
  EXPECT_EQ(n->dead, 2u);
}

} // namespace

TEST(make_write, only_a_put_copies_the_payload) {
  auto x = make_job("a");
  x.attempts = 2;
  x.last_error = "e";
  x.failed_at = 7;
  auto p = make_write(kind::put, x, 5);
  EXPECT_EQ(p.job.payload, x.payload);
  EXPECT_EQ(p.due_at, 5);
  for (auto op :
       {kind::ack, kind::retry, kind::dead, kind::requeue, kind::discard}) {
    auto w = make_write(op, x, 5);
    EXPECT_EQ(w.op, op);
    EXPECT_EQ(w.job.id, "a");
    EXPECT_TRUE(w.job.payload.empty()) << to_string(op);
    EXPECT_TRUE(w.job.function_id.empty()) << to_string(op);
  }
  auto r = make_write(kind::retry, x, 5);
  EXPECT_EQ(r.job.attempts, 2u);
  EXPECT_EQ(r.job.last_error, "e");
  EXPECT_EQ(r.due_at, 5);
}

TEST_P(job_store_test, pause_and_resume_are_kept_per_queue) {
  apply({put(make_job("a", "q"))});
  auto before = stored();
  apply({make_pause_write("q", true), make_pause_write("r", true),
         make_pause_write("b", true)});
  apply({make_pause_write("b", false)});
  reopen();
  auto paused = store->paused_queues();
  ASSERT_TRUE(paused) << message(paused.error());
  EXPECT_EQ(*paused, (std::vector<std::string>{"q", "r"}));
  EXPECT_EQ(stored(), before); // no job touched
  // Pausing twice, or resuming a queue that is not paused, is fine.
  apply({make_pause_write("q", true), make_pause_write("x", false)});
  reopen();
  EXPECT_EQ(*store->paused_queues(), (std::vector<std::string>{"q", "r"}));
}

TEST_P(job_store_test, pause_in_a_failed_batch_is_not_kept) {
  apply({put(make_job("a"))});
  auto x = store->apply({make_pause_write("q", true), put(make_job("a"))});
  EXPECT_FALSE(x);
  reopen();
  EXPECT_TRUE(store->paused_queues()->empty());
}
