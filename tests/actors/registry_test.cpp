// The registry's rules, driven deterministically: several providers per
// function (local ones first, round-robin), departures, the cluster hooks
// (localcall, watch, providers) and a worker's reconnect.

#include "actors/registry_actor.hpp"

#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <caf/send.hpp>

#include "actor_fixture.hpp"
#include "protocol/json_member.hpp"

using namespace troupe;
using namespace troupe::testing;

namespace {

using ids = std::vector<std::string>;

/// Every (fnupdate, added, removed) a watcher got, in order.
struct update_log {
  std::vector<std::pair<ids, ids>> updates;
};

caf::behavior recording_watcher(caf::event_based_actor*,
                                std::shared_ptr<update_log> log) {
  return {
    [log](atom::fnupdate, ids& added, ids& removed) {
      log->updates.emplace_back(std::move(added), std::move(removed));
    },
  };
}

/// Provides trigger type "cron": accepts every trigger, records removals.
caf::behavior cron_provider(caf::event_based_actor*,
                            std::shared_ptr<ids> removed) {
  return {
    [](const register_trigger&) {},
    [removed](const unregister_trigger& x) { removed->push_back(x.id); },
  };
}

struct registry_test : actor_fixture {
  caf::actor registry = spawn(registry_actor, std::string{"registry"});
  std::shared_ptr<owner_script> script_a = std::make_shared<owner_script>();
  std::shared_ptr<owner_script> script_b = std::make_shared<owner_script>();
  std::shared_ptr<owner_script> script_c = std::make_shared<owner_script>();
  caf::actor a = spawn(scripted_owner, script_a);
  caf::actor b = spawn(scripted_owner, script_b);
  caf::actor c = spawn(scripted_owner, script_c);

  /// `owner` provides `id`; `node` empty for a local provider.
  void reg(const std::string& id, const caf::actor& owner,
           const std::string& node = {}) {
    caf::anon_send(registry, register_function{id, owner, {}, {}, node});
    run();
  }

  void unreg(const std::string& id, const caf::actor& owner) {
    caf::anon_send(registry, unregister_function{id, owner});
    run();
  }

  invoke_result call(const std::string& id) {
    return ask<invoke_result>(registry,
                              invoke{id, R"({"x":1})", {}, {}, {}, 0});
  }

  invoke_result localcall(const std::string& id) {
    return ask<invoke_result>(registry, atom::localcall_v,
                              invoke{id, R"({"x":1})", {}, {}, {}, 0});
  }

  ids providers(const std::string& id) {
    return ask<ids>(registry, atom::providers_v, id);
  }

  std::string error_code(const invoke_result& r) {
    return protocol::find_member(r.body, "code").value;
  }

  std::shared_ptr<update_log> watch() {
    auto log = std::make_shared<update_log>();
    caf::anon_send(registry, atom::watch_v, spawn(recording_watcher, log));
    run();
    return log;
  }

  void kill(const caf::actor& x) {
    caf::anon_send_exit(x, caf::exit_reason::kill);
    run();
  }
};

} // namespace

TEST_F(registry_test, invoke_reaches_the_owner_and_its_answer_the_caller) {
  reg("math::add", a);
  auto r = call("math::add");
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.body, R"({"done":true})");
  ASSERT_EQ(script_a->calls.size(), 1u);
  EXPECT_EQ(script_a->calls[0].data, R"({"x":1})");
}

TEST_F(registry_test, unknown_function_is_function_not_found) {
  auto r = call("nope");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(error_code(r), "function_not_found");
  EXPECT_EQ(protocol::find_member(r.body, "message").value,
            "Function nope not found");
}

TEST_F(registry_test, trigger_of_an_unprovided_type_is_rejected) {
  caf::scoped_actor self{sys};
  auto h = self->request(registry, caf::infinite,
                         register_trigger{"t1", "cron", "f", "{}", {}, a, {}});
  run();
  std::string why;
  h.receive([] { ADD_FAILURE() << "accepted"; },
            [&](caf::error& err) { why = error_text(err); });
  EXPECT_NE(why.find("trigger type 'cron' is not provided"), std::string::npos)
    << why;
}

TEST_F(registry_test, list_names_every_function) {
  reg("b::f", a);
  reg("a::f", b);
  auto ids = ask<std::vector<std::string>>(registry, atom::list_v);
  EXPECT_EQ(ids, (std::vector<std::string>{"a::f", "b::f"}));
}

TEST_F(registry_test, the_typed_handle_reaches_the_same_registry) {
  auto typed = caf::actor_cast<registry_actor_type>(registry);
  caf::anon_send(typed, register_function{"f", a, {}, {}, {}});
  run();
  caf::scoped_actor self{sys};
  auto h = self->request(typed, caf::infinite, atom::providers_v,
                         std::string{"f"});
  run();
  h.receive([](ids& xs) { EXPECT_EQ(xs, ids{""}); },
            [](caf::error& err) { ADD_FAILURE() << caf::to_string(err); });
}

// -- several providers --------------------------------------------------------

