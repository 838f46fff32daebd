#include "admin/admin_routes.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <utility>
#include <vector>

#include "protocol/admin_api.hpp"
#include "protocol/query_string.hpp"

namespace troupe::admin {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size()
         && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
              return std::tolower(static_cast<unsigned char>(x))
                     == std::tolower(static_cast<unsigned char>(y));
            });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

/// The path split at '/', without the leading empty segment.
std::vector<std::string_view> segments(std::string_view path) {
  std::vector<std::string_view> out;
  if (!path.empty() && path.front() == '/') path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

admin_route answer(protocol::http_response res) {
  admin_route out;
  out.kind = route_kind::answered;
  out.response = std::move(res);
  return out;
}

admin_route refuse(unsigned status, std::string_view code,
                   std::string_view message) {
  return answer(error_response(status, code, message));
}

admin_route wrong_method(std::string_view allowed) {
  auto res = error_response(405, "method_not_allowed",
                            "use " + std::string{allowed} + " here");
  res.headers.emplace_back("Allow", std::string{allowed});
  return answer(std::move(res));
}

/// Reads the query into `out`; false with `out` refused on a bad value.
bool read_query(std::string_view query, admin_route& out) {
  return protocol::for_each_query_pair(query, [&](std::string_view key,
                                                  std::string_view encoded) {
    std::string raw{encoded};
    std::replace(raw.begin(), raw.end(), '+', ' ');
    auto value = percent_decode(raw);
    if (!value) {
      out = refuse(400, "bad_request",
                   "query parameter '" + std::string{key}
                     + "' has a bad %-escape");
      return false;
    }
    if (key == "offset" || key == "limit") {
      auto& dst = key == "offset" ? out.offset : out.limit;
      bool digits = !value->empty() && value->size() <= 18
                    && std::all_of(value->begin(), value->end(), [](char c) {
                         return c >= '0' && c <= '9';
                       });
      if (!digits) {
        out = refuse(400, "bad_request",
                     "query parameter '" + std::string{key}
                       + "' must be a non-negative integer");
        return false;
      }
      dst = std::stoull(*value);
    } else if (key == "state") {
      out.state = *value;
    } else if (key == "queue") {
      out.queue = *value;
    }
    // Other parameters (a cache buster, ...) are ignored.
    return true;
  });
}

} // namespace

protocol::http_response json_response(unsigned status, std::string body) {
  protocol::http_response res;
  res.status = status;
  res.headers.emplace_back("Content-Type", "application/json");
  res.headers.emplace_back("Cache-Control", "no-store");
  res.body = std::move(body);
  return res;
}

protocol::http_response error_response(unsigned status, std::string_view code,
                                       std::string_view message) {
  return json_response(status, protocol::admin_error_json(code, message));
}

bool same_secret(std::string_view given, std::string_view expected) {
  // Every byte of `expected` is looked at whatever `given` holds.
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < expected.size(); ++i) {
    auto g = i < given.size() ? given[i] : 0;
    diff |= static_cast<unsigned char>(g ^ expected[i]);
  }
  return diff == 0;
}

std::optional<std::string_view> header(const protocol::http_request& req,
                                       std::string_view name) {
  for (const auto& [k, v] : req.headers)
    if (k == name) return std::string_view{v};
  return std::nullopt;
}

bool same_origin(const protocol::http_request& req) {
  if (auto site = header(req, "sec-fetch-site")) {
    auto s = trim(*site);
    if (!iequals(s, "same-origin") && !iequals(s, "none")) return false;
  }
  if (auto origin = header(req, "origin")) {
    auto host = header(req, "host");
    if (!host || host->empty()) return false;
    return trim(*origin) == "http://" + std::string{trim(*host)};
  }
  return true;
}

bool is_json_content(const protocol::http_request& req) {
  auto ct = header(req, "content-type");
  if (!ct) return false;
  auto media = trim(ct->substr(0, ct->find(';')));
  return iequals(media, "application/json");
}

std::optional<std::string> percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = protocol::hex_value(text[i + 1]);
      int lo = protocol::hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

