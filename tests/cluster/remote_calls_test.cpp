// Tests for calls across nodes, both halves in one process on the test
// coordinator: the peer actor (cluster/peer_actor.hpp) batching calls for
// a remote node actor, played by a fake that records each call_batch and
// answers as the test says; and the node actor (cluster/node_actor.hpp)
// serving a call_batch of a fake peer through a real registry.
#include "cluster/peer_actor.hpp"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/send.hpp>

#include "actors/actor_fixture.hpp"
#include "actors/registry_actor.hpp"
#include "cluster/cluster_type_ids.hpp"
#include "cluster/node_actor.hpp"
#include "protocol/json_member.hpp"

using namespace troupe;
using namespace troupe::testing;

namespace {

/// What a fake remote node actor got.
struct node_log {
  std::vector<call_batch> batches;
};

/// Stands in for the remote node actor: records every call_batch, and
/// sends a result_batch to a peer when the test hands it one, so that the
/// peer sees it come from its node.
caf::behavior fake_node(caf::event_based_actor* self,
                        std::shared_ptr<node_log> log) {
  return {
    [log](call_batch& b) { log->batches.push_back(std::move(b)); },
    [self](caf::actor& peer, result_batch& b) {
      self->send(peer, std::move(b));
    },
  };
}

/// Every answer a caller got, by the `data` of its call.
using answers = std::vector<std::pair<std::string, invoke_result>>;

/// Stands in for the callers of the peer (sessions, delivery actors): the
/// invokes of one message arrive at `target` together, each as a request
/// whose answer is recorded, or as an anonymous send (a Void call) when
/// its data is "void".
caf::behavior caller(caf::event_based_actor* self, caf::actor target,
                     std::shared_ptr<answers> out) {
  return {
    [=](std::vector<invoke>& xs) {
      for (auto& x : xs) {
        if (x.data == "void") {
          caf::anon_send(target, std::move(x));
          continue;
        }
        auto data = x.data;
        self->request(target, caf::infinite, std::move(x))
          .then([out, data](invoke_result& r) { out->emplace_back(data, r); },
                [out, data](caf::error& err) {
                  out->emplace_back(data, engine_error("failed",
                                                       caf::to_string(err)));
                });
      }
    },
  };
}

invoke call_of(const std::string& fn, const std::string& data,
               uint64_t timeout_ms = 0) {
  return invoke{fn, data, {}, {}, {}, timeout_ms};
}

std::string code_of(const invoke_result& r) {
  return protocol::find_member(r.body, "code").value;
}

struct peer_test : actor_fixture {
  caf::actor registry = spawn(registry_actor, std::string{"registry"}, nullptr);
  std::shared_ptr<node_log> log = std::make_shared<node_log>();
  caf::actor node = spawn(fake_node, log);
  caf::actor peer = spawn(peer_actor, std::string{"b"}, node, registry);
  std::shared_ptr<answers> got = std::make_shared<answers>();
  caf::actor callers = spawn(caller, peer, got);

  peer_test() { run(); } // every actor is up and idle

  /// The callers send `xs` to the peer, in this order.
  void send_calls(std::vector<invoke> xs) {
    caf::anon_send(callers, std::move(xs));
  }

  /// The fake node answers the peer with `b`.
  void answer(result_batch b) {
    caf::anon_send(node, peer, std::move(b));
    run();
  }
};

} // namespace

TEST_F(peer_test, calls_of_one_mailbox_drain_travel_in_one_batch) {
  send_calls({call_of("f", "1"), call_of("f", "2"), call_of("f", "void"),
              call_of("g", "3")});
  run();
  ASSERT_EQ(log->batches.size(), 1u);
  auto& calls = log->batches[0].calls;
  ASSERT_EQ(calls.size(), 4u);
  std::vector<std::string> order;
  for (auto& c : calls) order.push_back(c.call.data);
  EXPECT_EQ(order, (std::vector<std::string>{"1", "2", "void", "3"}));
  EXPECT_TRUE(calls[0].reply);
  EXPECT_FALSE(calls[2].reply);
  EXPECT_EQ(calls[3].call.function_id, "g");

  // Answered out of order, each answer reaches its own caller.
  answer(result_batch{{call_result{calls[3].id, invoke_result{true, "3"}},
                       call_result{calls[0].id, invoke_result{true, "1"}},
                       call_result{calls[1].id, invoke_result{true, "2"}}},
                      {}});
  ASSERT_EQ(got->size(), 3u);
  for (auto& [data, r] : *got) {
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(r.body, data);
  }
  EXPECT_TRUE(sched.has_pending_timeout()) << "the sweep stays armed";
  advance(std::chrono::seconds(2));
  EXPECT_EQ(got->size(), 3u);

  // The next drain is the next batch.
  send_calls({call_of("f", "4")});
  run();
  EXPECT_EQ(log->batches.size(), 2u);
}

