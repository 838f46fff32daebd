// What the admin listener does with a request before anything asks the
// engine (README: Operating troupe): the route, the token check, the
// read_only rule, the same-origin and JSON rules for changes, and the
// query of the list routes. Pure functions, no actors and no I/O, so that
// every refusal is tested without a listener.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/http_server.hpp"

namespace troupe::admin {

/// What the engine has to answer.
enum class api_op {
  status,
  queues,
  jobs,
  groups,
  dlq,
  job,
  workers,
  pause,
  resume,
  redrive,
  discard,
  retry_now,
  enqueue,
};

/// Where a request goes.
enum class route_kind {
  /// Refused or answered by the rules alone: see `response`.
  answered,
  healthz,
  readyz,
  metrics,
  /// A file of the dashboard: see `asset`.
  asset,
  /// The JSON API: see `op` and the fields below.
  api,
};

struct admin_route {
  route_kind kind = route_kind::answered;
  protocol::http_response response;
  /// asset: its name ("index.html" for "/").
  std::string asset;
  api_op op = api_op::status;
  /// The queue of /api/queues/{q}/..., percent-decoded; for /api/jobs/{id}
  /// its `?queue=`, if any.
  std::string queue;
  /// The job of /api/jobs/{id}, percent-decoded.
  std::string id;
  /// jobs: `?state=` (default waiting); jobs, groups, dlq: `?offset=`
  /// (default 0) and `?limit=` (default 50, capped by the engine).
  std::string state = "waiting";
  uint64_t offset = 0;
  uint64_t limit = 50;
};

struct admin_policy {
  /// Empty: no token needed.
  std::string token;
  bool read_only = false;
  /// Whether the dashboard has a file of this name.
  std::function<bool(std::string_view)> has_asset;
};

/// Routes `req` and applies every rule that needs no engine: 404 for an
/// unknown route, 405 (with Allow) for a known one with another method,
/// 401 (with WWW-Authenticate: Bearer) without the right token, 403
/// `forbidden` for a cross-origin POST or one that is not JSON, 403
/// `read_only`, 400 for a bad query. The dashboard's files, /healthz and
/// /readyz need no token.
admin_route route_request(const protocol::http_request& req,
                          const admin_policy& policy);

/// A JSON error answer: `{"error":{"code","message"}}` with `status`.
protocol::http_response error_response(unsigned status, std::string_view code,
                                       std::string_view message);

/// A JSON answer with `status`.
protocol::http_response json_response(unsigned status, std::string body);

/// Compares in time that depends on the lengths only, not on where the
/// texts differ.
bool same_secret(std::string_view given, std::string_view expected);

/// The value of header `name` (lower case), or nullopt; the first of
/// duplicates.
std::optional<std::string_view> header(const protocol::http_request& req,
                                       std::string_view name);

/// A POST's origin is this listener's: an `Origin` must be `http://` +
/// `Host`, and a `Sec-Fetch-Site` must be `same-origin` or `none`. A
/// request without either (curl, scripts) passes.
bool same_origin(const protocol::http_request& req);

/// The media type of `Content-Type` is application/json (any case, any
/// parameters).
bool is_json_content(const protocol::http_request& req);

/// `%XX` decoded; nullopt for a bad escape or a decoded NUL.
std::optional<std::string> percent_decode(std::string_view text);

} // namespace troupe::admin
