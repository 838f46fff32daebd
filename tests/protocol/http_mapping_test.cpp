// Tests for protocol/http_mapping: http trigger configs, route matching and
// conflicts, query parsing, the request object and the response mapping of
// iii's HTTP triggers (README: HTTP triggers).
#include "protocol/http_mapping.hpp"

#include <stdexcept>
#include <string>
#include <vector>

#include <caf/message.hpp>
#include <gtest/gtest.h>

using namespace troupe::protocol;

namespace {

http_route route(const std::string& config) {
  auto r = parse_http_route(config);
  if (!r) throw std::runtime_error("unexpected error for " + config);
  return std::move(*r);
}

std::string route_error(const std::string& config) {
  auto r = parse_http_route(config);
  if (r) return "(no error)";
  auto& ctx = r.error().context();
  return ctx.match_elements<std::string>() ? ctx.get_as<std::string>(0)
                                           : "(no message)";
}

http_params match(const std::string& api_path, const std::string& path,
                  bool* matched = nullptr) {
  http_params params;
  auto ok = match_route(route(R"({"api_path":")" + api_path + R"("})"),
                        split_path(path), params);
  if (matched) *matched = ok;
  return params;
}

bool matches(const std::string& api_path, const std::string& path) {
  bool ok = false;
  match(api_path, path, &ok);
  return ok;
}

std::string header(const http_response& res, const std::string& name) {
  for (auto& h : res.headers)
    if (h.first == name) return h.second;
  return "(absent)";
}

} // namespace

// -- registration ------------------------------------------------------------

TEST(http_route_config, api_path_is_required) {
  EXPECT_EQ(route_error(R"({"http_method":"GET"})"),
            "api_path is required for http triggers");
  EXPECT_EQ(route_error(R"({"api_path":null})"),
            "api_path is required for http triggers");
  EXPECT_EQ(route_error(""), "api_path is required for http triggers");
  EXPECT_EQ(route_error(R"({"api_path":7})"), "api_path must be a string");
  EXPECT_EQ(route_error("[1]"),
            "the config of an http trigger must be a JSON object");
}

TEST(http_route_config, method_defaults_to_get_and_ignores_case) {
  EXPECT_EQ(route(R"({"api_path":"a"})").method, "GET");
  EXPECT_EQ(route(R"({"api_path":"a","http_method":"post"})").method, "POST");
  for (auto m : {"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"})
    EXPECT_EQ(
      route(std::string{R"({"api_path":"a","http_method":")"} + m + "\"}")
        .method,
      m);
  EXPECT_EQ(route_error(R"({"api_path":"a","http_method":"trace"})"),
            "http_method 'trace' is not supported; use GET, POST, PUT, "
            "DELETE, PATCH, HEAD or OPTIONS");
  EXPECT_EQ(route_error(R"({"api_path":"a","http_method":1})"),
            "http_method must be a string");
}

TEST(http_route_config, leading_slash_is_optional_and_api_path_kept) {
  auto a = route(R"({"api_path":"hello/:name","http_method":"POST"})");
  auto b = route(R"({"api_path":"/hello/:name","http_method":"post"})");
  EXPECT_EQ(route_key(a), "POST hello/:name");
  EXPECT_EQ(route_key(a), route_key(b));
  EXPECT_EQ(b.api_path, "/hello/:name");
}

TEST(http_route_config, parameters_need_distinct_names) {
  EXPECT_EQ(route_error(R"({"api_path":"a/:"})"),
            "api_path 'a/:': a path parameter needs a name after ':'");
  EXPECT_EQ(route_error(R"({"api_path":"a/:x/:x"})"),
            "api_path 'a/:x/:x' names parameter 'x' twice");
}

TEST(http_route_config, same_shape_with_other_names_conflicts) {
  auto r = [](const char* p) {
    return route(std::string{R"({"api_path":")"} + p + "\"}");
  };
  EXPECT_TRUE(routes_conflict(r("/a/:x"), r("a/:y")));
  EXPECT_TRUE(routes_conflict(r("a/:x/b/:z"), r("a/:y/b/:z")));
  EXPECT_FALSE(routes_conflict(r("a/:x"), r("/a/:x")));
  EXPECT_FALSE(routes_conflict(r("a/:x"), r("b/:y")));
  EXPECT_FALSE(routes_conflict(r("a/:x"), r("a/b")));
  EXPECT_FALSE(routes_conflict(r("a/:x"), r("a/:y/c")));
}

// -- matching -----------------------------------------------------------------

TEST(http_route_match, path_parameters_are_raw_segments) {
  EXPECT_EQ(match("hello/:name", "/hello/world"),
            (http_params{{"name", "world"}}));
  EXPECT_EQ(match("/u/:id/posts/:post", "/u/7/posts/a%20b"),
            (http_params{{"id", "7"}, {"post", "a%20b"}}));
  EXPECT_TRUE(matches("/orders", "/orders"));
  EXPECT_TRUE(matches("/", "/"));
  EXPECT_FALSE(matches("hello/:name", "/hello"));
  EXPECT_FALSE(matches("hello/:name", "/hello/a/b"));
  EXPECT_FALSE(matches("hello/:name", "/hello/"));
  EXPECT_FALSE(matches("hello", "/hello/"));
  EXPECT_FALSE(matches("hello", "/Hello"));
}

