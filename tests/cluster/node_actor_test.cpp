// The node and peer actors driven deterministically: the handshake rules
// (what a node refuses and why, what it answers), the member table, a lost
// node failing the calls and FIFO jobs in flight to it at once, the
// supervisors' view of owners, the settled and forget messages between
// nodes. The "remote" nodes are local actors that speak the node protocol.

#include "cluster/node_actor.hpp"

#include <memory>

#include "actors/actor_fixture.hpp"
#include "actors/registry_actor.hpp"
#include "base/membership.hpp"
#include "cluster/cluster_type_ids.hpp"
#include "cluster/peer_actor.hpp"

using namespace troupe;
using namespace troupe::testing;
using namespace std::chrono_literals;

namespace {

using names = std::vector<std::string>;

/// What a fake remote node actor or queue supervisor received.
struct inbox {
  std::vector<caf::message> messages;
  /// Calls held unanswered (a remote node whose worker never answers).
  std::vector<caf::response_promise> held;

  template <class... Ts>
  size_t count() const {
    size_t n = 0;
    for (auto& m : messages)
      if (m.match_elements<Ts...>()) ++n;
    return n;
  }
};

/// Records every message it gets no handler for.
void record_the_rest(caf::event_based_actor* self, std::shared_ptr<inbox> in) {
  self->set_default_handler(
    [in](caf::scheduled_actor*,
         caf::message_view& x) -> caf::result<caf::message> {
      in->messages.push_back(x.copy_content_to_message());
      return caf::message{};
    });
}

/// Stands in for another node's node actor: joins `node` with `h`, records
/// everything (each call of a call_batch as (localcall, invoke)), answers
/// no call, holds every FIFO job (fwdenq) it is sent unanswered, and sends `node` what the test gives it
/// ((fanout, message): relay()), as the remote node actor.
caf::behavior fake_remote(caf::event_based_actor* self,
                          std::shared_ptr<inbox> in, caf::actor node,
                          node_hello h, std::shared_ptr<std::string> outcome) {
  record_the_rest(self, in);
  self->request(node, caf::infinite, atom::hello_v, std::move(h))
    .then([outcome](node_hello& r) { *outcome = "up:" + r.name; },
          [outcome](caf::error& e) { *outcome = error_text(e); });
  return {
    // Calls arrive in batches and are never answered.
    [in](call_batch& b) {
      for (auto& c : b.calls)
        in->messages.push_back(caf::make_message(atom::localcall_v, c.call));
    },
    [self, in](atom::fwdenq, job& x) -> caf::result<std::string> {
      in->messages.push_back(caf::make_message(atom::fwdenq_v, x));
      auto rp = self->make_response_promise<std::string>();
      in->held.push_back(rp);
      return rp;
    },
    [self, node](atom::fanout, caf::message& m) {
      self->send(node, std::move(m));
    },
  };
}

/// A queue supervisor stand-in: records the node actor's messages.
caf::behavior recorder(caf::event_based_actor* self,
                       std::shared_ptr<inbox> in) {
  record_the_rest(self, in);
  return {
    [](atom::drain) {}, // never sent; a behavior needs a handler
  };
}

/// Has fake remote `remote` send `m` to the node under test.
void relay(const caf::actor& remote, caf::message m) {
  caf::anon_send(remote, atom::fanout_v, std::move(m));
}

struct node_actor_test : actor_fixture {
  caf::actor registry = spawn(registry_actor, std::string{"registry"}, nullptr);
  std::shared_ptr<inbox> queue_in = std::make_shared<inbox>();
  caf::actor queue = spawn(recorder, queue_in);
  cluster_config cfg;
  caf::actor node;
  std::vector<queue_config> queues;

  node_actor_test() {
    queue_config q;
    q.name = "orders";
    q.type = queue_type::fifo;
    q.message_group_field = "g";
    queues.push_back(q);
    auto dir = std::make_shared<queue_directory>();
    dir->queues.emplace(q.name, queue_entry{queue, q});
    cfg.enabled = true;
    cfg.name = "a";
    cfg.advertise = "127.0.0.1:1";
    cfg.heartbeat_ms = 200;
    cfg.peer_timeout_ms = 1000;
    cfg.cookie = "secret";
    node = spawn(node_actor, cfg, std::shared_ptr<const queue_directory>{dir},
                 registry);
    run();
  }

  /// A hello from node `name` as the node actor expects it.
  node_hello hello_from(const std::string& name,
                        const std::string& incarnation) const {
    node_hello h;
    h.name = name;
    h.incarnation = incarnation;
    h.advertise = "127.0.0.1:" + std::to_string(100 + name[0]);
    h.config_digest = queue_config_digest(queues);
    h.heartbeat_ms = cfg.heartbeat_ms;
    h.peer_timeout_ms = cfg.peer_timeout_ms;
    h.cookie_proof = cookie_proof(cfg.cookie, incarnation, "");
    return h;
  }