TEST_F(peer_test, node_loss_fails_every_batched_call_at_once) {
  send_calls({call_of("f", "1"), call_of("f", "2")});
  run();
  ASSERT_EQ(log->batches.size(), 1u);
  answer(result_batch{
    {call_result{log->batches[0].calls[0].id, invoke_result{true, "1"}}}, {}});
  caf::anon_send_exit(node, caf::exit_reason::kill);
  run();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].first, "1");
  EXPECT_TRUE((*got)[0].second.ok);
  EXPECT_EQ((*got)[1].first, "2");
  EXPECT_EQ(code_of((*got)[1].second), "invocation_stopped");
  EXPECT_NE((*got)[1].second.body.find("node b is gone"), std::string::npos);
}

TEST_F(peer_test, a_stopped_peer_fails_its_calls_at_once) {
  // Stopped by the node actor (a new incarnation of b, or the engine
  // stops) while both calls are in flight.
  send_calls({call_of("f", "1"), call_of("f", "2")});
  run();
  ASSERT_EQ(log->batches.size(), 1u);
  caf::anon_send_exit(peer, caf::exit_reason::user_shutdown);
  run();
  ASSERT_EQ(got->size(), 2u);
  for (auto& [data, r] : *got)
    EXPECT_EQ(code_of(r), "invocation_stopped") << data;
}

TEST_F(peer_test, a_call_nobody_answers_times_out_a_second_after_its_caller) {
  send_calls({call_of("f", "slow", 500), call_of("f", "open")});
  run();
  ASSERT_EQ(log->batches.size(), 1u);
  advance(std::chrono::seconds(1));
  EXPECT_TRUE(got->empty()) << "not before the caller's timeout + 1 s";
  advance(std::chrono::seconds(1));
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].first, "slow");
  EXPECT_EQ(code_of((*got)[0].second), "timeout");
  EXPECT_EQ(protocol::find_member((*got)[0].second.body, "message").value,
            "Invocation of f timed out after 500 ms");
  // A late answer finds nothing; the call without a limit still waits.
  auto& calls = log->batches[0].calls;
  answer(
    result_batch{{call_result{calls[0].id, invoke_result{true, "late"}}}, {}});
  EXPECT_EQ(got->size(), 1u);
  answer(
    result_batch{{call_result{calls[1].id, invoke_result{true, "ok"}}}, {}});
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[1].second.body, "ok");
}

TEST_F(peer_test,
       refused_calls_go_to_another_provider_and_the_node_is_withdrawn) {
  auto script = std::make_shared<owner_script>();
  auto local = spawn(scripted_owner, script);
  caf::anon_send(peer, atom::fnupdate_v,
                 fn_update{{function_info_msg{"f", {}, {}}}, {}});
  caf::anon_send(registry, register_function{"f", local, {}, {}, {}});
  send_calls({call_of("f", "1"), call_of("f", "2")});
  run();
  ASSERT_EQ(log->batches.size(), 1u);
  auto calls = log->batches[0].calls;
  answer(result_batch{{call_result{calls[0].id, invoke_result{true, "b"}}},
                      {calls[1]}});
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].second.body, "b");
  EXPECT_EQ((*got)[1].first, "2");
  EXPECT_EQ((*got)[1].second.body, R"({"done":true})");
  ASSERT_EQ(script->calls.size(), 1u);
  EXPECT_EQ(script->calls[0].data, "2");
  auto providers = ask<std::vector<std::string>>(registry, atom::providers_v,
                                                 std::string{"f"});
  EXPECT_EQ(providers.size(), 1u) << "only the local provider is left";
}

TEST_F(peer_test, results_from_another_actor_are_ignored) {
  send_calls({call_of("f", "1")});
  run();
  ASSERT_EQ(log->batches.size(), 1u);
  auto stranger = spawn(fake_node, std::make_shared<node_log>());
  caf::anon_send(stranger, peer,
                 result_batch{{call_result{log->batches[0].calls[0].id,
                                           invoke_result{true, "forged"}}},
                              {}});
  run();
  EXPECT_TRUE(got->empty());
}

