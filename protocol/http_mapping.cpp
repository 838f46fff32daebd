#include "protocol/http_mapping.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdint>
#include <exception>

#include <nlohmann/json.hpp>

#include "base/errc.hpp"
#include "protocol/json_member.hpp"
#include "protocol/query_string.hpp"

namespace troupe::protocol {

namespace {

// Ordered, so objects keep the order the worker (or the request) gave them.
using json = nlohmann::ordered_json;

constexpr std::array<std::string_view, 7> supported_methods{
  "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};

caf::error route_error(std::string message) {
  return caf::make_error(errc::bad_frame, std::move(message));
}

std::string upper(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size()
         && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
              return std::tolower(static_cast<unsigned char>(x))
                     == std::tolower(static_cast<unsigned char>(y));
            });
}

bool is_param(std::string_view segment) {
  return segment.size() > 1 && segment.front() == ':';
}

std::string dump(const json& v) {
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// JSON text parsed into `out`; false with `why` set when it is not JSON.
bool parse_json(std::string_view text, json& out, std::string& why) {
  if (nested_deeper_than(text, max_json_depth)) {
    why = "JSON nests deeper than " + std::to_string(max_json_depth)
          + " levels";
    return false;
  }
  if (has_nul(text)) {
    why = "it holds a NUL byte";
    return false;
  }
  try {
    out = json::parse(text.begin(), text.end());
    return true;
  } catch (const std::exception& e) {
    // Drop nlohmann's "[json.exception.parse_error.101] " prefix.
    std::string_view what = e.what();
    if (auto i = what.find("] "); i != std::string_view::npos)
      what.remove_prefix(i + 2);
    why = std::string{what};
    return false;
  }
}

bool is_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
  });
}

bool valid_utf8(std::string_view s) {
  static constexpr uint32_t min_code[] = {0, 0x80, 0x800, 0x10000};
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t extra = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xe0) == 0xc0) {
      extra = 1;
      cp = c & 0x1fu;
    } else if ((c & 0xf0) == 0xe0) {
      extra = 2;
      cp = c & 0x0fu;
    } else if ((c & 0xf8) == 0xf0) {
      extra = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (i + extra >= s.size()) return false;
    for (size_t k = 1; k <= extra; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3fu);
    }
    if (cp < min_code[extra] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += extra + 1;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool is_token(std::string_view s) {
  constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return std::isalnum(static_cast<unsigned char>(c))
           || extra.find(c) != std::string_view::npos;
  });
}

bool is_field_value(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7f;
  });
}

/// Adds a header the function set, unless it is invalid or one the server
/// manages itself (the body's framing and the connection).
void add_user_header(http_fields& out, std::string_view name,
                     std::string_view value) {
  value = trim(value);
  if (!is_token(name) || !is_field_value(value)) return;
  for (auto managed : {"content-length", "transfer-encoding", "connection"})
    if (iequals(name, managed)) return;
  out.emplace_back(std::string{name}, std::string{value});
}

http_fields user_headers(const json& headers) {
  http_fields out;
  if (headers.is_object()) {
    for (auto& [name, value] : headers.items())
      if (value.is_string())
        add_user_header(out, name, value.get_ref<const std::string&>());
  } else if (headers.is_array()) {
    for (auto& line : headers) {
      if (!line.is_string()) continue;
      std::string_view text = line.get_ref<const std::string&>();
      auto colon = text.find(':');
      if (colon == std::string_view::npos) continue;
      add_user_header(out, trim(text.substr(0, colon)), text.substr(colon + 1));
    }
  }
  return out;
}

const std::string* find_header(const http_fields& headers,
                               std::string_view name) {
  const std::string* found = nullptr;
  for (auto& h : headers)
    if (iequals(h.first, name)) found = &h.second;
  return found;
}

http_response json_response(unsigned status, const json& body) {
  return {status, {{"content-type", "application/json"}}, dump(body)};
}

} // namespace

caf::expected<http_route> parse_http_route(std::string_view config_json) {
  json cfg = json::object();
  if (!config_json.empty()) {
    cfg = json::parse(config_json.begin(), config_json.end(), nullptr, false);
    if (cfg.is_discarded() || !cfg.is_object())
      return route_error("the config of an http trigger must be a JSON "
                         "object");
  }
  http_route r;
  auto path = cfg.find("api_path");
  if (path == cfg.end() || path->is_null())
    return route_error("api_path is required for http triggers");
  if (!path->is_string()) return route_error("api_path must be a string");
  r.api_path = path->get<std::string>();
  r.method = "GET";
  if (auto m = cfg.find("http_method"); m != cfg.end() && !m->is_null()) {
    if (!m->is_string()) return route_error("http_method must be a string");
    r.method = upper(m->get_ref<const std::string&>());
    if (std::find(supported_methods.begin(), supported_methods.end(), r.method)
        == supported_methods.end())
      return route_error("http_method '" + m->get<std::string>()
                         + "' is not supported; use GET, POST, PUT, DELETE, "
                           "PATCH, HEAD or OPTIONS");
  }
  for (auto segment : split_path(r.api_path)) {
    if (segment == ":")
      return route_error("api_path '" + r.api_path
                         + "': a path parameter needs a name after ':'");
    if (is_param(segment)
        && std::find(r.segments.begin(), r.segments.end(), segment)
             != r.segments.end())
      return route_error("api_path '" + r.api_path + "' names parameter '"
                         + std::string{segment.substr(1)} + "' twice");
    r.segments.emplace_back(segment);
  }
  return r;
}

