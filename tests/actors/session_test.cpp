// Session actors over fake peers, driven deterministically: the frames a
// worker sends go in as atom::frame messages, the frames the session writes
// are read back from the peer. Two sessions and a real registry stand in
// for an owner worker and a caller worker on one engine.

#include "actors/session_actor.hpp"

#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "actor_fixture.hpp"
#include "actors/queue_actor.hpp"
#include "actors/registry_actor.hpp"
#include "fake_peer.hpp"
#include "protocol/frames.hpp"
#include "protocol/json_member.hpp"

using namespace troupe;
using namespace troupe::testing;
using namespace std::chrono_literals;

namespace {

/// What a caller that is not a session got back.
struct call_log {
  std::vector<invoke_result> results;
  std::vector<caf::error> errors;
};

/// Sends each invoke it receives to the registry as a request with no
/// timeout and records the answer.
caf::behavior recording_caller(caf::event_based_actor* self,
                               caf::actor registry,
                               std::shared_ptr<call_log> log) {
  return {
    [=](invoke& x) {
      self->request(registry, caf::infinite, std::move(x))
        .then([log](invoke_result& r) { log->results.push_back(r); },
              [log](caf::error& err) { log->errors.push_back(err); });
    },
  };
}

std::string member(const std::string& json, const std::string& key) {
  return protocol::find_member(json, key).value;
}

struct session_test : actor_fixture {
  /// One worker connection: its peer and its session.
  struct worker {
    std::shared_ptr<fake_peer> peer;
    caf::actor session;

    const std::vector<std::string>& out() const { return peer->written; }
    const std::string& last() const { return peer->written.back(); }
    std::string id() const { return member(out().at(0), "worker_id"); }
  };

  caf::actor registry = spawn(registry_actor, std::string{"registry"}, nullptr);
  std::shared_ptr<queue_directory> queues = std::make_shared<queue_directory>();
  std::shared_ptr<metrics::session_metrics> counters
    = std::make_shared<metrics::session_metrics>();
  uint64_t next_peer = 1;

  session_test() {
    queue_config q;
    q.name = "default";
    auto sup = spawn(queue_actor, q, queue_links{registry, {}, 0ms},
                     recovered_jobs{});
    queues->queues.emplace(q.name,
                           queue_entry{caf::actor_cast<caf::actor>(sup), q});
    run();
  }

  worker connect(std::chrono::milliseconds timeout = 30s) {
    auto peer = std::make_shared<fake_peer>(next_peer++);
    auto s = spawn(session_actor, peer,
                   session_context{registry, queues, timeout, {}, {}, counters},
                   std::shared_ptr<const access_grant>{});
    run();
    return {peer, s};
  }

  /// A connection under `rules` that its admission granted `g`.
  worker connect_granted(access_rules rules, access_grant g) {
    auto peer = std::make_shared<fake_peer>(next_peer++);
    auto s = spawn(
      session_actor, peer,
      session_context{registry,
                      queues,
                      30s,
                      {},
                      std::make_shared<const access_rules>(std::move(rules)),
                      counters},
      std::make_shared<const access_grant>(std::move(g)));
    run();
    return {peer, s};
  }

  /// The worker sends `text`; runs until every actor is idle.
  void send(const worker& w, std::string text) {
    caf::anon_send(w.session, atom::frame_v,
                   std::vector<std::string>{std::move(text)});
    run();
  }

  void close(const worker& w) {
    caf::anon_send(w.session, atom::closed_v, std::string{"test"});
    run();
  }

  /// The last frame `w` got, which must be an invokefunction.
  protocol::invoke_frame last_invoke(const worker& w) {
    auto f = protocol::parse_frame(w.last());
    auto* x = std::get_if<protocol::invoke_frame>(&f);
    if (x == nullptr) {
      ADD_FAILURE() << "not an invokefunction: " << w.last();
      return {};
    }
    return *x;
  }

  /// The last frame `w` got, which must be an invocationresult.
  protocol::result_frame last_result(const worker& w) {
    auto f = protocol::parse_frame(w.last());
    auto* x = std::get_if<protocol::result_frame>(&f);
    if (x == nullptr) {
      ADD_FAILURE() << "not an invocationresult: " << w.last();
      return {};
    }
    return *x;
  }

