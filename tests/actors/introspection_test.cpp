// The introspection actor over a real registry, driven deterministically:
// what the lists show of local workers and of other nodes' functions,
// workers coming and going, engine::functions-available and the log
// functions' bad input.

#include "actors/introspection_actor.hpp"

#include <memory>
#include <string>

#include <caf/send.hpp>
#include <nlohmann/json.hpp>

#include "actor_fixture.hpp"
#include "actors/registry_actor.hpp"
#include "protocol/introspection_api.hpp"

using namespace troupe;
using namespace troupe::testing;
using json = nlohmann::json;

namespace {

/// A worker's session as the registry sees it: it announces its worker id
/// and metadata, then answers calls like a scripted owner.
caf::behavior fake_session(caf::event_based_actor* self, caf::actor registry,
                           std::string worker_id, std::string name,
                           std::shared_ptr<owner_script> script) {
  self->send(registry, atom::worker_v, worker_id);
  protocol::worker_meta meta;
  meta.worker_id = worker_id;
  meta.ip_address = "127.0.0.1";
  meta.connected_at_ms = 1;
  protocol::read_worker_metadata(
    R"({"runtime":"node","version":"0.22.1","name":")" + name
      + R"(","os":"linux","pid":42,"isolation":null})",
    meta);
  self->send(registry, meta);
  return scripted_owner(self, std::move(script));
}

struct introspection_test : actor_fixture {
  caf::actor registry = spawn(registry_actor, std::string{"registry"}, nullptr);
  caf::actor introspection = spawn(introspection_actor, registry);
  std::shared_ptr<owner_script> orders_script
    = std::make_shared<owner_script>();
  std::shared_ptr<owner_script> peer_script = std::make_shared<owner_script>();
  caf::actor orders;
  /// Stands in for the peer actor of node "b".
  caf::actor peer_b = spawn(scripted_owner, peer_script);

  introspection_test() {
    register_introspection_functions(registry, introspection);
    orders = spawn(fake_session, registry, std::string{"w-orders"},
                   std::string{"orders"}, orders_script);
    run();
  }

  void reg(const std::string& id, const caf::actor& owner,
           const std::string& node = {}) {
    caf::anon_send(
      registry, register_function{id, owner, "\"about " + id + "\"", {}, node});
    run();
  }

  invoke_result raw_call(const std::string& fn, const std::string& data) {
    return ask<invoke_result>(registry, invoke{fn, data});
  }

  json call(const std::string& fn, const std::string& data = "{}") {
    auto r = raw_call(fn, data);
    EXPECT_TRUE(r.ok) << fn << ": " << r.body;
    return json::parse(r.body);
  }

  static const json* row(const json& rows, const char* key,
                         const std::string& value) {
    for (auto& r : rows)
      if (r.value(key, "") == value) return &r;
    return nullptr;
  }
};

} // namespace

TEST_F(introspection_test, lists_other_nodes_functions_with_their_nodes) {
  reg("orders::create", orders);
  reg("orders::create", peer_b, "b");
  reg("billing::charge", peer_b, "b");
  auto fns = call("engine::functions::list")["functions"];
  auto local = row(fns, "function_id", "orders::create");
  ASSERT_NE(local, nullptr);
  EXPECT_EQ((*local)["worker_name"], "orders");
  EXPECT_EQ((*local)["description"], "about orders::create");
  EXPECT_EQ((*local)["nodes"], json::array({"b"}));
  auto remote = row(fns, "function_id", "billing::charge");
  ASSERT_NE(remote, nullptr);
  // Not a worker of this node: iii's fallback, the id's first segment.
  EXPECT_EQ((*remote)["worker_name"], "billing");
  EXPECT_EQ((*remote)["nodes"], json::array({"b"}));
  // A remote function counts for no local worker, and is callable here.
  auto w = call("engine::workers::info", R"({"name":"orders"})");
  EXPECT_EQ(w["worker"]["function_count"], 1);
  EXPECT_EQ(w["worker"]["pid"], 42);
  auto detail = call("engine::functions::info",
                     R"({"function_id":"billing::charge"})");
  EXPECT_EQ(detail["nodes"], json::array({"b"}));
  EXPECT_TRUE(raw_call("billing::charge", "{}").ok);
  EXPECT_EQ(peer_script->calls.size(), 1u);
}

