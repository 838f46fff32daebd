// Tests for admin/admin_routes: routes, the token, read_only, the
// same-origin and JSON rules for changes, and the query of list routes.
#include "admin/admin_routes.hpp"

#include <string>
#include <utility>

#include <gtest/gtest.h>

using namespace troupe;
using namespace troupe::admin;

namespace {

protocol::http_request get(std::string path, std::string query = {}) {
  protocol::http_request req;
  req.method = "GET";
  req.path = std::move(path);
  req.query = std::move(query);
  req.headers = {{"host", "127.0.0.1:3113"}};
  return req;
}

protocol::http_request post(std::string path, std::string body = "{}") {
  protocol::http_request req;
  req.method = "POST";
  req.path = std::move(path);
  req.headers = {{"host", "127.0.0.1:3113"},
                 {"content-type", "application/json"}};
  req.body = std::move(body);
  return req;
}

protocol::http_request with(protocol::http_request req, std::string name,
                            std::string value) {
  req.headers.emplace_back(std::move(name), std::move(value));
  return req;
}

admin_policy open_policy() {
  admin_policy p;
  p.has_asset = [](std::string_view name) {
    return name == "index.html" || name == "app.js";
  };
  return p;
}

admin_policy token_policy() {
  auto p = open_policy();
  p.token = "s3cr3t";
  return p;
}

std::string header_of(const protocol::http_response& res,
                      const std::string& name) {
  for (const auto& [k, v] : res.headers)
    if (k == name) return v;
  return {};
}

/// The response of a refused request, checked for its status and code.
testing::AssertionResult refused(const admin_route& r, unsigned status,
                                 const std::string& code) {
  if (r.kind != route_kind::answered)
    return testing::AssertionFailure() << "not refused";
  if (r.response.status != status)
    return testing::AssertionFailure()
           << "status " << r.response.status << ", body " << r.response.body;
  if (r.response.body.find("\"code\":\"" + code + "\"") == std::string::npos)
    return testing::AssertionFailure() << "body " << r.response.body;
  if (header_of(r.response, "Content-Type") != "application/json")
    return testing::AssertionFailure() << "not JSON";
  return testing::AssertionSuccess();
}

} // namespace

TEST(admin_routes, health_checks_and_files_need_no_token) {
  auto p = token_policy();
  EXPECT_EQ(route_request(get("/healthz"), p).kind, route_kind::healthz);
  EXPECT_EQ(route_request(get("/readyz"), p).kind, route_kind::readyz);
  auto root = route_request(get("/"), p);
  EXPECT_EQ(root.kind, route_kind::asset);
  EXPECT_EQ(root.asset, "index.html");
  EXPECT_EQ(route_request(get("/app.js"), p).asset, "app.js");
  EXPECT_TRUE(refused(route_request(get("/nope.js"), p), 404, "not_found"));
}

TEST(admin_routes, the_api_and_metrics_need_the_token) {
  auto p = token_policy();
  for (auto path : {"/api/status", "/api/queues", "/metrics", "/api/unknown"}) {
    auto r = route_request(get(path), p);
    EXPECT_TRUE(refused(r, 401, "unauthorized")) << path;
    EXPECT_NE(header_of(r.response, "WWW-Authenticate").find("Bearer"),
              std::string::npos);
  }
  auto wrong = with(get("/api/queues"), "authorization", "Bearer s3cr3x");
  EXPECT_TRUE(refused(route_request(wrong, p), 401, "unauthorized"));
  auto longer = with(get("/api/queues"), "authorization", "Bearer s3cr3tt");
  EXPECT_TRUE(refused(route_request(longer, p), 401, "unauthorized"));
  auto basic = with(get("/api/queues"), "authorization", "Basic s3cr3t");
  EXPECT_TRUE(refused(route_request(basic, p), 401, "unauthorized"));
  auto good = with(get("/api/queues"), "authorization", "Bearer s3cr3t");
  auto r = route_request(good, p);
  EXPECT_EQ(r.kind, route_kind::api);
  EXPECT_EQ(r.op, api_op::queues);
  auto metrics = with(get("/metrics"), "authorization", "bearer s3cr3t");
  EXPECT_EQ(route_request(metrics, p).kind, route_kind::metrics);
}

TEST(admin_routes, same_secret_compares_whole_texts) {
  EXPECT_TRUE(same_secret("abc", "abc"));
  EXPECT_FALSE(same_secret("abd", "abc"));
  EXPECT_FALSE(same_secret("ab", "abc"));
  EXPECT_FALSE(same_secret("abcd", "abc"));
  EXPECT_FALSE(same_secret("", "abc"));
  EXPECT_TRUE(same_secret("", ""));
}