  /// A fake remote named b that joined; null if it was refused.
  caf::actor join_b(std::shared_ptr<inbox> in) {
    auto outcome = std::make_shared<std::string>();
    auto remote = spawn(fake_remote, in, node, hello_from("b", "inc-b"),
                        outcome);
    run();
    EXPECT_EQ(*outcome, "up:a");
    return *outcome == "up:a" ? remote : caf::actor{};
  }

  std::vector<member_info> members() {
    return ask<std::vector<member_info>>(node, atom::members_v);
  }

  /// The last (members, self, up, owners) the supervisor got.
  std::pair<names, names> last_view() const {
    for (auto i = queue_in->messages.rbegin(); i != queue_in->messages.rend();
         ++i)
      if (i->match_elements<atom::members, std::string, names, names>())
        return {i->get_as<names>(2), i->get_as<names>(3)};
    return {};
  }
};

} // namespace

TEST_F(node_actor_test, a_good_hello_is_answered_with_our_own) {
  ASSERT_TRUE(join_b(std::make_shared<inbox>()));
  auto table = members();
  ASSERT_EQ(table.size(), 2u);
  EXPECT_EQ(table[0].name, "a");
  EXPECT_EQ(table[1].name, "b");
  EXPECT_EQ(table[1].incarnation, "inc-b");
  EXPECT_EQ(member_status_from(table[1].status), member_status::up);
  auto [up, owners] = last_view();
  EXPECT_EQ(up, (names{"a", "b"}));
  EXPECT_EQ(owners, (names{"a", "b"}));
}

TEST_F(node_actor_test, the_handshake_refuses_with_the_reason) {
  struct bad_case {
    const char* what;
    std::function<void(node_hello&)> spoil;
  };
  std::vector<bad_case> cases{
    {"cluster protocol", [](node_hello& h) { h.protocol += 1; }},
    {"cookie mismatch", [](node_hello& h) { h.cookie_proof = "x"; }},
    {"different queue configuration",
     [](node_hello& h) { h.config_digest = "0000000000000000"; }},
    {"different heartbeat settings",
     [](node_hello& h) { h.heartbeat_ms = 300; }},
    {"duplicate name", [](node_hello& h) { h.name = "a"; }},
  };
  for (auto& c : cases) {
    auto h = hello_from("b", "inc-b");
    c.spoil(h);
    auto in = std::make_shared<inbox>();
    auto outcome = std::make_shared<std::string>();
    spawn(fake_remote, in, node, h, outcome);
    run();
    EXPECT_NE(outcome->find(c.what), std::string::npos)
      << c.what << ": " << *outcome;
    EXPECT_NE(outcome->find("refused by a"), std::string::npos) << *outcome;
    EXPECT_EQ(outcome->find("secret"), std::string::npos) << "no cookie";
  }
  auto table = members();
  for (size_t i = 1; i < table.size(); ++i) // [0] is this node
    EXPECT_NE(member_status_from(table[i].status), member_status::up)
      << table[i].name;
}

TEST_F(node_actor_test, a_second_live_node_with_a_members_name_is_refused) {
  auto first = std::make_shared<std::string>();
  spawn(fake_remote, std::make_shared<inbox>(), node, hello_from("b", "inc-1"),
        first);
  run();
  ASSERT_EQ(*first, "up:a");
  auto second = std::make_shared<std::string>();
  spawn(fake_remote, std::make_shared<inbox>(), node, hello_from("b", "inc-2"),
        second);
  run();
  EXPECT_NE(second->find("a live node named 'b'"), std::string::npos)
    << *second;
  EXPECT_EQ(members()[1].incarnation, "inc-1");
}

TEST_F(node_actor_test, a_lost_node_fails_calls_and_jobs_in_flight_at_once) {
  auto in = std::make_shared<inbox>();
  auto remote = join_b(in);
  ASSERT_TRUE(remote);
  // b serves "svc": a's registry now has b's peer as its provider.
  fn_update u;
  u.added.push_back({"svc", {}, {}});
  relay(remote, caf::make_message(atom::fnupdate_v, u));
  run();
  std::vector<invoke_result> results;
  std::vector<std::string> job_errors;
  // (The target as an argument: CAF 0.17.6 dereferences a null argument
  // tuple for a function actor spawned without any, which UBSan reports.)
  auto caller = sys.spawn(
    [&](caf::event_based_actor* self, caf::actor target) {
      for (int i = 0; i < 3; ++i) {
        invoke x;
        x.function_id = "svc";
        x.data = "{}";
        x.timeout_ms = 60000;
        self->request(registry, caf::infinite, std::move(x))
          .then([&](invoke_result& r) { results.push_back(r); },
                [&](caf::error& e) {
                  results.push_back(invoke_result::error("err", error_text(e)));
                });
      }
      job j;
      j.id = "j1";
      j.queue = "orders";
      j.group = "g";
      self->request(target, caf::infinite, atom::fwdenq_v, std::string{"b"}, j)
        .then([&](std::string&) { job_errors.push_back("receipted"); },
              [&](caf::error& e) { job_errors.push_back(error_text(e)); });
    },
    node);
  (void)caller;
  run();
  EXPECT_EQ((in->count<atom::localcall, invoke>()), 3u);
  EXPECT_TRUE(results.empty()) << "held by b";
  EXPECT_EQ((in->count<atom::fwdenq, job>()), 1u);
  // b dies: everything in flight fails now, not after a timeout.
  caf::anon_send_exit(remote, caf::exit_reason::kill);
  in->held.clear();
  run();
  ASSERT_EQ(results.size(), 3u);
  for (auto& r : results) {
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.body.find("invocation_stopped"), std::string::npos) << r.body;
  }
  ASSERT_EQ(job_errors.size(), 1u);
  EXPECT_NE(job_errors[0].find("was lost before it confirmed"),
            std::string::npos)
    << job_errors[0];
  EXPECT_EQ(member_status_from(members()[1].status), member_status::down);
  auto [up, owners] = last_view();
  EXPECT_EQ(up, (names{"a"}));
  EXPECT_EQ(owners, (names{"a", "b"})) << "b still owns its groups";
}

