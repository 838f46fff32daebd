// The HTTP router driven deterministically: a real registry, two scripted
// function owners ("fn.a" owned by `a`, "fn.b" by `b`) and a responder that
// records what the router answers. Timeouts run on the test clock. Other
// nodes' routes come from stand-in peer actors; a recording watcher stands
// in for the node actor.

#include "actors/http_router_actor.hpp"

#include <memory>
#include <string>
#include <vector>

#include "actor_fixture.hpp"
#include "actors/registry_actor.hpp"
#include "protocol/json_member.hpp"

using namespace troupe;
using namespace troupe::testing;
using namespace std::chrono_literals;

namespace {

/// Records every response; the router must answer each request once.
struct recording_responder : protocol::http_responder {
  std::vector<protocol::http_response> responses;

  void respond(protocol::http_response res) override {
    responses.push_back(std::move(res));
  }
};

constexpr std::chrono::milliseconds default_timeout{5000};

/// Stands in for the peer actor of `node`: owns remote routes until it is
/// stopped. (Every test actor takes an argument: CAF 0.17.6 dereferences a
/// null argument tuple when a function actor is spawned without any, which
/// UBSan reports.)
caf::behavior idle_peer(const std::string& /* node */) {
  return {[](int) {}};
}

/// Stands in for the node actor: records the router's feed as "+id config"
/// and "-id".
caf::behavior recording_watcher(std::shared_ptr<std::vector<std::string>> log) {
  return {
    [log](atom::httproute, register_trigger& x) {
      log->push_back("+" + x.id + " " + x.function_id + " " + x.config
                     + (x.node.empty() ? "" : " node"));
    },
    [log](atom::httproute, unregister_trigger& x) {
      log->push_back("-" + x.id);
    },
    [log](atom::httprouter, caf::actor&) { log->push_back("router"); },
  };
}

struct http_router_test : actor_fixture {
  caf::actor registry = spawn(registry_actor, std::string{"registry"}, nullptr);
  std::shared_ptr<owner_script> script_a = std::make_shared<owner_script>();
  std::shared_ptr<owner_script> script_b = std::make_shared<owner_script>();
  caf::actor a = spawn(scripted_owner, script_a);
  caf::actor b = spawn(scripted_owner, script_b);
  caf::actor router = spawn(http_router_actor, registry, default_timeout);

  http_router_test() {
    caf::anon_send(registry, register_function{"fn.a", a, {}, {}});
    caf::anon_send(registry, register_function{"fn.b", b, {}, {}});
    run();
  }

  /// Registers trigger `id` of `owner` for `fn` with `config`; returns the
  /// router's error, or none.
  caf::error add_route(const std::string& id, const std::string& fn,
                       const std::string& config, const caf::actor& owner) {
    caf::scoped_actor self{sys};
    caf::error out;
    auto h
      = self->request(router, caf::infinite,
                      register_trigger{id, "http", fn, config, {}, owner, {}});
    run();
    h.receive([] {}, [&](caf::error& err) { out = std::move(err); });
    return out;
  }

  /// add_route for `GET <path>`, expecting success.
  void get_route(const std::string& id, const std::string& fn,
                 const std::string& path, const caf::actor& owner) {
    auto err = add_route(id, fn, R"({"api_path":")" + path + R"("})", owner);
    EXPECT_FALSE(err) << caf::to_string(err);
  }

  /// A route of node `node` whose peer is `peer`, as a peer sends it.
  void remote_route(const std::string& node, const std::string& id,
                    const std::string& fn, const std::string& path,
                    const caf::actor& peer) {
    caf::anon_send(
      router, atom::httproute_v,
      register_trigger{
        id, "http", fn, R"({"api_path":")" + path + R"("})", {}, peer, node});
    run();
  }

  void remote_unroute(const std::string& node, const std::string& id,
                      const caf::actor& peer) {
    caf::anon_send(router, atom::httproute_v,
                   unregister_trigger{id, peer, node});
    run();
  }

  void remove_route(const std::string& id, const caf::actor& owner) {
    caf::anon_send(router, unregister_trigger{id, owner, {}});
    run();
  }

