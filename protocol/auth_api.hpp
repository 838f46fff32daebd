// The JSON of an `rbac.auth_function_id` call (README: Worker
// authentication): iii's AuthInput, built from a connection's upgrade
// request, and its AuthResult, parsed into an access_grant. Pure functions;
// they never throw. This header does not include nlohmann/json.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/worker_access.hpp"

namespace troupe::protocol {

/// What the worker listener knows of a connection when it asks to upgrade.
struct upgrade_request {
  /// The path, without the query string ("/" or "/otel").
  std::string path;
  /// The raw query string, without '?' (empty when none).
  std::string query;
  /// Header names lowercased, values as sent, in order.
  std::vector<std::pair<std::string, std::string>> headers;
  /// The peer's IP address, without the port.
  std::string ip_address;
};

/// iii's AuthInput: `{"headers": {name: value}, "query_params": {name:
/// [values]}, "ip_address": ip}`. Repeated headers are joined with ", ";
/// query names and values are percent-decoded ('+' is a space).
std::string auth_input_json(const upgrade_request& req);

/// The token of an `Authorization: Bearer <token>` header (the scheme is
/// case-insensitive); empty when there is none.
std::string bearer_token(const upgrade_request& req);

/// The auth function's answer read as iii's AuthResult: an object whose
/// members all have defaults (allowed_functions and forbidden_functions
/// [], allowed_trigger_types null, allow_trigger_type_registration false,
/// allow_function_registration true; `context` is accepted and not used).
/// A string is the refusal reason when the answer is not such an object or
/// asks for what troupe does not do (a `function_registration_prefix`).
std::variant<access_grant, std::string> parse_auth_result(std::string_view);

} // namespace troupe::protocol
