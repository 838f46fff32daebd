// The registry's rules, driven deterministically: several providers per
// function (local ones first, round-robin), departures, the cluster hooks
// (localcall, watch, providers) and a worker's reconnect.

#include "actors/registry_actor.hpp"

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <caf/send.hpp>

#include "actor_fixture.hpp"
#include "base/errc.hpp"
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

/// What a recording trigger provider was sent.
struct provider_log {
  std::vector<register_trigger> registered;
  std::vector<unregister_trigger> unregistered;
  /// When not empty, each registration is refused with this message (as the
  /// HTTP router refuses a bad route).
  std::string refuse;

  ids registered_ids() const {
    ids xs;
    for (auto& x : registered) xs.push_back(x.id);
    std::sort(xs.begin(), xs.end());
    return xs;
  }
};

caf::behavior recording_provider(caf::event_based_actor*,
                                 std::shared_ptr<provider_log> log) {
  return {
    [log](const register_trigger& x) -> caf::result<void> {
      log->registered.push_back(x);
      if (!log->refuse.empty())
        return caf::make_error(errc::bad_frame, log->refuse);
      return caf::unit;
    },
    [log](const unregister_trigger& x) { log->unregistered.push_back(x); },
  };
}

/// The owner of triggers: records the refusals the registry forwards.
caf::behavior trigger_owner(caf::event_based_actor*,
                            std::shared_ptr<std::vector<trigger_result>> log) {
  return {
    [log](const trigger_result& x) { log->push_back(x); },
  };
}

struct registry_test : actor_fixture {
  caf::actor registry = spawn(registry_actor, std::string{"registry"}, nullptr);
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

  /// A provider of `type`, recording what it is sent.
  std::pair<caf::actor, std::shared_ptr<provider_log>>
  provider(const std::string& type) {
    auto log = std::make_shared<provider_log>();
    auto p = spawn(recording_provider, log);
    provide(type, p);
    return {p, log};
  }

  void provide(const std::string& type, const caf::actor& p) {
    caf::anon_send(registry, atom::provide_v, type, p);
    run();
  }

  /// `owner` registers trigger `id` of `type` for function "f".
  void bind(const std::string& id, const std::string& type,
            const caf::actor& owner) {
    caf::anon_send(
      registry,
      register_trigger{id, type, "f", R"({"every":"1s"})", {}, owner, {}});
    run();
  }

  void unbind(const std::string& id, const caf::actor& owner) {
    caf::anon_send(registry, unregister_trigger{id, owner, {}});
    run();
  }