admin_route route_request(const protocol::http_request& req,
                          const admin_policy& policy) {
  const auto& path = req.path;
  bool get = req.method == "GET" || req.method == "HEAD";
  // The ones that need no token.
  if (path == "/healthz" || path == "/readyz") {
    if (!get) return wrong_method("GET");
    admin_route out;
    out.kind = path == "/healthz" ? route_kind::healthz : route_kind::readyz;
    return out;
  }
  bool api = path == "/api" || path.rfind("/api/", 0) == 0;
  if (!api && path != "/metrics") {
    auto name = path == "/" ? std::string{"index.html"}
                            : path.size() > 1 ? path.substr(1) : path;
    if (!policy.has_asset || !policy.has_asset(name))
      return refuse(404, "not_found", "no such page: " + path);
    if (!get) return wrong_method("GET");
    admin_route out;
    out.kind = route_kind::asset;
    out.asset = std::move(name);
    return out;
  }
  // Everything else needs the token, if there is one.
  if (!policy.token.empty()) {
    auto auth = header(req, "authorization");
    std::string_view given;
    bool bearer = false;
    if (auth) {
      auto a = trim(*auth);
      if (a.size() > 7 && iequals(a.substr(0, 7), "bearer ")) {
        given = trim(a.substr(7));
        bearer = true;
      }
    }
    if (!bearer || !same_secret(given, policy.token)) {
      auto res = error_response(401, "unauthorized",
                                auth ? "the token is wrong"
                                     : "this needs Authorization: Bearer "
                                       "TOKEN");
      res.headers.emplace_back("WWW-Authenticate",
                               "Bearer realm=\"troupe-admin\"");
      return answer(std::move(res));
    }
  }
  if (path == "/metrics") {
    if (!get) return wrong_method("GET");
    admin_route out;
    out.kind = route_kind::metrics;
    return out;
  }
  auto seg = segments(path);
  // seg[0] == "api"
  admin_route out;
  out.kind = route_kind::api;
  bool post = false;
  auto n = seg.size();
  auto decoded = [&](std::string_view s, std::string& dst) {
    auto d = percent_decode(s);
    if (!d || d->empty()) return false;
    dst = std::move(*d);
    return true;
  };
  auto unknown = [&] {
    return refuse(404, "not_found", "no such route: " + path);
  };
  if (n == 2 && seg[1] == "status") {
    out.op = api_op::status;
  } else if (n == 2 && seg[1] == "queues") {
    out.op = api_op::queues;
  } else if (n == 2 && seg[1] == "workers") {
    out.op = api_op::workers;
  } else if (n == 3 && seg[1] == "jobs") {
    if (!decoded(seg[2], out.id))
      return refuse(400, "bad_request", "bad job id in " + path);
    out.op = api_op::job;
  } else if (n == 4 && seg[1] == "queues") {
    if (!decoded(seg[2], out.queue))
      return refuse(400, "bad_request", "bad queue name in " + path);
    auto what = seg[3];
    if (what == "jobs") {
      out.op = api_op::jobs;
    } else if (what == "groups") {
      out.op = api_op::groups;
    } else if (what == "dlq") {
      out.op = api_op::dlq;
    } else {
      post = true;
      if (what == "pause")
        out.op = api_op::pause;
      else if (what == "resume")
        out.op = api_op::resume;
      else if (what == "redrive")
        out.op = api_op::redrive;
      else if (what == "discard")
        out.op = api_op::discard;
      else if (what == "retry_now")
        out.op = api_op::retry_now;
      else if (what == "enqueue")
        out.op = api_op::enqueue;
      else
        return unknown();
    }
  } else {
    return unknown();
  }
  if (post) {
    if (req.method != "POST") return wrong_method("POST");
    if (!same_origin(req))
      return refuse(403, "forbidden",
                    "changes are accepted from this listener's own origin "
                    "only");
    if (!is_json_content(req))
      return refuse(403, "forbidden",
                    "changes must be sent as Content-Type: application/json");
    if (policy.read_only)
      return refuse(403, "read_only",
                    "the admin listener is read-only (troupe-admin "
                    "read_only: true)");
    return out;
  }
  if (!get) return wrong_method("GET");
  auto keep_queue = out.queue;
  if (!read_query(req.query, out)) return out;
  if (out.op != api_op::job) out.queue = keep_queue;
  return out;
}

} // namespace troupe::admin