TEST(http_route_match, literal_segments_win_over_parameters) {
  auto r = [](const char* p) {
    return route(std::string{R"({"api_path":")"} + p + "\"}");
  };
  EXPECT_TRUE(more_specific(r("a/b"), r("a/:x")));
  EXPECT_FALSE(more_specific(r("a/:x"), r("a/b")));
  EXPECT_TRUE(more_specific(r("a/b/:y"), r("a/:x/c")));
  EXPECT_FALSE(more_specific(r("a/b"), r("a/b")));
}

TEST(http_query, decodes_and_keeps_the_last_duplicate) {
  EXPECT_EQ(parse_query("x=1&y=two"), (http_params{{"x", "1"}, {"y", "two"}}));
  EXPECT_EQ(parse_query("a=1&b=2&a=3"), (http_params{{"a", "3"}, {"b", "2"}}));
  EXPECT_EQ(parse_query("q=hello+world%21&na%6De=%E2%9C%93"),
            (http_params{{"q", "hello world!"}, {"name", "\xE2\x9C\x93"}}));
  EXPECT_EQ(parse_query("flag&&bad=%zz&end=%4"),
            (http_params{{"flag", ""}, {"bad", "%zz"}, {"end", "%4"}}));
  EXPECT_TRUE(parse_query("").empty());
}

// -- the request object ------------------------------------------------------

TEST(http_request_object, has_the_shape_of_the_spec) {
  auto r = route(R"({"api_path":"hello/:name","http_method":"POST"})");
  http_request req;
  req.method = "POST";
  req.path = "/hello/world";
  req.query = "x=1&y=two";
  req.headers = {{"host", "127.0.0.1:3199"},
                 {"content-type", "application/json"},
                 {"x-custom", "abc"},
                 {"content-length", "9"}};
  req.body = R"({"k":"v"})";
  auto data = http_request_json(req, r, {{"name", "world"}});
  ASSERT_TRUE(data);
  EXPECT_EQ(*data, R"({"query_params":{"x":"1","y":"two"},)"
                   R"("path_params":{"name":"world"},)"
                   R"("headers":{"host":"127.0.0.1:3199",)"
                   R"("content-type":"application/json","x-custom":"abc",)"
                   R"("content-length":"9"},)"
                   R"("path":"hello/:name","method":"POST","body":{"k":"v"},)"
                   R"("trigger":{"type":"http","path":"hello/:name",)"
                   R"("method":"POST"}})");
}

TEST(http_request_object, body_is_json_only_for_a_json_content_type) {
  auto r = route(R"({"api_path":"/x","http_method":"POST"})");
  http_request req;
  req.method = "POST";
  req.body = R"({"k":1})";
  auto body_of = [&](const std::string& content_type) {
    req.headers = {{"content-type", content_type}};
    auto data = http_request_json(req, r, {});
    if (!data) return std::string{"(error)"};
    auto i = data->find("\"body\":");
    return data->substr(i + 7, data->find(",\"trigger\"") - i - 7);
  };
  EXPECT_EQ(body_of("application/json; charset=utf-8"), R"({"k":1})");
  EXPECT_EQ(body_of("text/plain"), "null");
  EXPECT_EQ(body_of("Application/JSON"), "null"); // case-sensitive, as iii
  req.body = " \r\n";
  EXPECT_EQ(body_of("application/json"), "null");
  req.headers.clear();
  req.body = "anything";
  EXPECT_NE(http_request_json(req, r, {})->find(R"("body":null)"),
            std::string::npos);
}

TEST(http_request_object, malformed_json_body_is_an_error) {
  auto r = route(R"({"api_path":"/x","http_method":"POST"})");
  http_request req;
  req.method = "POST";
  req.headers = {{"content-type", "application/json"}};
  req.body = "{bad";
  auto data = http_request_json(req, r, {});
  ASSERT_FALSE(data);
  auto msg = data.error().context().get_as<std::string>(0);
  EXPECT_EQ(msg.rfind("request body is not valid JSON: parse error", 0), 0u)
    << msg;
  req.body = std::string(600, '[');
  EXPECT_FALSE(http_request_json(req, r, {}));
  // nlohmann alone would stop at the NUL and drop what follows it.
  req.body = std::string{"{\"a\":1}\0{\"b\":2}", 15};
  data = http_request_json(req, r, {});
  ASSERT_FALSE(data);
  msg = data.error().context().get_as<std::string>(0);
  EXPECT_NE(msg.find("NUL byte"), std::string::npos) << msg;
}

