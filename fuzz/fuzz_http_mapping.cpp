// libFuzzer target: an `http` trigger's config, a request to it and the
// function's answer, through protocol/http_mapping. Input: up to seven
// parts separated by NUL bytes:
//   config JSON \0 method \0 target (path?query) \0 header lines
//   ("name: value\n") \0 body \0 result JSON \0 error body JSON
// Checked beyond "no crash":
// - a refused config has a message; an accepted route matches its own
//   api_path, never conflicts with itself, is not more specific than
//   itself, and its key names its method;
// - query parameters come out with unique names;
// - the request object is JSON whose path, method and parameters are the
//   route's and the request's; a refused JSON body has a message;
// - responses carry valid header names and values, a status in 100..999,
//   never the headers the server manages, and a JSON body unless the
//   function chose the content type.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.hpp"
#include "protocol/http_mapping.hpp"
#include "troupe/error.hpp"

namespace {

using namespace troupe::protocol;
using troupe::fuzz::is_json;
using troupe::fuzz::is_utf8;
using troupe::fuzz::json;
using troupe::fuzz::message_of;
using troupe::fuzz::strict_parse;

std::vector<std::string_view> split_parts(std::string_view in, size_t n) {
  std::vector<std::string_view> out;
  while (out.size() + 1 < n) {
    auto nul = in.find('\0');
    if (nul == std::string_view::npos) break;
    out.push_back(in.substr(0, nul));
    in.remove_prefix(nul + 1);
  }
  out.push_back(in);
  out.resize(n);
  return out;
}

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

http_fields header_lines(std::string_view text) {
  http_fields out;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{}
                                        : text.substr(nl + 1);
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    auto value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    out.emplace_back(lower(line.substr(0, colon)), std::string{value});
  }
  return out;
}

void check_response(const http_response& res, bool function_json) {
  FUZZ_CHECK(res.status >= 100 && res.status <= 999,
             std::to_string(res.status));
  for (auto& [name, value] : res.headers) {
    FUZZ_CHECK(!name.empty(), "empty header name");
    for (char c : name) FUZZ_CHECK(c > 0x20 && c < 0x7f && c != ':', name);
    for (char c : value) {
      auto u = static_cast<unsigned char>(c);
      FUZZ_CHECK(u >= 0x20 || u == '\t', name);
      FUZZ_CHECK(u != 0x7f, name);
    }
    auto n = lower(name);
    FUZZ_CHECK(n != "content-length" && n != "transfer-encoding"
                 && n != "connection",
               n);
  }
  if (function_json) FUZZ_CHECK(is_json(res.body), res.body);
}

/// True when the function's result may set a content type of its own (a
/// header named so among its `headers`): only then may the body be other
/// than JSON.
bool may_choose_type(std::string_view result_json) {
  auto result = strict_parse(result_json);
  if (!result.is_object() || !result.contains("headers")) return false;
  auto& headers = result["headers"];
  if (headers.is_object()) {
    for (auto& [name, value] : headers.items())
      if (lower(name) == "content-type") return true;
  } else if (headers.is_array()) {
    for (auto& line : headers)
      if (line.is_string()
          && lower(line.get<std::string>()).find("content-type")
               != std::string::npos)
        return true;
  }
  return false;
}

void check_route(std::string_view config) {
  auto route = parse_http_route(config);
  if (!route) {
    FUZZ_CHECK(route.error() == troupe::errc::bad_frame, "wrong error code");
    FUZZ_CHECK(!message_of(route.error()).empty(), "refused without a reason");
    return;
  }
  auto& r = *route;
  auto own = split_path(r.api_path);
  http_params params;
  FUZZ_CHECK(match_route(r, own, params), r.api_path);
  FUZZ_CHECK(!routes_conflict(r, r), r.api_path);
  FUZZ_CHECK(!more_specific(r, r), r.api_path);
  auto key = route_key(r);
  FUZZ_CHECK(key.compare(0, r.method.size() + 1, r.method + " ") == 0, key);
  // Parameters bind to the segments that stand in their places.
  for (auto& [name, value] : params)
    FUZZ_CHECK(value == ":" + name, name + " = " + value);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parts = split_parts({reinterpret_cast<const char*>(data), size}, 7);
  check_route(parts[0]);

  auto route = parse_http_route(parts[0]);
  http_route r;
  if (route) {
    r = std::move(*route);
  } else {
    r.method = "GET";
    r.api_path = "/fuzz/:id";
    r.segments = {"fuzz", ":id"};
  }

  http_request req;
  req.method = std::string{parts[1]};
  auto target = parts[2];
  auto q = target.find('?');
  req.path = std::string{target.substr(0, q)};
  if (q != std::string_view::npos)
    req.query = std::string{target.substr(q + 1)};
  req.headers = header_lines(parts[3]);
  req.body = std::string{parts[4]};

  auto query = parse_query(req.query);
  for (size_t i = 0; i < query.size(); ++i)
    for (size_t k = i + 1; k < query.size(); ++k)
      FUZZ_CHECK(query[i].first != query[k].first, query[i].first);

  http_params params;
  auto matched = match_route(r, split_path(req.path), params);
  if (matched)
    for (auto& [name, value] : params) FUZZ_CHECK(!value.empty(), name);

  auto request = http_request_json(req, r, params);
  if (request) {
    auto doc = strict_parse(*request);
    FUZZ_CHECK(doc.is_object(), *request);
    if (is_utf8(r.api_path)) {
      FUZZ_CHECK(doc["path"] == r.api_path, *request);
      FUZZ_CHECK(doc["trigger"]["path"] == r.api_path, *request);
    }
    FUZZ_CHECK(doc["trigger"]["method"] == r.method, *request);
    if (is_utf8(req.method)) FUZZ_CHECK(doc["method"] == req.method, *request);
    FUZZ_CHECK(doc["query_params"].size() <= query.size(), *request);
    for (auto& [name, value] : params)
      if (is_utf8(name) && is_utf8(value))
        FUZZ_CHECK(doc["path_params"][name] == value, *request);
  } else {
    FUZZ_CHECK(request.error() == troupe::errc::bad_frame, "wrong error code");
    FUZZ_CHECK(!message_of(request.error()).empty(),
               "refused without a reason");
  }

  auto res = response_from_result(parts[5]);
  check_response(res, !may_choose_type(parts[5]));
  if (!strict_parse(parts[5]).is_object())
    FUZZ_CHECK(res.status == 200 && res.body == "{}", res.body);

  auto failed = response_from_error(parts[6], "err-1");
  check_response(failed, true);
  FUZZ_CHECK(failed.status == 500, std::to_string(failed.status));
  auto body = strict_parse(failed.body);
  FUZZ_CHECK(body["error"]["error_id"] == "err-1", failed.body);
  FUZZ_CHECK(body["error"]["code"].is_string(), failed.body);

  auto plain = error_response(404, parts[1], parts[2]);
  check_response(plain, true);
  return 0;
}