  /// Sends one request and runs; returns its responder.
  std::shared_ptr<recording_responder>
  send(std::string method, std::string path, std::string query = {},
       protocol::http_fields headers = {}, std::string body = {}) {
    auto out = std::make_shared<recording_responder>();
    protocol::http_request req{std::move(method), std::move(path),
                               std::move(query), std::move(headers),
                               std::move(body)};
    caf::anon_send(router, http_call{std::move(req), out});
    run();
    return out;
  }

  /// The single response of `r`, or a 0-status one after failing the test.
  static protocol::http_response
  only(const std::shared_ptr<recording_responder>& r) {
    EXPECT_EQ(r->responses.size(), 1u);
    return r->responses.empty() ? protocol::http_response{0, {}, {}}
                                : r->responses.front();
  }

  static std::string member(const std::string& json, const char* key) {
    return protocol::find_member(json, key).value;
  }

  /// A member of the `{"error":{...}}` body of an error response.
  static std::string error_member(const protocol::http_response& res,
                                  const char* key) {
    return member(member(res.body, "error"), key);
  }
};

} // namespace

TEST_F(http_router_test, a_matching_route_calls_its_function_with_params) {
  get_route("t1", "fn.a", "users/:id", a);
  auto res = only(send("GET", "/users/42", "x=1&y=a%20b"));
  EXPECT_EQ(res.status, 200u);
  ASSERT_EQ(script_a->calls.size(), 1u);
  auto& data = script_a->calls[0].data;
  EXPECT_EQ(script_a->calls[0].function_id, "fn.a");
  EXPECT_EQ(member(data, "path_params"), R"({"id":"42"})");
  EXPECT_EQ(member(data, "query_params"), R"({"x":"1","y":"a b"})");
  EXPECT_EQ(member(data, "method"), "GET");
  EXPECT_EQ(member(data, "path"), "users/:id");
  EXPECT_EQ(script_b->calls.size(), 0u);
}

TEST_F(http_router_test, a_literal_segment_wins_over_a_parameter) {
  get_route("t1", "fn.a", "users/:id", a);
  get_route("t2", "fn.b", "users/me", b);
  EXPECT_EQ(only(send("GET", "/users/me")).status, 200u);
  EXPECT_EQ(script_b->calls.size(), 1u);
  EXPECT_EQ(script_a->calls.size(), 0u);
  EXPECT_EQ(only(send("HEAD", "/users/7")).status, 200u) << "HEAD as GET";
  EXPECT_EQ(script_a->calls.size(), 1u);
}

TEST_F(http_router_test, no_route_is_404) {
  get_route("t1", "fn.a", "users/:id", a);
  for (auto [method, path] :
       {std::pair{"GET", "/nothing"}, std::pair{"GET", "/users/1/more"},
        std::pair{"POST", "/users/1"}}) {
    auto res = only(send(method, path));
    EXPECT_EQ(res.status, 404u) << method << " " << path;
    EXPECT_EQ(error_member(res, "code"), "NOT_FOUND");
  }
  EXPECT_EQ(script_a->calls.size(), 0u);
}

TEST_F(http_router_test, a_json_body_that_is_not_json_is_400) {
  auto err = add_route("t1", "fn.a",
                       R"({"api_path":"orders","http_method":"POST"})", a);
  ASSERT_FALSE(err) << caf::to_string(err);
  auto res = only(send("POST", "/orders", {},
                       {{"content-type", "application/json"}}, "{\"a\":"));
  EXPECT_EQ(res.status, 400u);
  EXPECT_EQ(error_member(res, "code"), "BAD_REQUEST");
  EXPECT_EQ(script_a->calls.size(), 0u) << "the function is not called";
  auto ok = only(send("POST", "/orders", {},
                      {{"content-type", "application/json"}}, R"({"a":1})"));
  EXPECT_EQ(ok.status, 200u);
  ASSERT_EQ(script_a->calls.size(), 1u);
  EXPECT_EQ(member(script_a->calls[0].data, "body"), R"({"a":1})");
}