TEST_F(registry_test, calls_take_turns_over_the_local_providers) {
  reg("f", a);
  reg("f", b);
  reg("f", c);
  for (int i = 0; i < 30; ++i) EXPECT_TRUE(call("f").ok);
  EXPECT_EQ(script_a->calls.size(), 10u);
  EXPECT_EQ(script_b->calls.size(), 10u);
  EXPECT_EQ(script_c->calls.size(), 10u);
}

TEST_F(registry_test, a_removed_provider_does_not_skip_the_next_ones_turn) {
  reg("f", a);
  reg("f", b);
  reg("f", c);
  call("f"); // a; b's turn is next
  unreg("f", a);
  call("f");
  EXPECT_EQ(script_b->calls.size(), 1u);
  EXPECT_TRUE(script_c->calls.empty());
}

TEST_F(registry_test, a_local_provider_comes_before_remote_ones) {
  reg("f", b, "node-b");
  reg("f", a);
  reg("f", c, "node-c");
  for (int i = 0; i < 6; ++i) call("f");
  EXPECT_EQ(script_a->calls.size(), 6u);
  EXPECT_TRUE(script_b->calls.empty());
  EXPECT_TRUE(script_c->calls.empty());
}

TEST_F(registry_test, remote_providers_take_turns_when_no_local_one_is_left) {
  reg("f", a);
  reg("f", b, "node-b");
  reg("f", c, "node-c");
  unreg("f", a);
  for (int i = 0; i < 6; ++i) EXPECT_TRUE(call("f").ok);
  EXPECT_TRUE(script_a->calls.empty());
  EXPECT_EQ(script_b->calls.size(), 3u);
  EXPECT_EQ(script_c->calls.size(), 3u);
}

TEST_F(registry_test, registering_again_updates_and_adds_no_provider) {
  reg("f", a);
  reg("f", a);
  EXPECT_EQ(providers("f"), ids{""});
  unreg("f", a);
  EXPECT_EQ(error_code(call("f")), "function_not_found");
}

TEST_F(registry_test, unregister_removes_only_that_provider) {
  reg("f", a);
  reg("f", b);
  unreg("f", a);
  unreg("f", a); // not a provider any more: ignored
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(call("f").ok);
  EXPECT_TRUE(script_a->calls.empty());
  EXPECT_EQ(script_b->calls.size(), 3u);
  unreg("f", b);
  EXPECT_EQ(error_code(call("f")), "function_not_found");
}

TEST_F(registry_test, a_departing_provider_leaves_the_others_serving) {
  reg("shared", a);
  reg("only_a", a);
  reg("shared", b);
  reg("shared", c, "node-c");
  kill(a);
  EXPECT_EQ(error_code(call("only_a")), "function_not_found");
  EXPECT_EQ(providers("shared"), (ids{"", "node-c"}));
  for (int i = 0; i < 2; ++i) EXPECT_TRUE(call("shared").ok);
  EXPECT_EQ(script_b->calls.size(), 2u);
  kill(b);
  EXPECT_TRUE(call("shared").ok);
  EXPECT_EQ(script_c->calls.size(), 1u);
}

TEST_F(registry_test, providers_names_the_node_of_each_local_ones_first) {
  reg("f", b, "node-b");
  reg("f", a);
  EXPECT_EQ(providers("f"), (ids{"", "node-b"}));
  EXPECT_EQ(providers("nope"), ids{});
}

// -- cluster hooks ------------------------------------------------------------

TEST_F(registry_test, localcall_never_goes_to_a_remote_provider) {
  reg("f", b, "node-b");
  EXPECT_EQ(error_code(localcall("f")), "function_not_found");
  EXPECT_TRUE(call("f").ok);
  EXPECT_EQ(script_b->calls.size(), 1u);
  reg("f", a);
  reg("f", c);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(localcall("f").ok);
  EXPECT_EQ(script_a->calls.size(), 2u);
  EXPECT_EQ(script_c->calls.size(), 2u);
  EXPECT_EQ(script_b->calls.size(), 1u);
}

TEST_F(registry_test, a_watcher_gets_a_snapshot_of_local_worker_functions) {
  reg("engine::queue::stats", a);
  reg("iii::queue::redrive", a);
  reg("shop::b", a);
  reg("shop::a", b);
  reg("remote::f", c, "node-c");
  auto log = watch();
  ASSERT_EQ(log->updates.size(), 1u);
  EXPECT_EQ(log->updates[0].first, (ids{"shop::a", "shop::b"}));
  EXPECT_EQ(log->updates[0].second, ids{});
}

TEST_F(registry_test, an_empty_registry_still_sends_a_snapshot) {
  auto log = watch();
  ASSERT_EQ(log->updates.size(), 1u);
  EXPECT_TRUE(log->updates[0].first.empty());
  EXPECT_TRUE(log->updates[0].second.empty());
}