  static std::string sync_call(const std::string& id, const std::string& fn,
                               const std::string& data) {
    return R"({"type":"invokefunction","invocation_id":")" + id
           + R"(","function_id":")" + fn + R"(","data":)" + data + "}";
  }

  static std::string reply(const std::string& id, const std::string& body,
                           bool error = false) {
    return R"({"type":"invocationresult","invocation_id":")" + id
           + (error ? R"(","error":)" : R"(","result":)") + body + "}";
  }

  static session_state& state_of(const caf::actor& session) {
    auto* ptr = caf::actor_cast<caf::abstract_actor*>(session);
    return dynamic_cast<caf::stateful_actor<session_state>&>(*ptr).state;
  }

  /// `owner` provides function `fn`.
  void provide(const worker& owner, const std::string& fn) {
    send(owner, R"({"type":"registerfunction","id":")" + fn + R"("})");
  }
};

} // namespace

TEST_F(session_test, workerregistered_is_the_first_frame_written) {
  auto w = connect();
  ASSERT_EQ(w.out().size(), 1u);
  EXPECT_EQ(member(w.out()[0], "type"), "workerregistered");
  EXPECT_FALSE(w.id().empty());
  EXPECT_FALSE(member(w.out()[0], "reattach_token").empty());
  EXPECT_TRUE(w.peer->queued.empty());
  EXPECT_TRUE(w.peer->closes.empty());
}

TEST_F(session_test, registerfunction_reaches_the_registry) {
  auto w = connect();
  provide(w, "math::add");
  auto ids = ask<std::vector<std::string>>(registry, atom::list_v);
  EXPECT_EQ(ids, (std::vector<std::string>{"math::add"}));
  EXPECT_EQ(w.out().size(), 1u); // no ack
}

TEST_F(session_test, engine_ids_and_trigger_types_are_reserved) {
  // Any worker could take over engine::queue::stats or the http trigger
  // type: it got their calls (and every later HTTP route), and they were
  // gone with it.
  caf::anon_send(registry,
                 register_function{"engine::queue::stats", registry, {}, {}});
  run();
  auto w = connect();
  for (auto id : {"engine::queue::stats", "iii::queue::redrive", "engine::x"})
    provide(w, id);
  send(w, R"({"type":"registertriggertype","id":"http","description":""})");
  send(w,
       R"({"type":"registertriggertype","id":"engine::functions-available"})");
  ASSERT_EQ(w.out().size(), 6u);
  for (size_t i = 1; i < 6; ++i) {
    EXPECT_EQ(member(w.out()[i], "type"), "error") << w.out()[i];
    EXPECT_NE(w.out()[i].find("reserved_id"), std::string::npos) << w.out()[i];
  }
  EXPECT_NE(w.out()[4].find("trigger type 'http'"), std::string::npos);
  auto ids = ask<std::vector<std::string>>(registry, atom::list_v);
  EXPECT_EQ(ids, (std::vector<std::string>{"engine::queue::stats"}))
    << "the engine's own, not the worker's";
  // Its own namespaces are the worker's.
  provide(w, "engines::x");
  send(w, R"({"type":"registertriggertype","id":"https"})");
  EXPECT_EQ(w.out().size(), 6u);
}

TEST_F(session_test, rbac_limits_calls_to_exposed_and_granted_functions) {
  auto owner = connect();
  for (auto fn : {"api::list", "api::delete", "internal::x", "other::y"})
    provide(owner, fn);
  access_grant g;
  g.allowed_functions = {"internal::x"};
  g.forbidden_functions = {"api::delete"};
  auto w = connect_granted(access_rules{true, {"api::*"}}, g);
  auto calls_before = owner.out().size();
  for (auto fn : {"api::delete", "other::y", "engine::functions::list"}) {
    send(w, sync_call(std::string{"c-"} + fn, fn, "{}"));
    auto r = last_result(w);
    EXPECT_EQ(r.invocation_id, std::string{"c-"} + fn);
    EXPECT_TRUE(r.is_error);
    EXPECT_EQ(member(r.body, "code"), "FORBIDDEN") << r.body;
    EXPECT_NE(member(r.body, "message").find(std::string{"'"} + fn + "'"),
              std::string::npos)
      << r.body;
  }
  EXPECT_NE(member(last_result(w).body, "message").find("expose_functions"),
            std::string::npos);
  EXPECT_EQ(owner.out().size(), calls_before) << "none reached the owner";
  // Exposed and granted ones go through, as do the SDK's own calls.
  send(w, sync_call("c1", "api::list", "{}"));
  send(w, sync_call("c2", "internal::x", "{}"));
  EXPECT_EQ(owner.out().size(), calls_before + 2);
  auto before = w.out().size();
  send(w, sync_call("c3", "engine::workers::register", R"({"name":"n"})"));
  EXPECT_EQ(w.out().size(), before + 1);
  EXPECT_NE(member(w.out().back(), "type"), "error");
  EXPECT_EQ(member(last_result(w).body, "code"), "") << w.out().back();
}

