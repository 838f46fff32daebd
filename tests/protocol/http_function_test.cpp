// HTTP-invoked functions without I/O: the `invocation` object, the checks
// against iii-http-functions, the request built for a call and the mapping
// of the endpoint's answer.
#include "protocol/http_function.hpp"

#include <cstdlib>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "protocol/frames.hpp"

using namespace troupe;
using namespace troupe::protocol;
using nlohmann::json;

namespace {

std::optional<http_invocation> parse(const std::string& text,
                                     std::string* message = nullptr) {
  http_function_error err;
  auto x = parse_http_invocation(text, err);
  if (!x && message != nullptr) *message = err.message;
  if (!x) {
    EXPECT_EQ(err.code, "invalid_invocation");
  }
  return x;
}

json error_of(const http_outcome& x) {
  EXPECT_FALSE(x.ok);
  return json::parse(x.body);
}

http_outcome map(unsigned status, std::string body) {
  outbound_response res;
  res.status = status;
  res.body = std::move(body);
  return map_outbound_response(res, "POST http://h/x",
                               std::chrono::milliseconds(100), 10);
}

} // namespace

TEST(http_url, splits_scheme_host_port_and_target) {
  auto u = parse_http_url("http://Example.com:8080/a/b?c=d#frag");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "http");
  EXPECT_EQ(u->host, "Example.com");
  EXPECT_EQ(u->port, "8080");
  EXPECT_EQ(u->target, "/a/b?c=d");
  u = parse_http_url("http://[::1]");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "80");
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(parse_http_url("http://h?x=1")->target, "/?x=1");
  for (auto bad : {"ftp://h/x", "h/x", "http://", "http://u@h/", "http://h:0/",
                   "http://h:99999/", "http://h:8a/", "http://h/a b"})
    EXPECT_FALSE(parse_http_url(bad)) << bad;
}

TEST(http_invocation, reads_every_field_with_defaults) {
  auto x = parse(R"({"url":"http://h/x"})");
  ASSERT_TRUE(x);
  EXPECT_EQ(x->method, "POST");
  EXPECT_EQ(x->timeout_ms, 0u);
  x = parse(R"({"url":"http://h/x","method":"get","timeout_ms":50,
                "headers":{"a":"1","b":"2"},"auth":null})");
  ASSERT_TRUE(x);
  EXPECT_EQ(x->method, "GET");
  EXPECT_EQ(x->timeout_ms, 50u);
  ASSERT_EQ(x->headers.size(), 2u);
  x = parse(R"({"url":"http://h/x","auth":{"type":"api_key","header":"X-K",
                "value_key":"ENV_K"}})");
  ASSERT_TRUE(x);
  EXPECT_EQ(x->auth.type, "api_key");
  EXPECT_EQ(x->auth.header, "X-K");
  EXPECT_EQ(x->auth.key, "ENV_K");
}