  /// `from` reports the result of trigger `id` (a failure when `message`
  /// is not empty).
  void result(const caf::actor& from, const std::string& id,
              const std::string& message = {}) {
    caf::send_as(from, registry,
                 trigger_result{id, "cron", "f", !message.empty(),
                                message.empty() ? ""
                                                : "trigger_registration_failed",
                                message});
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

// -- triggers and the trigger types workers provide --------------------------

TEST_F(registry_test, a_trigger_of_an_unprovided_type_waits_for_its_provider) {
  caf::scoped_actor self{sys};
  auto h = self->request(
    registry, caf::infinite,
    register_trigger{
      "t1", "cron", "f", R"({"every":"1s"})", R"({"team":"ops"})", a, {}});
  run();
  h.receive([] {}, [](caf::error& err) { ADD_FAILURE() << error_text(err); });
  auto [p, log] = provider("cron");
  ASSERT_EQ(log->registered.size(), 1u);
  auto& x = log->registered[0];
  EXPECT_EQ(x.id, "t1");
  EXPECT_EQ(x.type, "cron");
  EXPECT_EQ(x.function_id, "f");
  EXPECT_EQ(x.config, R"({"every":"1s"})");
  EXPECT_EQ(x.metadata, R"({"team":"ops"})");
  EXPECT_EQ(x.owner, a);
}

TEST_F(registry_test, a_departed_providers_triggers_go_to_the_next_one) {
  auto [p1, log1] = provider("cron");
  bind("t1", "cron", a);
  bind("t2", "cron", b);
  EXPECT_EQ(log1->registered_ids(), (ids{"t1", "t2"}));
  kill(p1);
  auto [p2, log2] = provider("cron");
  EXPECT_EQ(log2->registered_ids(), (ids{"t1", "t2"}));
  unbind("t1", a);
  ASSERT_EQ(log2->unregistered.size(), 1u);
  EXPECT_EQ(log2->unregistered[0].id, "t1");
  EXPECT_EQ(log2->unregistered[0].type, "cron");
}

TEST_F(registry_test,
       a_provider_providing_again_or_a_new_one_gets_every_trigger) {
  auto [p1, log1] = provider("cron");
  bind("t1", "cron", a);
  provide("cron", p1); // the same provider again: sent again
  EXPECT_EQ(log1->registered_ids(), (ids{"t1", "t1"}));
  auto [p2, log2] = provider("cron"); // takes the type over
  EXPECT_EQ(log2->registered_ids(), ids{"t1"});
  kill(p1); // no longer the provider: nothing is parked
  unbind("t1", a);
  EXPECT_TRUE(log1->unregistered.empty());
  ASSERT_EQ(log2->unregistered.size(), 1u);
  EXPECT_EQ(log2->unregistered[0].type, "cron");
}

TEST_F(registry_test, a_parked_trigger_is_removed_without_telling_anyone) {
  bind("t1", "cron", a);
  unbind("t1", a);
  auto [p, log] = provider("cron");
  EXPECT_TRUE(log->registered.empty());
  EXPECT_TRUE(log->unregistered.empty());
}

TEST_F(registry_test, a_departed_owners_triggers_leave_live_and_parked) {
  auto [p, log] = provider("cron");
  auto refusals = std::make_shared<std::vector<trigger_result>>();
  auto owner = spawn(trigger_owner, refusals);
  bind("t1", "cron", owner);
  bind("t2", "other", owner); // parked
  kill(owner);
  ASSERT_EQ(log->unregistered.size(), 1u);
  EXPECT_EQ(log->unregistered[0].id, "t1");
  EXPECT_EQ(log->unregistered[0].type, "cron");
  provide("other", p);
  EXPECT_EQ(log->registered_ids(), ids{"t1"});
}

TEST_F(registry_test, a_refusal_by_the_provider_parks_and_reaches_the_owner) {
  auto [p, log] = provider("cron");
  auto refusals = std::make_shared<std::vector<trigger_result>>();
  auto owner = spawn(trigger_owner, refusals);
  bind("t1", "cron", owner);
  result(p, "t1", "bad schedule");
  ASSERT_EQ(refusals->size(), 1u);
  auto& r = (*refusals)[0];
  EXPECT_EQ(r.id, "t1");
  EXPECT_EQ(r.type, "cron");
  EXPECT_EQ(r.function_id, "f");
  EXPECT_TRUE(r.failed);
  EXPECT_EQ(r.code, "trigger_registration_failed");
  EXPECT_EQ(r.message, "bad schedule");
  // Parked: its provider registering the type again gets it again.
  provide("cron", p);
  EXPECT_EQ(log->registered_ids(), (ids{"t1", "t1"}));
}

TEST_F(registry_test, a_parked_trigger_is_not_unregistered_at_its_provider) {
  auto [p, log] = provider("cron");
  auto refusals = std::make_shared<std::vector<trigger_result>>();
  auto owner = spawn(trigger_owner, refusals);
  bind("t1", "cron", owner);
  result(p, "t1", "no");
  unbind("t1", owner);
  EXPECT_TRUE(log->unregistered.empty());
}

TEST_F(registry_test, successes_and_results_from_others_change_nothing) {
  auto [p, log] = provider("cron");
  auto refusals = std::make_shared<std::vector<trigger_result>>();
  auto owner = spawn(trigger_owner, refusals);
  bind("t1", "cron", owner);
  result(p, "t1");               // accepted
  result(b, "t1", "spoofed");    // not its provider
  result(owner, "t1", "mine");   // nor is its owner
  result(p, "unknown", "which"); // no such trigger
  EXPECT_TRUE(refusals->empty());
  unbind("t1", owner); // still live: its provider hears of it
  ASSERT_EQ(log->unregistered.size(), 1u);
}

TEST_F(registry_test, a_late_refusal_by_a_replaced_provider_is_ignored) {
  auto [p1, log1] = provider("cron");
  auto refusals = std::make_shared<std::vector<trigger_result>>();
  auto owner = spawn(trigger_owner, refusals);
  bind("t1", "cron", owner);
  auto [p2, log2] = provider("cron");
  result(p1, "t1", "too late");
  EXPECT_TRUE(refusals->empty());
  unbind("t1", owner);
  EXPECT_EQ(log2->unregistered.size(), 1u);
}

TEST_F(registry_test, a_replayed_trigger_the_provider_refuses_is_parked) {
  auto refusals = std::make_shared<std::vector<trigger_result>>();
  auto owner = spawn(trigger_owner, refusals);
  bind("t1", "cron", owner); // parked
  auto log = std::make_shared<provider_log>();
  log->refuse = "api_path is required";
  auto p = spawn(recording_provider, log);
  provide("cron", p);
  ASSERT_EQ(refusals->size(), 1u);
  EXPECT_EQ((*refusals)[0].code, "trigger_registration_failed");
  EXPECT_NE((*refusals)[0].message.find("api_path is required"),
            std::string::npos)
    << (*refusals)[0].message;
  unbind("t1", owner); // parked again: nothing to tell the provider
  EXPECT_TRUE(log->unregistered.empty());
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