TEST_F(session_test, a_grant_can_forbid_registrations_and_trigger_types) {
  access_grant g;
  g.allow_function_registration = false;
  g.allow_trigger_type_registration = false;
  g.allowed_trigger_types = std::vector<std::string>{"http"};
  auto w = connect_granted(access_rules{}, g);
  provide(w, "mine::f");
  send(w, R"({"type":"registertriggertype","id":"cron2"})");
  send(w, R"({"type":"registertrigger","id":"t1","trigger_type":"cron",)"
          R"("function_id":"x::y","config":{}})");
  ASSERT_EQ(w.out().size(), 4u);
  EXPECT_EQ(member(w.out()[1], "type"), "error");
  EXPECT_NE(w.out()[1].find("registration of function 'mine::f' refused"),
            std::string::npos)
    << w.out()[1];
  EXPECT_NE(w.out()[2].find("registration of trigger type 'cron2' refused"),
            std::string::npos)
    << w.out()[2];
  EXPECT_EQ(member(w.out()[3], "type"), "triggerregistrationresult")
    << w.out()[3];
  EXPECT_NE(w.out()[3].find("forbidden"), std::string::npos);
  EXPECT_TRUE(ask<std::vector<std::string>>(registry, atom::list_v).empty());
  // Without rbac rules, calls stay open.
  auto owner = connect();
  provide(owner, "x::y");
  send(w, sync_call("c", "x::y", "{}"));
  EXPECT_EQ(owner.out().size(), 2u) << "the call reached the owner";
}

TEST_F(session_test, a_call_is_forwarded_with_a_fresh_id_and_relayed_back) {
  auto owner = connect();
  auto caller = connect();
  provide(owner, "math::add");
  send(caller, R"({"type":"invokefunction","invocation_id":"inv-c",)"
               R"("function_id":"math::add","data":{"a":2,"b":3},)"
               R"("metadata":{"via":"sync"}})");
  ASSERT_EQ(owner.out().size(), 2u);
  auto in = last_invoke(owner);
  EXPECT_FALSE(in.invocation_id.empty());
  EXPECT_NE(in.invocation_id, "inv-c");
  EXPECT_EQ(in.function_id, "math::add");
  EXPECT_EQ(member(in.data, "a"), "2");
  EXPECT_EQ(in.metadata, R"({"via":"sync"})");
  EXPECT_EQ(caller.out().size(), 1u); // nothing until the owner answers
  send(owner, reply(in.invocation_id, R"({"c":5})"));
  ASSERT_EQ(caller.out().size(), 2u);
  auto r = last_result(caller);
  EXPECT_EQ(r.invocation_id, "inv-c");
  EXPECT_EQ(r.function_id, "math::add");
  EXPECT_FALSE(r.is_error);
  EXPECT_EQ(r.body, R"({"c":5})");
  EXPECT_TRUE(state_of(owner.session).pending.empty());
}

TEST_F(session_test, an_owner_error_reaches_the_caller_unchanged) {
  auto owner = connect();
  auto caller = connect();
  provide(owner, "boom");
  send(caller, sync_call("inv-e", "boom", "{}"));
  auto error = R"({"code":"invocation_failed","message":"kaboom",)"
               R"("stacktrace":"Error: kaboom\n    at x"})";
  send(owner, reply(last_invoke(owner).invocation_id, error, true));
  auto r = last_result(caller);
  EXPECT_EQ(r.invocation_id, "inv-e");
  EXPECT_TRUE(r.is_error);
  EXPECT_EQ(r.body, error);
}

TEST_F(session_test, object_payloads_carry_the_callers_worker_id) {
  auto owner = connect();
  auto caller = connect();
  provide(owner, "f");
  send(caller, sync_call("inv-1", "f", R"({"a":1})"));
  auto in = last_invoke(owner);
  EXPECT_EQ(member(in.data, "a"), "1");
  EXPECT_EQ(member(in.data, "_caller_worker_id"), caller.id());
  // Other payloads pass as they are.
  send(caller, sync_call("inv-2", "f", "[1,2]"));
  EXPECT_EQ(last_invoke(owner).data, "[1,2]");
  send(caller, R"({"type":"invokefunction","invocation_id":"inv-3",)"
               R"("function_id":"f"})");
  EXPECT_EQ(last_invoke(owner).data, "null");
}

