// A FIFO supervisor in a cluster, driven deterministically against a
// scripted node actor: the start-up hold, groups of an away owner kept and
// waiting, handover in order on its return, the settled gate, a group that
// moves after its running attempt, a failed handover, a handover repeated
// after its answer was lost, and forget.

#include "actors/queue_actor.hpp"

#include <algorithm>
#include <memory>

#include "actors/store_actor.hpp"
#include "base/membership.hpp"
#include "failing_store.hpp"
#include "queue_fixture.hpp"

using namespace troupe;
using namespace troupe::testing;
using namespace std::chrono_literals;

namespace {

using names = std::vector<std::string>;

/// What the scripted node actor saw and how it answers handovers.
struct node_script {
  struct handed {
    std::string to;
    job x;
  };
  std::vector<handed> handovers;
  std::vector<handed> forwards;
  /// (to, owners) of each (settled) sent to another member.
  std::vector<std::pair<std::string, names>> settled;
  /// Handovers fail while set (the owner was lost meanwhile).
  bool fail = false;
};

caf::behavior scripted_node(caf::event_based_actor* self,
                            std::shared_ptr<node_script> script) {
  return {
    [self, script](atom::handover, const std::string& to,
                   job& x) -> caf::result<std::string> {
      script->handovers.push_back({to, x});
      if (script->fail)
        return caf::make_error(errc::enqueue_rejected, "node " + to + " lost");
      return x.id;
    },
    [script](atom::fwdenq, const std::string& to, job& x) {
      script->forwards.push_back({to, x});
      return x.id;
    },
    [script](atom::settled, const std::string&, const std::string& to,
             names& owners) {
      script->settled.emplace_back(to, std::move(owners));
    },
    // From the test: tell the queue about the view, as the node actor.
    [self](caf::actor& queue, std::string& me, names& up, names& owners) {
      self->send(queue, atom::members_v, me, up, owners);
    },
  };
}

struct cluster_fifo_test : queue_fixture {
  std::shared_ptr<node_script> node_log = std::make_shared<node_script>();
  caf::actor node = spawn(scripted_node, node_log);

  void start(std::chrono::milliseconds grace = 1000ms,
             store_handle store = {}) {
    auto q = fifo(4, 3, 10);
    queue_links links{{}, std::move(store), grace};
    links.clustered = true;
    spawn_queue(q, links);
  }

  void view(names up, names owners) {
    caf::anon_send(node, queue, std::string{"a"}, std::move(up),
                   std::move(owners));
    run();
  }

  void settle(const std::string& from, names owners) {
    caf::anon_send(caf::actor_cast<queue_actor_type>(queue), atom::settled_v,
                   from, std::move(owners));
    run();
  }

  /// A group name that `owner` owns among `owners`, the `k`-th one.
  static std::string group_of(const std::string& owner, const names& owners,
                              int k = 0) {
    for (int i = 0;; ++i) {
      auto g = "g" + std::to_string(i);
      if (fifo_owner(owners, "q", g) == owner && k-- == 0) return g;
    }
  }

  std::vector<std::string> handed_names(const std::string& to) const {
    std::vector<std::string> out;
    for (auto& h : node_log->handovers)
      if (h.to == to) {
        auto from = h.x.payload.find(R"("n":")") + 5;
        out.push_back(
          h.x.payload.substr(from, h.x.payload.find('"', from) - from));
      }
    return out;
  }

  /// Starts the queue on a store and gives it the view {a, b, c}.
  std::shared_ptr<failing_store> start_durable() {
    auto db = std::make_shared<failing_store>();
    start(1000ms, caf::actor_cast<store_handle>(spawn(store_actor, db)));
    view({"a", "b", "c"}, {"a", "b", "c"});
    return db;
  }

  /// Hands `x` over twice, the second before the store answered the first.
  std::vector<caf::expected<std::string>> hand_over_twice(const job& x) {
    caf::scoped_actor self{sys};
    auto first = self->request(queue, caf::infinite, atom::handover_v, x);
    auto again = self->request(queue, caf::infinite, atom::handover_v, x);
    run();
    std::vector<caf::expected<std::string>> out;
    for (auto* h : {&first, &again})
      h->receive([&](std::string& id) { out.emplace_back(std::move(id)); },
                 [&](caf::error& err) { out.emplace_back(std::move(err)); });
    return out;
  }

  job handover_job(const std::string& name, const std::string& group) {
    auto x = make_job(spec, 1 << 20, "f", payload(name, group));
    EXPECT_TRUE(x);
    return *x;
  }
};

const names abc{"a", "b", "c"};
const names ab{"a", "b"};

} // namespace

TEST_F(cluster_fifo_test, nothing_runs_before_the_first_join_or_the_grace) {
  start(1000ms);
  view({"a"}, {"a"});
  enqueue("1", "x");
  EXPECT_TRUE(script->calls.empty()) << "held before any join";
  advance(999ms);
  EXPECT_TRUE(script->calls.empty());
  advance(1ms);
  EXPECT_EQ(call_order(), (names{"1"}));
}

