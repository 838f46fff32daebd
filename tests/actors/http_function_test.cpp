// The actor serving an HTTP-invoked function, with a fake HTTP client the
// test answers by hand: it registers in the registry, turns each invoke
// into one request, maps the answer, and goes away with its session.
#include "actors/http_function_actor.hpp"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/exit_reason.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actor_fixture.hpp"
#include "actors/registry_actor.hpp"

using namespace troupe;
using namespace troupe::testing;

namespace {

/// Keeps every request; the test answers them with answer().
struct fake_client : protocol::http_client {
  struct sent {
    protocol::outbound_request req;
    callback done;
  };
  std::vector<sent> calls;

  void send(protocol::outbound_request req, callback done) override {
    calls.push_back({std::move(req), std::move(done)});
  }
};

/// Stands in for the session of worker `name`. (It takes an argument: CAF
/// 0.17.6 dereferences a null argument tuple when a function actor is
/// spawned without any, which UBSan reports.)
caf::behavior idle_session(const std::string& /* name */) {
  return {[](int) {}};
}

struct http_function_test : actor_fixture {
  std::shared_ptr<fake_client> client = std::make_shared<fake_client>();
  std::shared_ptr<http_functions_context> ctx
    = std::make_shared<http_functions_context>();
  caf::actor registry = spawn(registry_actor, std::string{"registry"}, nullptr);
  caf::actor session = spawn(idle_session, std::string{"w"});

  http_function_test() {
    ctx->cfg.enabled = true;
    ctx->cfg.default_timeout_ms = 1234;
    ctx->client = client;
  }

  caf::actor start(const std::string& id, const std::string& url) {
    protocol::http_function_error err;
    auto inv = protocol::parse_http_invocation(
      R"({"url":")" + url + R"(","headers":{"x-a":"b"}})", err);
    EXPECT_TRUE(inv) << err.message;
    auto fn = spawn(http_function_actor,
                    http_function_spec{id, "desc", "", std::move(*inv)}, ctx,
                    registry, session);
    run();
    return fn;
  }

  /// Calls `id` through the registry; `respond` answers the request.
  template <class F>
  invoke_result call(const std::string& id, F respond) {
    caf::scoped_actor self{sys};
    auto h = self->request(registry, caf::infinite, invoke{id, R"({"n":1})"});
    run();
    respond();
    run();
    invoke_result out;
    out.ok = false;
    h.receive([&](invoke_result& r) { out = std::move(r); },
              [&](caf::error& e) {
                ADD_FAILURE() << "request failed: " << caf::to_string(e);
              });
    return out;
  }

  void answer(size_t i, unsigned status, std::string body) {
    protocol::outbound_response res;
    res.status = status;
    res.body = std::move(body);
    client->calls.at(i).done(std::move(res));
  }
};

} // namespace

TEST_F(http_function_test,
       an_invoke_becomes_one_request_and_its_answer_the_result) {
  start("hook::a", "http://127.0.0.1:9/x?q=1");
  auto r = call("hook::a", [&] {
    ASSERT_EQ(client->calls.size(), 1u);
    const auto& req = client->calls[0].req;
    EXPECT_EQ(req.method, "POST");
    EXPECT_EQ(req.url.host, "127.0.0.1");
    EXPECT_EQ(req.url.port, "9");
    EXPECT_EQ(req.url.target, "/x?q=1");
    EXPECT_EQ(req.body, R"({"n":1})");
    EXPECT_EQ(req.timeout.count(), 1234);
    auto has = [&](const std::string& k, const std::string& v) {
      for (auto& h : req.headers)
        if (h.first == k && h.second == v) return true;
      return false;
    };
    EXPECT_TRUE(has("x-a", "b"));
    EXPECT_TRUE(has("x-iii-Function-Path", "hook::a"));
    EXPECT_TRUE(has("Content-Type", "application/json"));
    answer(0, 200, R"({"ok":true})");
  });
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.body, R"({"ok":true})");
}

TEST_F(http_function_test, a_failed_answer_is_an_error_result) {
  start("hook::a", "http://127.0.0.1:9/x");
  auto r = call("hook::a", [&] { answer(0, 503, ""); });
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error_code(), "http_error");
}

TEST_F(http_function_test, the_function_goes_away_with_its_session) {
  start("hook::a", "http://127.0.0.1:9/x");
  auto r = call("hook::a", [&] {
    caf::anon_send_exit(session, caf::exit_reason::user_shutdown);
    run();
  });
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error_code(), "invocation_stopped");
  r = call("hook::a", [] {});
  EXPECT_EQ(r.error_code(), "function_not_found");
}

TEST_F(http_function_test, an_unregister_lets_calls_in_flight_finish) {
  auto fn = start("hook::a", "http://127.0.0.1:9/x");
  auto r = call("hook::a", [&] {
    caf::anon_send_exit(fn, caf::exit_reason::normal);
    run();
    answer(0, 200, "7");
  });
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.body, "7");
  r = call("hook::a", [] {});
  EXPECT_EQ(r.error_code(), "function_not_found");
}