TEST_F(session_test, a_void_call_runs_and_sends_nothing_back) {
  auto owner = connect();
  auto caller = connect();
  provide(owner, "f");
  send(caller, R"({"type":"invokefunction","function_id":"f",)"
               R"("data":{"a":1},"action":{"type":"void"}})");
  ASSERT_EQ(owner.out().size(), 2u);
  auto in = last_invoke(owner);
  EXPECT_FALSE(in.invocation_id.empty()); // the target always gets an id
  EXPECT_EQ(member(in.data, "_caller_worker_id"), caller.id());
  EXPECT_TRUE(state_of(owner.session).pending.empty());
  send(owner, reply(in.invocation_id, R"({"c":2})"));
  EXPECT_EQ(caller.out().size(), 1u);
  EXPECT_EQ(owner.out().size(), 2u);
}

TEST_F(session_test, an_unknown_function_is_function_not_found) {
  auto caller = connect();
  send(caller, sync_call("inv-n", "does::not::exist", "{}"));
  ASSERT_EQ(caller.out().size(), 2u);
  auto r = last_result(caller);
  EXPECT_EQ(r.invocation_id, "inv-n");
  EXPECT_TRUE(r.is_error);
  EXPECT_EQ(member(r.body, "code"), "function_not_found");
  EXPECT_EQ(member(r.body, "message"), "Function does::not::exist not found");
}

TEST_F(session_test, enqueue_answers_a_receipt_and_the_job_runs) {
  auto owner = connect();
  auto caller = connect();
  provide(owner, "f");
  send(caller, R"({"type":"invokefunction","invocation_id":"inv-q",)"
               R"("function_id":"f","data":{"n":1},)"
               R"("action":{"type":"enqueue","queue":"default"}})");
  ASSERT_EQ(caller.out().size(), 2u);
  auto r = last_result(caller);
  EXPECT_EQ(r.invocation_id, "inv-q");
  EXPECT_FALSE(r.is_error);
  EXPECT_FALSE(member(r.body, "messageReceiptId").empty()) << r.body;
  ASSERT_EQ(owner.out().size(), 2u);
  auto in = last_invoke(owner);
  EXPECT_EQ(in.function_id, "f");
  EXPECT_EQ(member(in.data, "n"), "1");
}

TEST_F(session_test, enqueue_to_an_unknown_queue_is_an_enqueue_error) {
  auto caller = connect();
  send(caller, R"({"type":"invokefunction","invocation_id":"inv-q",)"
               R"("function_id":"f","data":{},)"
               R"("action":{"type":"enqueue","queue":"nope"}})");
  ASSERT_EQ(caller.out().size(), 2u);
  auto r = last_result(caller);
  EXPECT_EQ(r.invocation_id, "inv-q");
  EXPECT_EQ(r.function_id, "f");
  EXPECT_TRUE(r.is_error);
  EXPECT_EQ(member(r.body, "code"), "enqueue_error");
  EXPECT_EQ(member(r.body, "message"), "Queue 'nope' not found");
}

TEST_F(session_test, a_bad_call_with_an_invocation_id_gets_an_error_result) {
  auto w = connect();
  // An enqueue action without its queue.
  send(w, R"({"type":"invokefunction","invocation_id":"inv-b",)"
          R"("function_id":"f","action":{"type":"enqueue"}})");
  ASSERT_EQ(w.out().size(), 2u);
  auto r = last_result(w);
  EXPECT_EQ(r.invocation_id, "inv-b");
  EXPECT_EQ(r.function_id, "f");
  EXPECT_TRUE(r.is_error);
  EXPECT_EQ(member(r.body, "code"), "bad_field");
}

TEST_F(session_test, a_bad_frame_without_an_invocation_id_gets_an_error_frame) {
  auto w = connect();
  send(w, "not json at all");
  ASSERT_EQ(w.out().size(), 2u);
  EXPECT_EQ(member(w.last(), "type"), "error");
  EXPECT_EQ(member(member(w.last(), "error"), "code"), "bad_json");
  send(w, R"({"type":"somethingnew"})");
  ASSERT_EQ(w.out().size(), 3u);
  EXPECT_EQ(member(member(w.last(), "error"), "code"), "unknown_type");
}

