// HTTP-invoked functions (iii's `iii-http-functions`): a worker registers a
// function with an `invocation` object and the engine calls that URL itself.
// This header holds the plain-struct side: the `invocation` object as
// parsed from a `registerfunction` frame, the checks against the engine's
// `iii-http-functions` settings, the outbound request built for one call and
// the mapping of the endpoint's answer to a result or an error. No I/O here
// (protocol/http_client.hpp sends the request); no nlohmann in this header.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

#include "troupe/config.hpp"

namespace troupe::protocol {

/// An `http://host[:port]/target` URL split into what a request needs.
struct http_url {
  std::string scheme = {};
  /// Without brackets for an IPv6 literal.
  std::string host = {};
  std::string port = {};
  /// Path and query, at least "/".
  std::string target = {};
};

/// `invocation.auth`, as the SDK sends it: the names of environment
/// variables holding the secrets, never the secrets themselves.
struct http_auth_ref {
  /// "bearer", "api_key" or "hmac"; empty when there is no auth.
  std::string type = {};
  /// bearer: `token_key`; api_key: `value_key`; hmac: `secret_key`.
  std::string key = {};
  /// api_key only: the header that carries the value.
  std::string header = {};
};

/// The `invocation` object of a `registerfunction` frame.
struct http_invocation {
  std::string url = {};
  http_url parsed = {};
  /// Upper case: GET, POST, PUT, PATCH or DELETE (default POST).
  std::string method = "POST";
  /// 0: the engine's `default_timeout_ms`.
  uint64_t timeout_ms = 0;
  /// In the order the worker sent them.
  std::vector<std::pair<std::string, std::string>> headers = {};
  http_auth_ref auth = {};
};

/// Why an invocation or a call was refused: `code` and `message` as the
/// worker sees them.
struct http_function_error {
  std::string code = {};
  std::string message = {};
};

/// Parses `url` (http or https, no user info). Nullopt when it is not one.
std::optional<http_url> parse_http_url(std::string_view url);

/// Parses the JSON text of an `invocation` object. Errors: code
/// `invalid_invocation` naming the field (missing or non-string url, a url
/// that is not http(s), an unknown method, a timeout that is not a
/// non-negative integer, headers that are not an object of strings, an auth
/// of unknown type or without its fields).
std::optional<http_invocation> parse_http_invocation(std::string_view json,
                                                     http_function_error& err);

/// Glob match of `host` against `pattern` (`*` any run, `?` one character,
/// case-insensitive).
bool host_matches(std::string_view pattern, std::string_view host);

/// True for loopback, private (RFC 1918, fc00::/7), link-local, broadcast,
/// documentation, unspecified and multicast addresses, IPv4-mapped IPv6
/// classified as its IPv4 address. False for anything not an IP literal.
bool is_private_address(std::string_view ip);

/// The engine-side checks of a registration: the scheme (troupe's client has
/// no TLS, so https is refused), the allowlist, a private IP literal when
/// `block_private_ips`, the auth's environment variables. Host names are
/// resolved at call time, where resolved private addresses are refused too.
/// Error codes: url_validation_failed, missing_env_var, unsupported_auth.
std::optional<http_function_error>
check_http_invocation(const http_invocation& inv,
                      const http_functions_config& cfg);

/// One request to send.
struct outbound_request {
  std::string method = "POST";
  http_url url = {};
  std::vector<std::pair<std::string, std::string>> headers = {};
  std::string body = {};
  std::chrono::milliseconds timeout{30000};
};

/// What happened to an outbound request.
enum class outbound_failure {
  none,
  /// No full answer within the timeout.
  timeout,
  /// Host name resolution failed.
  dns,
  /// Connection refused, reset, or another socket error.
  connect,
  /// The body was over the size limit.
  too_large,
  /// Not a valid HTTP response.
  bad_response,
  /// The host resolved to a private address while `block_private_ips`.
  blocked,
};

struct outbound_response {
  outbound_failure failure = outbound_failure::none;
  /// The cause when `failure` is set (e.g. "Connection refused").
  std::string detail = {};
  unsigned status = 0;
  std::string reason = {};
  std::string body = {};
};

/// The request for one call of function `function_id`: method, URL and
/// timeout of `inv`, the body `data` (JSON text, as the caller sent it),
/// `Content-Type: application/json`, iii's `x-iii-Function-Path`,
/// `x-iii-Invocation-ID` and `x-iii-Timestamp` (Unix seconds), the worker's
/// headers, then the auth header (its secret read from the environment now).
outbound_request make_outbound_request(const http_invocation& inv,
                                       const http_functions_config& cfg,
                                       const std::string& function_id,
                                       std::string data,
                                       const std::string& invocation_id,
                                       uint64_t unix_seconds);

/// A call's outcome: `body` is the result (JSON text) when `ok`, else the
/// error object `{"code":...,"message":...}`.
struct http_outcome {
  bool ok = true;
  std::string body = "null";
};

/// Maps the endpoint's answer, as iii does: 2xx with a JSON body is that
/// value, an empty body is null, any other body fails with
/// `invalid_response`; 1xx/3xx are a success with the body's JSON or null
/// (redirects are not followed); 4xx/5xx fail with the body's
/// `{"error":{"code","message"}}` code when it has one, else `http_error`,
/// and the message starts with `HTTP <status>`. Failures before an answer:
/// `http_timeout`, `http_request_failed` (connection refused, DNS),
/// `response_too_large`, `http_response_failed`, `url_validation_failed`.
/// `what` names the call in messages ("POST http://...").
http_outcome map_outbound_response(const outbound_response& res,
                                   const std::string& what,
                                   std::chrono::milliseconds timeout,
                                   size_t max_response_bytes);

} // namespace troupe::protocol