TEST_F(http_router_test, a_failed_call_is_500_with_an_error_id) {
  script_a->decide = [](const seen_call&) { return answer::fail; };
  get_route("t1", "fn.a", "boom", a);
  auto res = only(send("GET", "/boom"));
  EXPECT_EQ(res.status, 500u);
  EXPECT_EQ(error_member(res, "code"), "invocation_failed");
  EXPECT_EQ(error_member(res, "message"), "scripted failure");
  auto id = error_member(res, "error_id");
  EXPECT_EQ(id.size(), 32u) << id;
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  EXPECT_NE(error_member(only(send("GET", "/boom")), "error_id"), id)
    << "one id per failure";
}

TEST_F(http_router_test, no_answer_is_504_after_the_default_timeout) {
  script_a->decide = [](const seen_call&) { return answer::hold; };
  get_route("t1", "fn.a", "slow", a);
  auto r = send("GET", "/slow");
  ASSERT_EQ(script_a->calls.size(), 1u);
  EXPECT_TRUE(r->responses.empty());
  sched.advance_time(default_timeout - 1ms);
  run();
  EXPECT_TRUE(r->responses.empty()) << "too early";
  EXPECT_TRUE(sched.has_pending_timeout());
  sched.advance_time(1ms);
  sched.trigger_timeouts();
  run();
  auto res = only(r);
  EXPECT_EQ(res.status, 504u);
  EXPECT_EQ(error_member(res, "code"), "TIMEOUT");
  // The late answer changes nothing.
  release(a, true);
  EXPECT_EQ(r->responses.size(), 1u);
}

TEST_F(http_router_test, conflicting_parameter_names_are_refused) {
  get_route("t1", "fn.a", "items/:id", a);
  auto err = add_route("t2", "fn.b", R"({"api_path":"items/:name"})", b);
  ASSERT_TRUE(err);
  auto text = error_text(err);
  EXPECT_NE(text.find("conflicts with"), std::string::npos) << text;
  only(send("GET", "/items/3"));
  EXPECT_EQ(script_a->calls.size(), 1u) << "the first route stays";
  EXPECT_EQ(script_b->calls.size(), 0u);
  // The same trigger may change its own route's parameter name.
  get_route("t1", "fn.a", "items/:name", a);
  EXPECT_TRUE(add_route("t3", "fn.a", R"({"http_method":"GET"})", a))
    << "no api_path";
}

TEST_F(http_router_test, the_last_registration_of_a_route_wins) {
  get_route("t1", "fn.a", "hello", a);
  get_route("t2", "fn.b", "hello", b);
  EXPECT_EQ(only(send("GET", "/hello")).status, 200u);
  EXPECT_EQ(script_a->calls.size(), 0u);
  EXPECT_EQ(script_b->calls.size(), 1u);
  // The first trigger going away leaves the route to its new owner.
  remove_route("t1", a);
  EXPECT_EQ(only(send("GET", "/hello")).status, 200u);
  EXPECT_EQ(script_b->calls.size(), 2u);
}

TEST_F(http_router_test, unregistering_removes_the_route) {
  get_route("t1", "fn.a", "bye", a);
  get_route("t2", "fn.a", "stay", a);
  EXPECT_EQ(only(send("GET", "/bye")).status, 200u);
  remove_route("t1", a);
  EXPECT_EQ(only(send("GET", "/bye")).status, 404u);
  EXPECT_EQ(only(send("GET", "/stay")).status, 200u) << "only its own route";
  EXPECT_EQ(script_a->calls.size(), 2u);
  // The path can be registered again.
  get_route("t3", "fn.b", "bye", b);
  EXPECT_EQ(only(send("GET", "/bye")).status, 200u);
  EXPECT_EQ(script_b->calls.size(), 1u);
}

TEST_F(http_router_test, an_unregister_by_a_non_owner_leaves_the_route) {
  get_route("t1", "fn.a", "mine", a);
  remove_route("t1", b); // not b's trigger: nothing changes
  EXPECT_EQ(only(send("GET", "/mine")).status, 200u);
  // The real owner can still remove it.
  remove_route("t1", a);
  EXPECT_EQ(only(send("GET", "/mine")).status, 404u);
}

// -- other nodes' routes ------------------------------------------------------