TEST_F(session_test, closing_the_connection_stops_its_pending_calls) {
  auto owner = connect();
  auto caller = connect();
  provide(owner, "slow");
  send(caller, sync_call("inv-s", "slow", "{}"));
  ASSERT_EQ(owner.out().size(), 2u);
  close(owner);
  ASSERT_EQ(caller.out().size(), 2u);
  auto r = last_result(caller);
  EXPECT_EQ(r.invocation_id, "inv-s");
  EXPECT_TRUE(r.is_error);
  EXPECT_EQ(member(r.body, "code"), "invocation_stopped");
  // Its functions left with it.
  send(caller, sync_call("inv-t", "slow", "{}"));
  EXPECT_EQ(member(last_result(caller).body, "code"), "function_not_found");
}

TEST_F(session_test, the_sweep_fails_a_call_past_its_deadline_with_timeout) {
  auto owner = connect();
  provide(owner, "slow");
  auto log = std::make_shared<call_log>();
  auto caller = spawn(recording_caller, registry, log);
  caf::anon_send(caller, invoke{"slow", "{}", {}, {}, {}, 1000});
  run();
  ASSERT_EQ(owner.out().size(), 2u);
  auto id = last_invoke(owner).invocation_id;
  // The sweep runs every 5 s and fails calls 5 s past their deadline.
  advance(5s);
  EXPECT_TRUE(log->results.empty());
  advance(4s);
  EXPECT_TRUE(log->results.empty());
  advance(1s);
  ASSERT_EQ(log->results.size(), 1u);
  EXPECT_TRUE(log->errors.empty());
  EXPECT_FALSE(log->results[0].ok);
  EXPECT_EQ(member(log->results[0].body, "code"), "timeout");
  EXPECT_EQ(member(log->results[0].body, "message"),
            "Invocation of slow timed out");
  EXPECT_TRUE(state_of(owner.session).pending.empty());
  EXPECT_FALSE(sched.has_pending_timeout()); // nothing left to sweep
  // The worker's answer comes too late and is dropped.
  send(owner, reply(id, R"({"late":true})"));
  EXPECT_EQ(log->results.size(), 1u);
  EXPECT_EQ(owner.out().size(), 2u);
}

TEST_F(session_test, late_and_unknown_results_are_ignored) {
  auto owner = connect();
  auto caller = connect();
  provide(owner, "f");
  send(owner, reply("never-issued", "{}"));
  send(caller, sync_call("inv-1", "f", "{}"));
  auto id = last_invoke(owner).invocation_id;
  send(owner, reply(id, R"({"first":true})"));
  send(owner, reply(id, R"({"second":true})"));
  ASSERT_EQ(caller.out().size(), 2u);
  EXPECT_EQ(last_result(caller).body, R"({"first":true})");
  EXPECT_EQ(owner.out().size(), 2u);
  // The session still works.
  send(caller, sync_call("inv-2", "f", "{}"));
  send(owner, reply(last_invoke(owner).invocation_id, "7"));
  EXPECT_EQ(last_result(caller).invocation_id, "inv-2");
  EXPECT_EQ(last_result(caller).body, "7");
}

TEST_F(session_test, workers_register_names_the_worker_without_a_reply) {
  auto w = connect();
  EXPECT_EQ(state_of(w.session).worker_name, "127.0.0.1:40000");
  send(w, R"({"type":"invokefunction",)"
          R"("function_id":"engine::workers::register",)"
          R"("data":{"runtime":"node","name":"callee","pid":1},)"
          R"("action":{"type":"void"}})");
  EXPECT_EQ(state_of(w.session).worker_name, "callee");
  EXPECT_EQ(w.out().size(), 1u);
  // Asked with an id, it answers.
  send(w, R"({"type":"invokefunction","invocation_id":"inv-w",)"
          R"("function_id":"engine::workers::register","data":{}})");
  ASSERT_EQ(w.out().size(), 2u);
  EXPECT_EQ(last_result(w).body, R"({"success":true})");
  EXPECT_EQ(state_of(w.session).worker_name, "callee");
}