TEST(admin_routes, api_routes_carry_queue_id_and_query) {
  auto p = open_policy();
  auto jobs = route_request(
    get("/api/queues/my%20q/jobs", "state=dead&offset=10&limit=20"), p);
  ASSERT_EQ(jobs.kind, route_kind::api);
  EXPECT_EQ(jobs.op, api_op::jobs);
  EXPECT_EQ(jobs.queue, "my q");
  EXPECT_EQ(jobs.state, "dead");
  EXPECT_EQ(jobs.offset, 10u);
  EXPECT_EQ(jobs.limit, 20u);
  auto defaults = route_request(get("/api/queues/q/jobs"), p);
  EXPECT_EQ(defaults.state, "waiting");
  EXPECT_EQ(defaults.offset, 0u);
  EXPECT_EQ(defaults.limit, 50u);
  auto job = route_request(get("/api/jobs/abc-1", "queue=orders"), p);
  EXPECT_EQ(job.op, api_op::job);
  EXPECT_EQ(job.id, "abc-1");
  EXPECT_EQ(job.queue, "orders");
  EXPECT_EQ(route_request(get("/api/queues/q/groups"), p).op, api_op::groups);
  EXPECT_EQ(route_request(get("/api/queues/q/dlq"), p).op, api_op::dlq);
  EXPECT_EQ(route_request(get("/api/workers"), p).op, api_op::workers);
  EXPECT_EQ(route_request(get("/api/status"), p).op, api_op::status);
  EXPECT_EQ(route_request(post("/api/queues/q/pause"), p).op, api_op::pause);
  EXPECT_EQ(route_request(post("/api/queues/q/resume"), p).op, api_op::resume);
  EXPECT_EQ(route_request(post("/api/queues/q/redrive"), p).op,
            api_op::redrive);
  EXPECT_EQ(route_request(post("/api/queues/q/discard"), p).op,
            api_op::discard);
  EXPECT_EQ(route_request(post("/api/queues/q/retry_now"), p).op,
            api_op::retry_now);
  EXPECT_EQ(route_request(post("/api/queues/q/enqueue"), p).op,
            api_op::enqueue);
}

TEST(admin_routes, bad_queries_and_paths_are_refused) {
  auto p = open_policy();
  EXPECT_TRUE(refused(route_request(get("/api/queues/q/jobs", "limit=-1"), p),
                      400, "bad_request"));
  EXPECT_TRUE(refused(route_request(get("/api/queues/q/jobs", "offset=x"), p),
                      400, "bad_request"));
  EXPECT_TRUE(refused(
    route_request(get("/api/queues/q/jobs", "limit=99999999999999999999"), p),
    400, "bad_request"));
  EXPECT_TRUE(refused(route_request(get("/api/queues/q/jobs", "state=%zz"), p),
                      400, "bad_request"));
  EXPECT_TRUE(refused(route_request(get("/api/queues/%00/jobs"), p), 400,
                      "bad_request"));
  EXPECT_TRUE(
    refused(route_request(get("/api/queues/q/nope"), p), 404, "not_found"));
  EXPECT_TRUE(refused(route_request(get("/api/queues/q"), p), 404,
                      "not_found"));
  EXPECT_TRUE(refused(route_request(get("/api"), p), 404, "not_found"));
  EXPECT_TRUE(
    refused(route_request(get("/api/queues/q/jobs/x"), p), 404, "not_found"));
}

TEST(admin_routes, wrong_methods_get_405_with_allow) {
  auto p = open_policy();
  auto r = route_request(get("/api/queues/q/pause"), p);
  EXPECT_TRUE(refused(r, 405, "method_not_allowed"));
  EXPECT_EQ(header_of(r.response, "Allow"), "POST");
  auto q = route_request(post("/api/queues"), p);
  EXPECT_TRUE(refused(q, 405, "method_not_allowed"));
  EXPECT_EQ(header_of(q.response, "Allow"), "GET");
  EXPECT_TRUE(refused(route_request(post("/healthz"), p), 405,
                      "method_not_allowed"));
  auto del = get("/api/queues");
  del.method = "DELETE";
  EXPECT_TRUE(refused(route_request(del, p), 405, "method_not_allowed"));
}

TEST(admin_routes, changes_come_as_json_from_the_same_origin) {
  auto p = open_policy();
  auto same = with(post("/api/queues/q/pause"), "origin",
                   "http://127.0.0.1:3113");
  EXPECT_EQ(route_request(same, p).kind, route_kind::api);
  auto fetch_same = with(same, "sec-fetch-site", "same-origin");
  EXPECT_EQ(route_request(fetch_same, p).kind, route_kind::api);
  auto other = with(post("/api/queues/q/pause"), "origin",
                    "http://evil.example");
  EXPECT_TRUE(refused(route_request(other, p), 403, "forbidden"));
  auto cross = with(post("/api/queues/q/pause"), "sec-fetch-site",
                    "cross-site");
  EXPECT_TRUE(refused(route_request(cross, p), 403, "forbidden"));
  auto form = post("/api/queues/q/pause");
  form.headers = {{"host", "127.0.0.1:3113"},
                  {"content-type", "application/x-www-form-urlencoded"}};
  EXPECT_TRUE(refused(route_request(form, p), 403, "forbidden"));
  auto none = post("/api/queues/q/pause");
  none.headers = {{"host", "127.0.0.1:3113"}};
  EXPECT_TRUE(refused(route_request(none, p), 403, "forbidden"));
  auto charset = post("/api/queues/q/pause");
  charset.headers = {{"host", "127.0.0.1:3113"},
                     {"content-type", "Application/JSON; charset=utf-8"}};
  EXPECT_EQ(route_request(charset, p).kind, route_kind::api);
}

TEST(admin_routes, read_only_refuses_changes_but_not_reads) {
  auto p = open_policy();
  p.read_only = true;
  EXPECT_TRUE(refused(route_request(post("/api/queues/q/redrive"), p), 403,
                      "read_only"));
  EXPECT_TRUE(refused(route_request(post("/api/queues/q/enqueue"), p), 403,
                      "read_only"));
  EXPECT_EQ(route_request(get("/api/queues"), p).kind, route_kind::api);
}

TEST(admin_routes, percent_decode_refuses_bad_escapes) {
  EXPECT_EQ(percent_decode("a%2Fb%20c"), std::optional<std::string>{"a/b c"});
  EXPECT_FALSE(percent_decode("%"));
  EXPECT_FALSE(percent_decode("%4"));
  EXPECT_FALSE(percent_decode("%g0"));
  EXPECT_FALSE(percent_decode("a%00"));
}