std::string route_key(const http_route& r) {
  std::string key = r.method + " ";
  for (size_t i = 0; i < r.segments.size(); ++i) {
    if (i > 0) key += '/';
    key += r.segments[i];
  }
  return key;
}

bool routes_conflict(const http_route& a, const http_route& b) {
  if (a.segments.size() != b.segments.size()) return false;
  bool names_differ = false;
  for (size_t i = 0; i < a.segments.size(); ++i) {
    auto& x = a.segments[i];
    auto& y = b.segments[i];
    if (is_param(x) != is_param(y)) return false;
    if (x != y) {
      if (!is_param(x)) return false; // different literals
      names_differ = true;
    }
  }
  return names_differ;
}

std::vector<std::string_view> split_path(std::string_view path) {
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  std::vector<std::string_view> out;
  for (;;) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) return out;
    path.remove_prefix(slash + 1);
  }
}

bool match_route(const http_route& r,
                 const std::vector<std::string_view>& segments,
                 http_params& params) {
  if (r.segments.size() != segments.size()) return false;
  params.clear();
  for (size_t i = 0; i < segments.size(); ++i) {
    auto& pattern = r.segments[i];
    if (!is_param(pattern)) {
      if (pattern != segments[i]) return false;
    } else if (segments[i].empty()) {
      return false;
    } else {
      params.emplace_back(pattern.substr(1), std::string{segments[i]});
    }
  }
  return true;
}

bool more_specific(const http_route& a, const http_route& b) {
  auto n = std::min(a.segments.size(), b.segments.size());
  for (size_t i = 0; i < n; ++i) {
    bool pa = is_param(a.segments[i]);
    if (pa != is_param(b.segments[i])) return !pa;
  }
  return false;
}

http_params parse_query(std::string_view query) {
  http_params out;
  for_each_query_pair(query, [&](std::string_view n, std::string_view v) {
    auto name = url_decode(n);
    auto value = url_decode(v);
    auto same = std::find_if(out.begin(), out.end(),
                             [&](auto& kv) { return kv.first == name; });
    if (same != out.end())
      same->second = std::move(value);
    else
      out.emplace_back(std::move(name), std::move(value));
    return true;
  });
  return out;
}

caf::expected<std::string> http_request_json(const http_request& req,
                                             const http_route& route,
                                             const http_params& path_params) {
  json headers = json::object();
  const std::string* content_type = nullptr;
  for (auto& [name, value] : req.headers) {
    headers[name] = valid_utf8(value) ? value : std::string{};
    if (name == "content-type") content_type = &value;
  }
  json body; // null
  if (content_type
      && content_type->find("application/json") != std::string::npos
      && !is_blank(req.body)) {
    std::string why;
    if (!parse_json(req.body, body, why))
      return route_error("request body is not valid JSON: " + why);
  }
  json query = json::object();
  for (auto& [name, value] : parse_query(req.query)) query[name] = value;
  json params = json::object();
  for (auto& [name, value] : path_params) params[name] = value;
  json data = json::object();
  data["query_params"] = std::move(query);
  data["path_params"] = std::move(params);
  data["headers"] = std::move(headers);
  data["path"] = route.api_path;
  data["method"] = req.method;
  data["body"] = std::move(body);
  data["trigger"]
    = {{"type", "http"}, {"path", route.api_path}, {"method", route.method}};
  return dump(data);
}

http_response response_from_result(std::string_view result_json) {
  auto result = json::parse(result_json.begin(), result_json.end(), nullptr,
                            false);
  if (result.is_discarded() || !result.is_object())
    return json_response(200, json::object());
  http_response out;
  if (auto s = result.find("status_code");
      s != result.end() && s->is_number_integer()) {
    auto code = s->get<int64_t>();
    if (code >= 100 && code <= 999) out.status = static_cast<unsigned>(code);
  }
  if (auto h = result.find("headers"); h != result.end())
    out.headers = user_headers(*h);
  auto b = result.find("body");
  auto body = b == result.end() ? json::object() : std::move(*b);
  if (find_header(out.headers, "content-type")) {
    if (body.is_string())
      out.body = body.get<std::string>();
    else if (!body.is_null())
      out.body = dump(body);
  } else {
    out.headers.emplace_back("content-type", "application/json");
    out.body = dump(body);
  }
  return out;
}

http_response response_from_error(std::string_view error_body,
                                  std::string_view error_id) {
  auto err = json::parse(error_body.begin(), error_body.end(), nullptr, false);
  std::string code = "invocation_failed";
  std::string message = "invocation failed";
  if (err.is_object()) {
    if (auto c = err.find("code"); c != err.end() && c->is_string())
      code = c->get<std::string>();
    if (auto m = err.find("message"); m != err.end() && m->is_string())
      message = m->get<std::string>();
  } else if (err.is_string()) {
    message = err.get<std::string>();
  }
  return json_response(
    500, {{"error",
           {{"code", code}, {"message", message}, {"error_id", error_id}}}});
}

http_response error_response(unsigned status, std::string_view code,
                             std::string_view message) {
  return json_response(status,
                       {{"error", {{"code", code}, {"message", message}}}});
}

} // namespace troupe::protocol