TEST_F(session_test, a_reattach_replaces_the_old_connections_functions) {
  auto old_conn = connect();
  provide(old_conn, "math::add");
  provide(old_conn, "math::gone");
  // The worker reconnects while its old connection still looks alive.
  auto new_conn = connect();
  send(new_conn, R"({"type":"reattach","previous_worker_id":")" + old_conn.id()
                   + R"(","reattach_token":"t"})");
  provide(new_conn, "math::add");
  auto nodes = ask<std::vector<std::string>>(registry, atom::providers_v,
                                             std::string{"math::add"});
  EXPECT_EQ(nodes, std::vector<std::string>{""});
  auto ids = ask<std::vector<std::string>>(registry, atom::list_v);
  EXPECT_EQ(ids, (std::vector<std::string>{"math::add"}));
  auto caller = connect();
  send(caller, sync_call("inv-r", "math::add", "{}"));
  EXPECT_EQ(last_invoke(new_conn).function_id, "math::add");
  EXPECT_EQ(old_conn.out().size(), 1u); // only its workerregistered
}

TEST_F(session_test, another_workers_reattach_id_replaces_nothing) {
  auto w1 = connect();
  provide(w1, "math::add");
  auto w2 = connect();
  send(w2, R"({"type":"reattach","previous_worker_id":"someone-else",)"
           R"("reattach_token":"t"})");
  provide(w2, "math::add");
  auto nodes = ask<std::vector<std::string>>(registry, atom::providers_v,
                                             std::string{"math::add"});
  EXPECT_EQ(nodes, (std::vector<std::string>{"", ""}));
}

// -- trigger types provided by workers ----------------------------------------

namespace {

struct trigger_session_test : session_test {
  static std::string bind(const std::string& id,
                          const std::string& type = "cron") {
    return R"({"type":"registertrigger","id":")" + id + R"(","trigger_type":")"
           + type
           + R"(","function_id":"jobs::nightly","config":{"expression":"0 0 * * *"},"message_type":"registertrigger"})";
  }

  static std::string unbind(const std::string& id) {
    return R"({"type":"unregistertrigger","id":")" + id
           + R"(","message_type":"unregistertrigger","trigger_type":"cron"})";
  }

  static std::string provide_type(const std::string& type = "cron") {
    return R"({"type":"registertriggertype","id":")" + type
           + R"(","description":"cron jobs"})";
  }

  /// What the SDK answers a registertrigger with (a refusal when `message`
  /// is not empty).
  static std::string verdict(const std::string& id,
                             const std::string& message = {}) {
    std::string out
      = R"({"type":"triggerregistrationresult","id":")" + id
        + R"(","message_type":"triggerregistrationresult",)"
          R"("function_id":"jobs::nightly","trigger_type":"cron")";
    if (!message.empty())
      out += R"(,"error":{"code":"trigger_registration_failed","message":")"
             + message + R"("})";
    return out + "}";
  }

  /// Every frame of `w` of type `type`, in order.
  static std::vector<std::string> frames_of(const worker& w,
                                            const std::string& type) {
    std::vector<std::string> xs;
    for (auto& f : w.out())
      if (member(f, "type") == type) xs.push_back(f);
    return xs;
  }
};

} // namespace

TEST_F(trigger_session_test,
       a_parked_trigger_reaches_the_worker_that_provides_its_type) {
  auto consumer = connect();
  send(consumer, bind("t-1"));
  EXPECT_EQ(consumer.out().size(), 1u); // parked: no error, nothing at all
  auto provider = connect();
  send(provider, provide_type());
  EXPECT_EQ(
    provider.last(),
    R"({"type":"registertrigger","id":"t-1","trigger_type":"cron","function_id":"jobs::nightly","config":{"expression":"0 0 * * *"}})");
  send(provider, verdict("t-1"));
  EXPECT_EQ(consumer.out().size(), 1u);
  EXPECT_TRUE(frames_of(provider, "error").empty()) << provider.last();
}

TEST_F(trigger_session_test, unregistertrigger_to_the_provider_names_the_type) {
  auto provider = connect();
  send(provider, provide_type());
  auto consumer = connect();
  send(consumer, bind("t-1"));
  send(consumer, bind("t-2"));
  send(consumer, unbind("t-1"));
  EXPECT_EQ(provider.last(),
            R"({"type":"unregistertrigger","id":"t-1","trigger_type":"cron"})");
  close(consumer);
  EXPECT_EQ(provider.last(),
            R"({"type":"unregistertrigger","id":"t-2","trigger_type":"cron"})");
  EXPECT_EQ(frames_of(provider, "unregistertrigger").size(), 2u);
}