TEST(http_invocation, bad_fields_are_named_in_the_error) {
  std::string m;
  EXPECT_FALSE(parse(R"({"method":"POST"})", &m));
  EXPECT_EQ(m, "invocation.url is required");
  EXPECT_FALSE(parse(R"({"url":5})", &m));
  EXPECT_NE(m.find("invocation.url must be a string"), std::string::npos);
  EXPECT_FALSE(parse(R"({"url":"file:///etc/passwd"})", &m));
  EXPECT_NE(m.find("http://"), std::string::npos);
  EXPECT_FALSE(parse(R"({"url":"http://h","method":"TRACE"})", &m));
  EXPECT_NE(m.find("GET, POST, PUT, PATCH or DELETE"), std::string::npos);
  EXPECT_FALSE(parse(R"({"url":"http://h","method":1})", &m));
  EXPECT_FALSE(parse(R"({"url":"http://h","timeout_ms":-1})", &m));
  EXPECT_NE(m.find("timeout_ms"), std::string::npos);
  EXPECT_FALSE(parse(R"({"url":"http://h","timeout_ms":"5"})", &m));
  EXPECT_FALSE(parse(R"({"url":"http://h","headers":[]})", &m));
  EXPECT_FALSE(parse(R"({"url":"http://h","headers":{"a":1}})", &m));
  EXPECT_NE(m.find("invocation.headers.a"), std::string::npos);
  EXPECT_FALSE(parse(R"({"url":"http://h","headers":{"a":"x\r\nb: y"}})", &m));
  EXPECT_FALSE(parse(R"({"url":"http://h","auth":{"type":"magic"}})", &m));
  EXPECT_FALSE(parse(R"({"url":"http://h","auth":{"type":"bearer"}})", &m));
  EXPECT_NE(m.find("token_key"), std::string::npos);
  EXPECT_FALSE(parse(R"("http://h")", &m));
  EXPECT_FALSE(parse(R"({"url":"http://h")", &m));
}

TEST(http_invocation, a_registerfunction_frame_carries_it_or_is_a_bad_frame) {
  auto f = parse_frame(R"({"type":"registerfunction","id":"f",
    "invocation":{"url":"http://h/x","method":"PUT"}})");
  auto* x = std::get_if<register_function_frame>(&f);
  ASSERT_NE(x, nullptr);
  ASSERT_TRUE(x->invocation);
  EXPECT_EQ(x->invocation->method, "PUT");
  f = parse_frame(R"({"type":"registerfunction","id":"f","invocation":null})");
  x = std::get_if<register_function_frame>(&f);
  ASSERT_NE(x, nullptr);
  EXPECT_FALSE(x->invocation);
  f = parse_frame(R"({"type":"registerfunction","id":"f","invocation":{}})");
  auto* bad = std::get_if<bad_frame>(&f);
  ASSERT_NE(bad, nullptr);
  EXPECT_EQ(bad->code, "invalid_invocation");
  EXPECT_EQ(bad->message,
            R"(registerfunction "f": invocation.url is required)");
}

TEST(http_invocation, host_globs_and_private_addresses) {
  EXPECT_TRUE(host_matches("*", "a.b"));
  EXPECT_TRUE(host_matches("*.example.com", "API.example.com"));
  EXPECT_FALSE(host_matches("*.example.com", "example.com"));
  EXPECT_TRUE(host_matches("h?st", "host"));
  EXPECT_FALSE(host_matches("host", "hostx"));
  for (auto ip :
       {"127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254",
        "0.0.0.0", "::1", "fd00::1", "fe80::1", "::ffff:127.0.0.1"})
    EXPECT_TRUE(is_private_address(ip)) << ip;
  for (auto ip :
       {"8.8.8.8", "172.32.0.1", "2001:4860:4860::8888", "example.com"})
    EXPECT_FALSE(is_private_address(ip)) << ip;
}

TEST(http_invocation,
     engine_checks_refuse_https_unlisted_hosts_and_private_ips) {
  http_functions_config cfg;
  auto check = [&](const std::string& url) {
    auto x = parse(R"({"url":")" + url + R"("})");
    return check_http_invocation(*x, cfg);
  };
  EXPECT_EQ(check("https://example.com")->code, "url_validation_failed");
  EXPECT_EQ(check("http://127.0.0.1:1/")->code, "url_validation_failed");
  EXPECT_FALSE(check("http://example.com/"));
  cfg.block_private_ips = false;
  EXPECT_FALSE(check("http://127.0.0.1:1/"));
  cfg.url_allowlist = {"*.example.com"};
  EXPECT_EQ(check("http://127.0.0.1:1/")->code, "url_validation_failed");
  EXPECT_FALSE(check("http://api.example.com/"));
  auto x = parse(
    R"({"url":"http://api.example.com","auth":{"type":"bearer","token_key":"TROUPE_TEST_UNSET_TOKEN"}})");
  EXPECT_EQ(check_http_invocation(*x, cfg)->code, "missing_env_var");
  x = parse(
    R"({"url":"http://api.example.com","auth":{"type":"hmac","secret_key":"K"}})");
  EXPECT_EQ(check_http_invocation(*x, cfg)->code, "unsupported_auth");
}

TEST(http_invocation, the_request_carries_iii_headers_and_the_auth) {
  setenv("TROUPE_TEST_TOKEN", "s3cret", 1);
  auto x
    = parse(R"({"url":"http://h:81/p","method":"PATCH","headers":{"x-a":"1"},
                     "auth":{"type":"bearer","token_key":"TROUPE_TEST_TOKEN"}})");
  http_functions_config cfg;
  cfg.default_timeout_ms = 777;
  auto req = make_outbound_request(*x, cfg, "fn", R"({"a":1})", "id-1", 42);
  EXPECT_EQ(req.method, "PATCH");
  EXPECT_EQ(req.timeout.count(), 777);
  EXPECT_EQ(req.body, R"({"a":1})");
  std::vector<std::pair<std::string, std::string>> want{
    {"Content-Type", "application/json"},
    {"x-iii-Function-Path", "fn"},
    {"x-iii-Invocation-ID", "id-1"},
    {"x-iii-Timestamp", "42"},
    {"x-a", "1"},
    {"Authorization", "Bearer s3cret"}};
  EXPECT_EQ(req.headers, want);
}

TEST(http_invocation, answers_map_to_results_and_errors) {
  EXPECT_EQ(map(200, R"( {"a": 1} )").body, R"( {"a": 1} )");
  EXPECT_EQ(map(204, "").body, "null");
  EXPECT_TRUE(map(200, "").ok);
  EXPECT_EQ(error_of(map(200, "not json"))["code"], "invalid_response");
  EXPECT_EQ(map(302, "<html>").body, "null");
  EXPECT_TRUE(map(302, "<html>").ok);
  auto e = error_of(map(500, R"({"error":{"code":"down","message":"m"}})"));
  EXPECT_EQ(e["code"], "down");
  EXPECT_EQ(e["message"], "HTTP 500: m from POST http://h/x");
  e = error_of(map(404, "nope"));
  EXPECT_EQ(e["code"], "http_error");
  EXPECT_EQ(e["message"], "HTTP 404 from POST http://h/x");
  auto fail = [](outbound_failure f) {
    outbound_response res;
    res.failure = f;
    res.detail = "why";
    return json::parse(
      map_outbound_response(res, "GET u", std::chrono::milliseconds(100), 10)
        .body)["code"];
  };
  EXPECT_EQ(fail(outbound_failure::timeout), "http_timeout");
  EXPECT_EQ(fail(outbound_failure::connect), "http_request_failed");
  EXPECT_EQ(fail(outbound_failure::dns), "http_request_failed");
  EXPECT_EQ(fail(outbound_failure::too_large), "response_too_large");
  EXPECT_EQ(fail(outbound_failure::bad_response), "http_response_failed");
  EXPECT_EQ(fail(outbound_failure::blocked), "url_validation_failed");
}
