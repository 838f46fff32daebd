// What a worker connection may do once it is in, as iii's
// `iii-worker-manager` `rbac` settings and its auth function's answer say
// (README: Worker authentication). Pure functions over plain values: the
// config loader, the auth function's answer parser (protocol/auth_api.hpp)
// and the session actor all use them. No I/O, no actors.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace troupe {

/// True if `value` matches `pattern`, where `*` stands for any run of
/// characters (none included) and every other character for itself, as
/// iii's `match("...")` patterns.
bool wildcard_match(std::string_view pattern, std::string_view value);

/// The pattern inside `match("...")` or `match('...')` (surrounding blanks
/// ignored); nullopt when `text` has another shape.
std::optional<std::string> parse_match_filter(std::string_view text);

/// Functions every connection may call whatever `expose_functions` says
/// (iii's INFRASTRUCTURE_FUNCTIONS): the SDK calls them to set itself up.
/// An auth function's `forbidden_functions` still forbids them.
const std::vector<std::string>& infrastructure_functions();

/// What one connection was granted: iii's AuthResult, without `context`
/// (troupe has no middleware to hand it to). The defaults are those of a
/// connection that no auth function restricted.
struct access_grant {
  /// Exact ids this connection may call besides the exposed ones.
  std::vector<std::string> allowed_functions;
  /// Exact ids this connection may not call, whatever else says so.
  std::vector<std::string> forbidden_functions;
  /// The trigger types it may register triggers of; nullopt: any.
  std::optional<std::vector<std::string>> allowed_trigger_types;
  bool allow_trigger_type_registration = true;
  bool allow_function_registration = true;
  /// Admitted by the engine's own token (auth.token): the rbac rules do not
  /// apply to it.
  bool unrestricted = false;
};

/// The `rbac` rules of the listener: none configured means every call is
/// allowed; otherwise a call needs a grant or an exposed id.
struct access_rules {
  bool rbac = false;
  /// `expose_functions` patterns (match("...") already unwrapped).
  std::vector<std::string> expose_functions;
};

/// iii's decision for a call of `function_id` from a connection with
/// `grant`: forbidden wins, then allowed, then the infrastructure ids, then
/// the exposed patterns; without rbac, or for an unrestricted grant,
/// everything is allowed.
bool function_allowed(const access_rules& rules, const access_grant& grant,
                      std::string_view function_id);

/// Whether `function_id` was denied because the grant forbids it (true) or
/// because nothing exposes it (false); for the error message.
bool explicitly_forbidden(const access_grant& grant,
                          std::string_view function_id);

/// True if a trigger of `trigger_type` may be registered with `grant`.
bool trigger_type_allowed(const access_grant& grant,
                          std::string_view trigger_type);

/// Compares two secrets in time independent of where they differ.
bool secrets_equal(std::string_view x, std::string_view y);

} // namespace troupe