TEST_F(http_router_test, a_remote_route_is_served_through_the_registry) {
  auto peer = spawn(idle_peer, std::string{"b"});
  remote_route("b", "t1", "fn.a", "users/:id", peer);
  auto res = only(send("GET", "/users/7", "q=1"));
  EXPECT_EQ(res.status, 200u);
  ASSERT_EQ(script_a->calls.size(), 1u);
  auto& data = script_a->calls[0].data;
  EXPECT_EQ(member(data, "path_params"), R"({"id":"7"})");
  EXPECT_EQ(member(data, "query_params"), R"({"q":"1"})");
  EXPECT_EQ(member(data, "path"), "users/:id");
  EXPECT_EQ(only(send("POST", "/users/7")).status, 404u) << "GET only";
}

TEST_F(http_router_test, a_local_route_wins_over_a_remote_one_of_its_path) {
  auto peer = spawn(idle_peer, std::string{"b"});
  // Remote first, then local: the local one serves.
  remote_route("b", "r1", "fn.b", "same", peer);
  get_route("t1", "fn.a", "same", a);
  only(send("GET", "/same"));
  EXPECT_EQ(script_a->calls.size(), 1u);
  EXPECT_EQ(script_b->calls.size(), 0u);
  // A remote registration afterwards does not take it over either.
  remote_route("c", "r2", "fn.b", "same", peer);
  only(send("GET", "/same"));
  EXPECT_EQ(script_a->calls.size(), 2u);
  EXPECT_EQ(script_b->calls.size(), 0u);
  // Without the local route the remote ones serve again.
  remove_route("t1", a);
  EXPECT_EQ(only(send("GET", "/same")).status, 200u);
  EXPECT_EQ(script_b->calls.size(), 1u);
  // More specific still wins first: a remote literal over a local parameter.
  get_route("t2", "fn.a", "users/:id", a);
  remote_route("b", "r3", "fn.b", "users/me", peer);
  only(send("GET", "/users/me"));
  EXPECT_EQ(script_b->calls.size(), 2u);
  only(send("GET", "/users/1"));
  EXPECT_EQ(script_a->calls.size(), 3u);
}

TEST_F(http_router_test, a_remote_route_never_refuses_or_evicts_a_local_one) {
  auto peer = spawn(idle_peer, std::string{"b"});
  remote_route("b", "r1", "fn.b", "items/:name", peer);
  // Not a conflict: parameter names are checked among local routes only.
  get_route("t1", "fn.a", "items/:id", a);
  only(send("GET", "/items/3"));
  EXPECT_EQ(script_a->calls.size(), 1u) << "the tie goes to the local route";
  remote_route("b", "r2", "fn.b", "items/:other", peer);
  only(send("GET", "/items/4"));
  EXPECT_EQ(script_a->calls.size(), 2u);
  EXPECT_EQ(script_b->calls.size(), 0u);
}

TEST_F(http_router_test, among_remote_routes_of_a_path_the_latest_wins) {
  auto peer_b = spawn(idle_peer, std::string{"b"});
  auto peer_c = spawn(idle_peer, std::string{"c"});
  remote_route("b", "t1", "fn.a", "p", peer_b);
  remote_route("c", "t1", "fn.b", "p", peer_c); // the same id on another node
  only(send("GET", "/p"));
  EXPECT_EQ(script_b->calls.size(), 1u);
  remote_unroute("c", "t1", peer_c);
  only(send("GET", "/p"));
  EXPECT_EQ(script_a->calls.size(), 1u) << "b's route serves again";
  remote_unroute("b", "t1", peer_b);
  EXPECT_EQ(only(send("GET", "/p")).status, 404u);
}

TEST_F(http_router_test, a_remote_route_changes_with_its_trigger_id) {
  auto peer = spawn(idle_peer, std::string{"b"});
  remote_route("b", "t1", "fn.a", "old", peer);
  remote_route("b", "t1", "fn.b", "new", peer);
  EXPECT_EQ(only(send("GET", "/old")).status, 404u);
  EXPECT_EQ(only(send("GET", "/new")).status, 200u);
  EXPECT_EQ(script_b->calls.size(), 1u);
}