TEST(http_request_object, headers_last_wins_and_non_utf8_is_empty) {
  auto r = route(R"({"api_path":"/x"})");
  http_request req;
  req.method = "GET";
  req.headers = {{"x-a", "1"}, {"x-bad", "\xff\xfe"}, {"x-a", "2"}};
  auto data = http_request_json(req, r, {});
  ASSERT_TRUE(data);
  EXPECT_NE(data->find(R"("headers":{"x-a":"2","x-bad":""})"),
            std::string::npos)
    << *data;
}

// -- the response ------------------------------------------------------------

TEST(http_response_mapping, defaults_to_200_with_an_empty_json_object) {
  for (auto result : {"null", "{}", "5", R"("text")"}) {
    auto res = response_from_result(result);
    EXPECT_EQ(res.status, 200u) << result;
    EXPECT_EQ(res.body, "{}") << result;
    EXPECT_EQ(header(res, "content-type"), "application/json") << result;
  }
}

TEST(http_response_mapping, status_code_must_be_an_integer_in_range) {
  EXPECT_EQ(response_from_result(R"({"status_code":201})").status, 201u);
  EXPECT_EQ(response_from_result(R"({"status_code":999})").status, 999u);
  EXPECT_EQ(response_from_result(R"({"status_code":1000})").status, 200u);
  EXPECT_EQ(response_from_result(R"({"status_code":99})").status, 200u);
  EXPECT_EQ(response_from_result(R"({"status_code":"201"})").status, 200u);
  EXPECT_EQ(response_from_result(R"({"status_code":201.5})").status, 200u);
  EXPECT_EQ(response_from_result(R"({"status_code":-1})").status, 200u);
}

TEST(http_response_mapping, headers_as_object_or_array) {
  auto obj = response_from_result(
    R"({"headers":{"X-One":"1","X-Num":2,"Bad Name":"x","X-CR":"a\r\nb"}})");
  EXPECT_EQ(obj.headers, (http_fields{{"X-One", "1"},
                                      {"content-type", "application/json"}}));
  auto arr = response_from_result(
    R"({"headers":["X-One: 1 ","  X-Two:two:2","nocolon",7,)"
    R"("Content-Length: 99","Set-Cookie: a=1","Set-Cookie: b=2"]})");
  EXPECT_EQ(arr.headers, (http_fields{{"X-One", "1"},
                                      {"X-Two", "two:2"},
                                      {"Set-Cookie", "a=1"},
                                      {"Set-Cookie", "b=2"},
                                      {"content-type", "application/json"}}));
  auto other = response_from_result(R"({"headers":"X-A: 1"})");
  EXPECT_EQ(other.headers, (http_fields{{"content-type", "application/json"}}));
}

TEST(http_response_mapping, body_follows_the_content_type_rules) {
  auto text = response_from_result(
    R"({"headers":{"Content-Type":"text/plain"},"body":"plain text"})");
  EXPECT_EQ(text.body, "plain text");
  EXPECT_EQ(text.headers, (http_fields{{"Content-Type", "text/plain"}}));
  auto json_string = response_from_result(
    R"({"headers":["content-type: application/json"],"body":"hi"})");
  EXPECT_EQ(json_string.body, "hi");
  auto null_body = response_from_result(
    R"({"headers":{"content-type":"text/plain"},"body":null})");
  EXPECT_EQ(null_body.body, "");
  auto object_body = response_from_result(
    R"({"headers":{"content-type":"text/plain"},"body":{"b":1,"a":2}})");
  EXPECT_EQ(object_body.body, R"({"b":1,"a":2})");
  auto quoted = response_from_result(R"({"body":"hi"})");
  EXPECT_EQ(quoted.body, R"("hi")");
  EXPECT_EQ(header(quoted, "content-type"), "application/json");
  auto explicit_null = response_from_result(R"({"body":null})");
  EXPECT_EQ(explicit_null.body, "null");
  auto json_body = response_from_result(
    R"({"status_code":201,"body":{"orderId":"o1","n":[1,2]}})");
  EXPECT_EQ(json_body.status, 201u);
  EXPECT_EQ(json_body.body, R"({"orderId":"o1","n":[1,2]})");
}

TEST(http_response_mapping, failures_and_errors) {
  auto failed = response_from_error(
    R"({"code":"boom","message":"it broke","stacktrace":"..."})", "abc123");
  EXPECT_EQ(failed.status, 500u);
  EXPECT_EQ(failed.body, R"({"error":{"code":"boom","message":"it broke",)"
                         R"("error_id":"abc123"}})");
  EXPECT_EQ(header(failed, "content-type"), "application/json");
  EXPECT_EQ(response_from_error("42", "x").body,
            R"({"error":{"code":"invocation_failed",)"
            R"("message":"invocation failed","error_id":"x"}})");
  auto nf = error_response(404, "NOT_FOUND", "Not Found");
  EXPECT_EQ(nf.status, 404u);
  EXPECT_EQ(nf.body, R"({"error":{"code":"NOT_FOUND","message":"Not Found"}})");
}