TEST_F(cluster_fifo_test, groups_run_only_once_every_member_up_settled) {
  start();
  auto mine = group_of("a", abc);
  view(abc, abc);
  enqueue("1", mine);
  EXPECT_TRUE(script->calls.empty()) << "b and c have not settled";
  settle("b", abc);
  settle("c", ab); // under other owners: does not count
  EXPECT_TRUE(script->calls.empty());
  settle("c", abc);
  EXPECT_EQ(call_order(), (names{"1"}));
  // With nothing to hand over, this node settles with both at once.
  ASSERT_EQ(node_log->settled.size(), 2u);
  EXPECT_EQ(node_log->settled[0], (std::pair<std::string, names>{"b", abc}));
  EXPECT_EQ(node_log->settled[1], (std::pair<std::string, names>{"c", abc}));
}

TEST_F(cluster_fifo_test,
       jobs_of_an_away_owner_wait_here_and_go_to_it_in_order) {
  start();
  view({"a", "b"}, abc); // c is down
  settle("b", abc);
  auto theirs = group_of("c", abc);
  auto mine = group_of("a", abc);
  for (auto n : {"1", "2", "3"}) enqueue(n, theirs);
  enqueue("m", mine);
  EXPECT_EQ(call_order(), (names{"m"})) << "c's group does not run here";
  EXPECT_TRUE(node_log->forwards.empty());
  auto s = stats();
  EXPECT_EQ(s.held, 3u);
  EXPECT_EQ(s.waiting, 0u);
  EXPECT_EQ(s.waiting_on, (std::map<std::string, uint64_t>{{"c", 1}}));
  // c is back: its jobs go to it in order, then (settled) tells it so.
  view(abc, abc);
  EXPECT_EQ(handed_names("c"), (names{"1", "2", "3"}));
  EXPECT_EQ(stats().held, 0u);
  ASSERT_FALSE(node_log->settled.empty());
  EXPECT_EQ(node_log->settled.back().first, "c");
  // A new job of the group now goes straight to c, behind them.
  enqueue("4", theirs);
  ASSERT_EQ(node_log->forwards.size(), 1u);
  EXPECT_EQ(node_log->forwards[0].to, "c");
  EXPECT_EQ(call_order(), (names{"m"}));
}

TEST_F(cluster_fifo_test,
       handed_over_jobs_go_behind_older_ones_and_before_fresh_ones) {
  start();
  auto mine = group_of("a", abc);
  view(abc, abc);
  settle("b", abc);
  settle("c", abc);
  script->decide = [](const seen_call&) { return answer::hold; };
  enqueue("old", mine); // runs, held by the worker
  // c restarts (a new view): the gate closes until b and c settled again.
  view({"a", "b"}, abc);
  view(abc, abc);
  release(owner, true);
  enqueue("fresh", mine);
  auto first = handover_job("handed1", mine);
  auto second = handover_job("handed2", mine);
  auto dup = first;
  EXPECT_EQ(ask<std::string>(queue, atom::handover_v, first), first.id);
  EXPECT_EQ(ask<std::string>(queue, atom::handover_v, second), second.id);
  EXPECT_EQ(ask<std::string>(queue, atom::handover_v, dup), first.id)
    << "a job handed over twice is kept once";
  EXPECT_EQ(call_order(), (names{"old"})) << "the gate is closed";
  script->decide = [](const seen_call&) { return answer::ok; };
  settle("b", abc);
  settle("c", abc);
  EXPECT_EQ(call_order(), (names{"old", "handed1", "handed2", "fresh"}));
  EXPECT_EQ(stats().enqueued_total, 2u) << "handed-over jobs count where "
                                           "they were enqueued";
}

TEST_F(cluster_fifo_test,
       a_handover_repeated_after_its_job_ran_is_not_run_again) {
  // The sender lost the link after our commit, so it never saw the receipt:
  // it keeps the job and hands it over again once the link is back.
  start();
  auto mine = group_of("a", abc);
  view(abc, abc);
  settle("b", abc);
  settle("c", abc);
  auto x = handover_job("handed", mine);
  EXPECT_EQ(ask<std::string>(queue, atom::handover_v, x), x.id);
  EXPECT_EQ(call_order(), (names{"handed"}));
  EXPECT_EQ(ask<std::string>(queue, atom::handover_v, x), x.id)
    << "the repeat gets the receipt";
  EXPECT_EQ(call_order(), (names{"handed"})) << "and does not run it again";
  EXPECT_EQ(stats().succeeded_total, 1u);
  EXPECT_EQ(stats().waiting, 0u);
}