TEST_F(introspection_test, engine_functions_are_hidden_unless_asked_for) {
  auto fns = call("engine::functions::list")["functions"];
  EXPECT_EQ(row(fns, "function_id", "engine::functions::list"), nullptr);
  auto all = call("engine::functions::list", R"({"include_internal":true})");
  auto own = row(all["functions"], "function_id", "engine::workers::list");
  ASSERT_NE(own, nullptr);
  EXPECT_EQ((*own)["worker_name"], "iii-engine-functions");
  auto workers = call("engine::workers::list")["workers"];
  auto engine_worker = row(workers, "name", "iii-engine-functions");
  ASSERT_NE(engine_worker, nullptr);
  EXPECT_EQ((*engine_worker)["runtime"], "engine");
}

TEST_F(introspection_test, workers_come_and_go) {
  auto workers = call("engine::workers::list")["workers"];
  auto w = row(workers, "name", "orders");
  ASSERT_NE(w, nullptr);
  EXPECT_EQ((*w)["id"], "w-orders");
  EXPECT_EQ((*w)["runtime"], "node");
  EXPECT_EQ((*w)["status"], "connected");
  EXPECT_TRUE((*w)["isolation"].is_null());
  caf::anon_send_exit(orders, caf::exit_reason::user_shutdown);
  run();
  workers = call("engine::workers::list")["workers"];
  EXPECT_EQ(row(workers, "name", "orders"), nullptr);
  auto gone = raw_call("engine::workers::info", R"({"name":"orders"})");
  EXPECT_FALSE(gone.ok);
  EXPECT_EQ(gone.error_code(), "NOT_FOUND");
}

TEST_F(introspection_test, functions_available_fires_on_register_and_on_go) {
  reg("orders::hook", orders);
  caf::anon_send(registry, register_trigger{"t1",
                                            functions_available_trigger,
                                            "orders::hook",
                                            "{}",
                                            R"({"m":1})",
                                            orders,
                                            {}});
  run();
  auto registered = call("engine::registered-triggers::info", R"({"id":"t1"})");
  EXPECT_EQ(registered["trigger_type"], functions_available_trigger);
  EXPECT_EQ(registered["worker_name"], "orders");
  EXPECT_EQ(registered["metadata"], json({{"m", 1}}));
  orders_script->calls.clear();
  reg("extra::fn", peer_b, "b");
  ASSERT_EQ(orders_script->calls.size(), 1u);
  auto payload = json::parse(orders_script->calls[0].data);
  EXPECT_EQ(payload["event"], "functions_changed");
  EXPECT_NE(row(payload["functions"], "function_id", "extra::fn"), nullptr);
  // Only a change of the set of ids counts: a second provider does not.
  reg("extra::fn", orders);
  EXPECT_EQ(orders_script->calls.size(), 1u);
  caf::anon_send(registry, unregister_function{"extra::fn", orders});
  caf::anon_send(registry, unregister_function{"extra::fn", peer_b});
  run();
  ASSERT_EQ(orders_script->calls.size(), 2u);
  payload = json::parse(orders_script->calls[1].data);
  EXPECT_EQ(row(payload["functions"], "function_id", "extra::fn"), nullptr);
  // Unregistered: no more calls.
  caf::anon_send(registry, unregister_trigger{"t1", orders, {}});
  run();
  reg("more::fn", peer_b, "b");
  EXPECT_EQ(orders_script->calls.size(), 2u);
}

TEST_F(introspection_test, bad_input_is_refused_with_invalid_argument) {
  for (auto [fn, data] : std::vector<std::pair<std::string, std::string>>{
         {"engine::functions::list", "[1]"},
         {"engine::functions::list", R"({"prefix":1})"},
         {"engine::functions::info", "{}"},
         {"engine::functions::info", R"({"function_ids":"x"})"},
         {"engine::workers::info", R"({"name":null})"},
         {"engine::registered-triggers::info", "not json"},
         {"engine::log::info", "{}"},
         {"engine::log::error", R"({"message":[]})"},
       }) {
    auto r = raw_call(fn, data);
    EXPECT_FALSE(r.ok) << fn << " " << data;
    EXPECT_EQ(r.error_code(), "invalid_argument") << fn << " " << data;
  }
  auto logged = raw_call(
    "engine::log::warn",
    R"({"message":"m","data":{"k":"v"},"_caller_worker_id":"w-orders"})");
  EXPECT_TRUE(logged.ok);
  EXPECT_EQ(logged.body, "null");
}

TEST(introspection_api, log_call_fields_are_one_line) {
  auto x = protocol::parse_log_call(
    R"({"message":"a\nb","data":{"k":"x\u0001y","n":[1,2]},"span_id":"s"})");
  EXPECT_TRUE(x.error.empty());
  EXPECT_EQ(x.message, "a\\nb");
  EXPECT_EQ(x.fields, " k=x\\x01y n=[1,2] span_id=s");
  EXPECT_EQ(protocol::parse_log_call(R"({"message":"m","data":7})").fields,
            " data=7");
}