TEST_F(node_actor_test, settled_and_handovers_go_through_the_peer_in_order) {
  auto in = std::make_shared<inbox>();
  auto remote = join_b(in);
  ASSERT_TRUE(remote);
  job j;
  j.id = "j1";
  j.queue = "orders";
  j.group = "g";
  // From the local supervisor: a handover, then (settled) for b.
  caf::anon_send(node, atom::handover_v, std::string{"b"}, j);
  caf::anon_send(node, atom::settled_v, std::string{"orders"}, std::string{"b"},
                 names{"a", "b"});
  run();
  ASSERT_EQ((in->count<atom::handover, job>()), 1u);
  ASSERT_EQ((in->count<atom::settled, std::string, names, std::string>()), 1u);
  size_t handover_at = 0;
  size_t settled_at = 0;
  for (size_t i = 0; i < in->messages.size(); ++i) {
    auto& m = in->messages[i];
    if (m.match_elements<atom::handover, job>()) handover_at = i;
    if (m.match_elements<atom::settled, std::string, names, std::string>()) {
      settled_at = i;
      EXPECT_EQ(m.get_as<std::string>(1), "orders");
      EXPECT_EQ(m.get_as<names>(2), (names{"a", "b"}));
      EXPECT_EQ(m.get_as<std::string>(3), "a") << "from a";
    }
  }
  EXPECT_LT(handover_at, settled_at) << "settled follows the handover";
  // From b: (settled) for our supervisor of "orders".
  relay(remote, caf::make_message(atom::settled_v, std::string{"orders"},
                                  names{"a", "b"}, std::string{"b"}));
  run();
  EXPECT_EQ((queue_in->count<atom::settled, std::string, names>()), 1u);
}

TEST_F(node_actor_test, a_member_declared_gone_is_forgotten_everywhere) {
  auto b_in = std::make_shared<inbox>();
  auto c_in = std::make_shared<inbox>();
  auto b_ok = std::make_shared<std::string>();
  auto c_ok = std::make_shared<std::string>();
  auto b = spawn(fake_remote, b_in, node, hello_from("b", "inc-b"), b_ok);
  auto c = spawn(fake_remote, c_in, node, hello_from("c", "inc-c"), c_ok);
  run();
  ASSERT_EQ(*b_ok, "up:a");
  ASSERT_EQ(*c_ok, "up:a");
  invoke up_call;
  up_call.function_id = forget_function_id;
  up_call.data = R"({"node":"c"})";
  auto refused = ask<invoke_result>(node, up_call);
  EXPECT_FALSE(refused.ok);
  EXPECT_NE(refused.body.find("node_is_up"), std::string::npos);
  caf::anon_send_exit(c, caf::exit_reason::kill);
  run();
  EXPECT_EQ(last_view().second, (names{"a", "b", "c"}));
  auto done = ask<invoke_result>(node, up_call);
  EXPECT_TRUE(done.ok) << done.body;
  EXPECT_EQ(last_view().second, (names{"a", "b"}));
  // b, which is up, is told to forget c too.
  EXPECT_EQ((b_in->count<atom::forgetnode, std::string, std::string>()), 1u);
  for (auto& m : members()) EXPECT_NE(m.name, "c");
  // And the other way round: b's operator declares a gone member gone.
  auto d_ok = std::make_shared<std::string>();
  auto d = spawn(fake_remote, std::make_shared<inbox>(), node,
                 hello_from("d", "inc-d"), d_ok);
  run();
  caf::anon_send_exit(d, caf::exit_reason::kill);
  run();
  EXPECT_EQ(last_view().second, (names{"a", "b", "d"}));
  relay(b, caf::make_message(atom::forgetnode_v, std::string{"d"},
                             std::string{"b"}));
  run();
  EXPECT_EQ(last_view().second, (names{"a", "b"}));
}
