// HTTP triggers as iii's REST API worker defines them (README: HTTP
// triggers), without any I/O: an `http` trigger's config, matching request
// paths against routes, the request object a function receives, and the
// response made from its result. Pure functions over text; they never
// throw.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "protocol/http_server.hpp"

namespace troupe::protocol {

/// A validated `http` trigger config.
struct http_route {
  /// GET, POST, PUT, DELETE, PATCH, HEAD or OPTIONS.
  std::string method;
  /// `api_path` exactly as configured: the request object's `path`.
  std::string api_path;
  /// `api_path` without its leading '/', split at '/'; a segment ":name" is
  /// a path parameter.
  std::vector<std::string> segments;
};

/// (name, value) pairs: path parameters, query parameters.
using http_params = std::vector<std::pair<std::string, std::string>>;

/// Reads an `http` trigger's config (a raw JSON object). Errors
/// (errc::bad_frame) say what is wrong, e.g. "api_path is required for http
/// triggers" or an unsupported `http_method`.
caf::expected<http_route> parse_http_route(std::string_view config_json);

/// The route's identity: re-registering the same key replaces the route.
/// "METHOD path-without-leading-slash".
std::string route_key(const http_route& r);

/// True when `a` and `b` have the same shape (literal segments equal,
/// parameters in the same places) but different parameter names, as
/// `a/:x` and `a/:y`. Such routes cannot coexist, whatever their methods.
bool routes_conflict(const http_route& a, const http_route& b);

/// A request path (no query) split like http_route::segments.
std::vector<std::string_view> split_path(std::string_view path);

/// Matches a request path's segments against `r` (not its method). On a
/// match returns true and sets `params` to the parameter values, raw (not
/// percent-decoded).
bool match_route(const http_route& r,
                 const std::vector<std::string_view>& segments,
                 http_params& params);

/// For a path both match: true when `a` wins over `b`, that is when at the
/// first segment where one has a literal and the other a parameter, `a` has
/// the literal.
bool more_specific(const http_route& a, const http_route& b);

/// Query string -> parameters: URL-decoded, `+` as a space, the last of
/// repeated names wins (at the place of the first).
http_params parse_query(std::string_view query);

/// The request object (without channel refs) as JSON text. The body is
/// parsed when Content-Type contains `application/json` (an empty body
/// gives null); other bodies give null. Error (errc::bad_frame): a
/// JSON content type with a body that is not JSON, saying why.
caf::expected<std::string> http_request_json(const http_request& req,
                                             const http_route& route,
                                             const http_params& path_params);

/// The response for a function's successful result (raw JSON).
http_response response_from_result(std::string_view result_json);

/// 500 `{"error":{"code","message","error_id"}}` for a failed call, with
/// code and message taken from its error body (raw JSON).
http_response response_from_error(std::string_view error_body,
                                  std::string_view error_id);

/// `status` with `{"error":{"code":...,"message":...}}` as JSON.
http_response error_response(unsigned status, std::string_view code,
                             std::string_view message);

} // namespace troupe::protocol