TEST_F(trigger_session_test,
       a_refusal_reaches_the_consumer_and_parks_the_trigger) {
  auto provider = connect();
  send(provider, provide_type());
  auto consumer = connect();
  send(consumer, bind("t-1"));
  send(provider, verdict("t-1", "bad expression"));
  EXPECT_EQ(
    consumer.last(),
    R"({"type":"triggerregistrationresult","id":"t-1","trigger_type":"cron","function_id":"jobs::nightly","error":{"code":"trigger_registration_failed","message":"bad expression"}})");
  EXPECT_TRUE(frames_of(provider, "error").empty()) << provider.last();
  // Parked: registering the type again brings the trigger back.
  send(provider, provide_type());
  EXPECT_EQ(frames_of(provider, "registertrigger").size(), 2u);
}

TEST_F(trigger_session_test, results_from_other_workers_are_ignored) {
  auto provider = connect();
  send(provider, provide_type());
  auto consumer = connect();
  send(consumer, bind("t-1"));
  auto other = connect();
  send(other, verdict("t-1", "spoofed"));
  send(consumer, verdict("t-1", "mine"));
  send(other, verdict("nope", "no such trigger"));
  EXPECT_EQ(consumer.out().size(), 1u);
  EXPECT_EQ(other.out().size(), 1u); // no error frame either
  send(consumer, unbind("t-1"));     // still live at its provider
  EXPECT_EQ(frames_of(provider, "unregistertrigger").size(), 1u);
}

TEST_F(trigger_session_test, a_restarted_provider_gets_every_trigger_back) {
  auto provider = connect();
  send(provider, provide_type());
  auto consumer = connect();
  send(consumer, bind("t-1"));
  send(consumer, bind("t-2"));
  close(provider);
  auto again = connect();
  send(again, provide_type());
  auto xs = frames_of(again, "registertrigger");
  ASSERT_EQ(xs.size(), 2u);
  std::set<std::string> ids{member(xs[0], "id"), member(xs[1], "id")};
  EXPECT_EQ(ids, (std::set<std::string>{"t-1", "t-2"}));
  EXPECT_EQ(consumer.out().size(), 1u);
}

TEST_F(trigger_session_test,
       a_bad_triggerregistrationresult_gets_an_error_frame) {
  auto provider = connect();
  send(provider,
       R"({"type":"triggerregistrationresult","id":"t","error":"no"})");
  EXPECT_EQ(member(provider.last(), "type"), "error");
  EXPECT_NE(provider.last().find("field 'error' must be an object"),
            std::string::npos)
    << provider.last();
}

TEST_F(session_test, connections_and_calls_are_counted_for_metrics) {
  using metrics::call_kind;
  using metrics::call_outcome;
  auto calls = [&](call_kind k, call_outcome o) {
    return counters->calls[static_cast<size_t>(k)][static_cast<size_t>(o)]
      .load();
  };
  auto owner = connect();
  auto caller = connect();
  EXPECT_EQ(counters->connected.load(), 2u);
  EXPECT_EQ(counters->connections.load(), 2u);
  provide(owner, "f");
  send(caller, sync_call("c1", "f", "{}"));
  send(owner, reply(last_invoke(owner).invocation_id, R"({"ok":true})"));
  send(caller, sync_call("c2", "f", "{}"));
  send(owner, reply(last_invoke(owner).invocation_id,
                    R"({"code":"boom","message":"no"})", true));
  send(caller, sync_call("c3", "nope", "{}"));
  send(caller, R"({"type":"invokefunction","function_id":"f","data":{},)"
               R"("action":{"type":"void"}})");
  send(caller, R"({"type":"invokefunction","invocation_id":"c4",)"
               R"("function_id":"f","data":{},)"
               R"("action":{"type":"enqueue","queue":"missing"}})");
  EXPECT_EQ(calls(call_kind::sync, call_outcome::ok), 1u);
  EXPECT_EQ(calls(call_kind::sync, call_outcome::error), 1u);
  EXPECT_EQ(calls(call_kind::sync, call_outcome::not_found), 1u);
  EXPECT_EQ(calls(call_kind::void_call, call_outcome::sent), 1u);
  EXPECT_EQ(calls(call_kind::enqueue, call_outcome::error), 1u);
  close(owner);
  EXPECT_EQ(counters->connected.load(), 1u);
  EXPECT_EQ(counters->connections.load(), 2u);
}