TEST_F(cluster_fifo_test,
       a_handover_repeated_before_its_commit_is_stored_once) {
  auto db = start_durable();
  auto x = handover_job("handed", group_of("a", abc));
  for (auto& r : hand_over_twice(x)) {
    ASSERT_TRUE(r) << caf::to_string(r.error());
    EXPECT_EQ(*r, x.id);
  }
  EXPECT_EQ(db->stored().size(), 1u);
  settle("b", abc);
  settle("c", abc);
  EXPECT_EQ(call_order(), (names{"handed"}));
  EXPECT_TRUE(db->stored().empty()) << "acked once it ran";
}

TEST_F(cluster_fifo_test, a_repeat_waiting_on_a_failed_commit_gets_the_error) {
  auto db = start_durable();
  auto x = handover_job("handed", group_of("a", abc));
  db->failing = true;
  for (auto& r : hand_over_twice(x)) {
    ASSERT_FALSE(r) << "receipted " << *r;
    EXPECT_EQ(r.error(), errc::store_failure);
  }
  // The sender keeps the job and tries again later: this time it is taken.
  db->failing = false;
  EXPECT_EQ(ask<std::string>(queue, atom::handover_v, x), x.id);
  EXPECT_EQ(db->stored().size(), 1u);
}

TEST_F(cluster_fifo_test, a_job_handed_on_and_back_runs_when_it_is_back) {
  // A group of ours under {a, b, c} that d wins under {a, b, c, d}.
  const names abcd{"a", "b", "c", "d"};
  std::string g;
  for (int k = 0; g.empty(); ++k) {
    auto c = group_of("a", abc, k);
    if (fifo_owner(abcd, "q", c) == "d") g = c;
  }
  start();
  view(abc, abc); // not settled: the handed-over job waits here
  auto x = handover_job("handed", g);
  EXPECT_EQ(ask<std::string>(queue, atom::handover_v, x), x.id);
  view(abcd, abcd); // d joins and wins the group: the job goes on to d
  EXPECT_EQ(handed_names("d"), (names{"handed"}));
  view(abc, abc); // d is forgotten after it handed the job back
  EXPECT_EQ(ask<std::string>(queue, atom::handover_v, x), x.id);
  settle("b", abc);
  settle("c", abc);
  EXPECT_EQ(call_order(), (names{"handed"})) << "taken again, and run";
}

TEST_F(cluster_fifo_test, a_running_group_moves_after_its_attempt) {
  start();
  view({"a"}, {"a"});
  advance(1000ms); // alone: the hold ends
  script->decide = [](const seen_call&) { return answer::hold; };
  auto moving = group_of("b", ab);
  enqueue("1", moving);
  enqueue("2", moving);
  EXPECT_EQ(call_order(), (names{"1"}));
  // b joins and wins the group while 1 runs here: 2 waits for 1, then goes.
  view(ab, ab);
  EXPECT_TRUE(node_log->handovers.empty());
  EXPECT_TRUE(node_log->settled.empty()) << "not settled with b yet";
  enqueue("3", moving); // behind 2, through this node
  EXPECT_TRUE(node_log->forwards.empty());
  release(owner, true);
  EXPECT_EQ(handed_names("b"), (names{"2", "3"}));
  ASSERT_EQ(node_log->settled.size(), 1u);
  EXPECT_EQ(node_log->settled[0].first, "b");
  EXPECT_EQ(call_order(), (names{"1"}));
}

TEST_F(cluster_fifo_test, a_failed_handover_keeps_the_jobs_here_in_order) {
  start();
  view({"a", "b"}, abc);
  settle("b", abc);
  auto theirs = group_of("c", abc);
  for (auto n : {"1", "2"}) enqueue(n, theirs);
  node_log->fail = true;
  view(abc, abc); // c comes back, and is lost again before it confirms
  EXPECT_EQ(handed_names("c"), (names{"1", "2"}));
  view({"a", "b"}, abc);
  EXPECT_EQ(stats().held, 2u);
  enqueue("3", theirs);
  node_log->fail = false;
  node_log->handovers.clear();
  view(abc, abc);
  EXPECT_EQ(handed_names("c"), (names{"1", "2", "3"}));
  EXPECT_EQ(stats().held, 0u);
}

TEST_F(cluster_fifo_test, a_forgotten_owner_s_groups_run_on_their_new_owners) {
  start();
  view({"a", "b"}, abc);
  settle("b", abc);
  // Groups of c that fall to a once c is gone.
  std::string theirs;
  for (int k = 0; theirs.empty(); ++k) {
    auto g = group_of("c", abc, k);
    if (fifo_owner(ab, "q", g) == "a") theirs = g;
  }
  enqueue("1", theirs);
  enqueue("2", theirs);
  EXPECT_TRUE(script->calls.empty());
  view(ab, ab); // c forgotten
  EXPECT_TRUE(script->calls.empty()) << "b has not settled under {a, b}";
  settle("b", ab);
  EXPECT_EQ(call_order(), (names{"1", "2"}));
  EXPECT_EQ(stats().held, 0u);
}