namespace {

/// What a fake peer got from the node actor.
struct peer_log {
  std::vector<result_batch> batches;
};

/// Stands in for a peer actor of another node: sends the node actor the
/// call_batches the test hands it and records the answers.
caf::behavior fake_peer_of(caf::event_based_actor* self, caf::actor node,
                           std::shared_ptr<peer_log> log) {
  return {
    [=](call_batch& b) { self->send(node, std::move(b)); },
    [log](result_batch& b) { log->batches.push_back(std::move(b)); },
  };
}

struct serving_node_test : actor_fixture {
  caf::actor registry = spawn(registry_actor, std::string{"registry"}, nullptr);
  std::shared_ptr<owner_script> script = std::make_shared<owner_script>();
  caf::actor owner = spawn(scripted_owner, script);
  caf::actor node = spawn(node_actor, cluster_config{},
                          std::make_shared<const queue_directory>(), registry);
  std::shared_ptr<peer_log> log = std::make_shared<peer_log>();
  caf::actor peer = spawn(fake_peer_of, node, log);

  serving_node_test() {
    caf::anon_send(registry, register_function{"f", owner, {}, {}, {}});
    run();
  }

  static remote_call sync(uint64_t id, const std::string& data) {
    return remote_call{id, true, call_of("f", data)};
  }
};

} // namespace

TEST_F(serving_node_test, answers_of_one_drain_go_back_in_one_batch) {
  script->decide = [](const seen_call& c) {
    return c.data == "2" ? answer::fail : answer::ok;
  };
  caf::anon_send(
    peer,
    call_batch{{sync(1, "1"), remote_call{0, false, call_of("f", "v")},
                sync(2, "2"), remote_call{3, true, call_of("nobody", "3")}}});
  run();
  ASSERT_EQ(script->calls.size(), 3u);
  EXPECT_EQ(script->calls[1].data, "v") << "the Void call ran in its place";
  ASSERT_EQ(log->batches.size(), 1u) << "one answer batch for the drain";
  auto& results = log->batches[0].results;
  ASSERT_EQ(results.size(), 3u) << "none for the Void call";
  std::map<uint64_t, invoke_result> by_id;
  for (auto& r : results) by_id[r.id] = r.result;
  EXPECT_TRUE(by_id[1].ok);
  EXPECT_EQ(code_of(by_id[2]), "invocation_failed");
  EXPECT_EQ(code_of(by_id[3]), "function_not_found");
  EXPECT_TRUE(log->batches[0].refused.empty());
}

TEST_F(serving_node_test, drain_waits_for_the_calls_and_their_answers) {
  script->decide = [](const seen_call&) { return answer::hold; };
  caf::anon_send(peer, call_batch{{sync(1, "1"), sync(2, "2")}});
  run();
  auto drained = std::make_shared<bool>(false);
  // (The target as an argument: CAF 0.17.6 dereferences a null argument
  // tuple for a function actor spawned without any, which UBSan reports.)
  spawn(
    [=](caf::event_based_actor* self, caf::actor target) -> caf::behavior {
      self->request(target, caf::infinite, atom::drain_v).then([=] {
        *drained = true;
      });
      return {[](int32_t) {}};
    },
    node);
  run();
  EXPECT_FALSE(*drained);
  release(owner, true);
  EXPECT_FALSE(*drained);
  ASSERT_EQ(log->batches.size(), 1u);
  EXPECT_EQ(log->batches[0].results.size(), 1u);
  release(owner, true);
  EXPECT_TRUE(*drained);
  ASSERT_EQ(log->batches.size(), 2u) << "the last answer left at once";
  EXPECT_EQ(log->batches[1].results.size(), 1u);
}

TEST_F(serving_node_test, a_leaving_node_hands_new_calls_back_as_refused) {
  caf::anon_send(node, atom::bye_v); // from the engine: leave
  run();
  caf::anon_send(peer, call_batch{{sync(1, "1"),
                                   remote_call{0, false, call_of("f", "v")},
                                   sync(2, "2")}});
  run();
  ASSERT_EQ(script->calls.size(), 1u) << "only the Void call ran";
  EXPECT_EQ(script->calls[0].data, "v");
  ASSERT_EQ(log->batches.size(), 1u);
  EXPECT_TRUE(log->batches[0].results.empty());
  auto& refused = log->batches[0].refused;
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(refused[0].id, 1u);
  EXPECT_EQ(refused[1].id, 2u);
  EXPECT_EQ(refused[1].call.data, "2");
}