TEST_F(registry_test, a_watcher_hears_of_first_and_last_local_providers) {
  auto log = watch();
  reg("f", a);
  ASSERT_EQ(log->updates.size(), 2u);
  EXPECT_EQ(log->updates[1].first, ids{"f"});
  // A second local provider, a remote one, engine ids: nothing to tell.
  reg("f", b);
  reg("f", c, "node-c");
  reg("g", c, "node-c");
  reg("engine::x", a);
  EXPECT_EQ(log->updates.size(), 2u);
  unreg("f", a);
  EXPECT_EQ(log->updates.size(), 2u);
  kill(b); // the last local provider of f: remote c is not announced
  ASSERT_EQ(log->updates.size(), 3u);
  EXPECT_EQ(log->updates[2].first, ids{});
  EXPECT_EQ(log->updates[2].second, ids{"f"});
}

TEST_F(registry_test, changes_of_one_mailbox_drain_come_in_one_update) {
  auto log = watch();
  for (auto id : {"f", "g", "h"})
    caf::anon_send(registry, register_function{id, a, {}, {}, {}});
  caf::anon_send(registry, unregister_function{"g", a});
  run();
  ASSERT_EQ(log->updates.size(), 2u);
  EXPECT_EQ(log->updates[1].first, (ids{"f", "h"}));
  EXPECT_EQ(log->updates[1].second, ids{});
  kill(a);
  ASSERT_EQ(log->updates.size(), 3u);
  EXPECT_EQ(log->updates[2].second, (ids{"f", "h"}));
}

TEST_F(registry_test, a_late_watcher_catches_up_with_the_others) {
  auto first = watch();
  caf::anon_send(registry, register_function{"f", a, {}, {}, {}});
  auto second = std::make_shared<update_log>();
  caf::anon_send(registry, atom::watch_v, spawn(recording_watcher, second));
  caf::anon_send(registry, register_function{"g", a, {}, {}, {}});
  run();
  // Snapshot, then the same deltas as everyone: both know f and g.
  auto known = [](const update_log& log) {
    std::set<std::string> xs;
    for (auto& [added, removed] : log.updates) {
      xs.insert(added.begin(), added.end());
      for (auto& x : removed) xs.erase(x);
    }
    return xs;
  };
  EXPECT_EQ(known(*first), (std::set<std::string>{"f", "g"}));
  EXPECT_EQ(known(*second), (std::set<std::string>{"f", "g"}));
}

TEST_F(registry_test, a_dead_watcher_is_forgotten) {
  auto dead = std::make_shared<update_log>();
  auto w = spawn(recording_watcher, dead);
  caf::anon_send(registry, atom::watch_v, w);
  run();
  kill(w);
  auto alive = watch();
  reg("f", a);
  EXPECT_EQ(dead->updates.size(), 1u);
  ASSERT_EQ(alive->updates.size(), 2u);
  EXPECT_EQ(alive->updates[1].first, ids{"f"});
}

// -- a worker's reconnect -----------------------------------------------------

TEST_F(registry_test, a_reattach_replaces_the_old_connections_registrations) {
  auto removed = std::make_shared<ids>();
  auto cron = spawn(cron_provider, removed);
  caf::anon_send(registry, atom::provide_v, std::string{"cron"}, cron);
  caf::send_as(a, registry, atom::worker_v, std::string{"w-1"});
  caf::send_as(c, registry, atom::worker_v, std::string{"w-2"});
  reg("f", a);
  reg("only_old", a);
  reg("f", c); // another worker: kept
  caf::anon_send(registry,
                 register_trigger{"t1", "cron", "f", "{}", {}, a, {}});
  run();
  // `b` is worker w-1 on its new connection; `a` still looks alive.
  caf::send_as(b, registry, atom::worker_v, std::string{"w-3"});
  caf::send_as(b, registry, atom::reattach_v, std::string{"w-1"});
  reg("f", b);
  EXPECT_EQ(*removed, ids{"t1"});
  EXPECT_EQ(providers("f"), (ids{"", ""}));
  EXPECT_EQ(error_code(call("only_old")), "function_not_found");
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(call("f").ok);
  EXPECT_TRUE(script_a->calls.empty());
  EXPECT_EQ(script_b->calls.size(), 2u);
  EXPECT_EQ(script_c->calls.size(), 2u);
  // The old connection's late departure takes nothing from the new one.
  kill(a);
  EXPECT_EQ(providers("f"), (ids{"", ""}));
}

TEST_F(registry_test, a_reattach_for_a_departed_or_unknown_worker_is_ignored) {
  caf::send_as(a, registry, atom::worker_v, std::string{"w-1"});
  reg("f", a);
  kill(a);
  caf::send_as(b, registry, atom::reattach_v, std::string{"w-1"});
  caf::send_as(b, registry, atom::reattach_v, std::string{"never-seen"});
  reg("f", b);
  reg("f", c);
  EXPECT_EQ(providers("f"), (ids{"", ""}));
}

TEST_F(registry_test, a_reattach_is_forgotten_once_used) {
  caf::send_as(a, registry, atom::worker_v, std::string{"w-1"});
  caf::send_as(b, registry, atom::reattach_v, std::string{"w-1"});
  run();
  reg("f", a); // the old connection, late: only itself again
  reg("f", b);
  caf::send_as(c, registry, atom::reattach_v, std::string{"w-1"});
  run();
  EXPECT_EQ(providers("f"), (ids{"", ""}));
}