TEST_F(http_router_test, only_the_owning_peer_removes_a_remote_route) {
  auto peer_b = spawn(idle_peer, std::string{"b"});
  auto peer_c = spawn(idle_peer, std::string{"c"});
  get_route("t1", "fn.a", "local", a);
  remote_route("b", "t1", "fn.b", "remote", peer_b);
  remote_unroute("b", "t1", peer_c); // not its peer
  remote_unroute("c", "t1", peer_b); // not that node's trigger
  remote_unroute("b", "t1", nullptr);
  EXPECT_EQ(only(send("GET", "/remote")).status, 200u);
  // A remote unregister never touches the local trigger of the same id.
  EXPECT_EQ(only(send("GET", "/local")).status, 200u);
  remove_route("t1", peer_b); // a plain unregister is for local routes
  EXPECT_EQ(only(send("GET", "/remote")).status, 200u);
  remote_unroute("b", "t1", peer_b);
  EXPECT_EQ(only(send("GET", "/remote")).status, 404u);
  EXPECT_EQ(only(send("GET", "/local")).status, 200u);
}

TEST_F(http_router_test, a_peer_going_down_takes_its_routes_along) {
  auto peer_b = spawn(idle_peer, std::string{"b"});
  auto peer_c = spawn(idle_peer, std::string{"c"});
  remote_route("b", "t1", "fn.a", "one", peer_b);
  remote_route("b", "t2", "fn.a", "two/:x", peer_b);
  remote_route("c", "t1", "fn.b", "three", peer_c);
  caf::anon_send_exit(peer_b, caf::exit_reason::user_shutdown);
  run();
  EXPECT_EQ(only(send("GET", "/one")).status, 404u);
  EXPECT_EQ(only(send("GET", "/two/1")).status, 404u);
  EXPECT_EQ(only(send("GET", "/three")).status, 200u) << "c's routes stay";
  // A route from a peer that is already gone does not stay either.
  remote_route("b", "t3", "fn.a", "late", peer_b);
  EXPECT_EQ(only(send("GET", "/late")).status, 404u);
}

TEST_F(http_router_test, bad_remote_routes_are_ignored) {
  auto peer = spawn(idle_peer, std::string{"b"});
  for (auto config :
       {"not json", "{}", R"({"api_path":"x","http_method":"BREW"})",
        R"({"api_path":7})", ""}) {
    caf::anon_send(
      router, atom::httproute_v,
      register_trigger{"bad", "http", "fn.a", config, {}, peer, "b"});
    run();
  }
  // Without a node or an owner it is not a remote route.
  caf::anon_send(router, atom::httproute_v,
                 register_trigger{
                   "t1", "http", "fn.a", R"({"api_path":"x"})", {}, peer, {}});
  caf::anon_send(
    router, atom::httproute_v,
    register_trigger{
      "t2", "http", "fn.a", R"({"api_path":"x"})", {}, nullptr, "b"});
  run();
  EXPECT_EQ(only(send("GET", "/x")).status, 404u);
  remote_route("b", "ok", "fn.a", "x", peer);
  EXPECT_EQ(only(send("GET", "/x")).status, 200u) << "the router still works";
}

TEST_F(http_router_test, the_watcher_hears_of_local_routes_only) {
  auto seen = std::make_shared<std::vector<std::string>>();
  auto peer = spawn(idle_peer, std::string{"b"});
  get_route("t0", "fn.a", "before", a);
  auto watcher = spawn(recording_watcher, seen);
  caf::anon_send(router, atom::watch_v, watcher);
  run();
  EXPECT_EQ(*seen, (std::vector<std::string>{
                     "router", R"(+t0 fn.a {"api_path":"before"})"}));
  seen->clear();
  get_route("t1", "fn.a", "p", a);
  remote_route("b", "r1", "fn.b", "q", peer);
  get_route("t2", "fn.b", "p", b); // takes t1's route over
  remove_route("t2", b);
  caf::anon_send_exit(peer, caf::exit_reason::user_shutdown);
  run();
  EXPECT_EQ(*seen,
            (std::vector<std::string>{R"(+t1 fn.a {"api_path":"p"})", "-t1",
                                      R"(+t2 fn.b {"api_path":"p"})", "-t2"}));
  // A second watch by the same actor does not repeat the snapshot.
  seen->clear();
  caf::anon_send(router, atom::watch_v, watcher);
  run();
  EXPECT_TRUE(seen->empty());
}
