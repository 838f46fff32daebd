#include "base/worker_access.hpp"

#include <algorithm>

namespace troupe {

bool wildcard_match(std::string_view pattern, std::string_view value) {
  // Greedy with one backtrack point: the last `*` seen and where in `value`
  // its run ends so far. Linear in practice, never exponential.
  size_t p = 0;
  size_t v = 0;
  size_t star = std::string_view::npos;
  size_t resume = 0;
  while (v < value.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = v;
    } else if (p < pattern.size() && pattern[p] == value[v]) {
      ++p;
      ++v;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      v = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::optional<std::string> parse_match_filter(std::string_view text) {
  auto blank = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
  };
  while (!text.empty() && blank(text.front())) text.remove_prefix(1);
  while (!text.empty() && blank(text.back())) text.remove_suffix(1);
  constexpr std::string_view open = "match(";
  if (text.size() < open.size() + 3 || text.substr(0, open.size()) != open
      || text.back() != ')')
    return std::nullopt;
  auto quote = text[open.size()];
  if ((quote != '"' && quote != '\'') || text[text.size() - 2] != quote)
    return std::nullopt;
  return std::string{
    text.substr(open.size() + 1, text.size() - open.size() - 3)};
}

const std::vector<std::string>& infrastructure_functions() {
  static const std::vector<std::string> ids{
    "engine::channels::create", "engine::workers::register",
    "engine::log::info",        "engine::log::warn",
    "engine::log::error",       "engine::log::debug",
    "engine::log::trace",       "engine::baggage::get",
    "engine::baggage::set",     "engine::baggage::get_all",
  };
  return ids;
}

namespace {

bool listed(const std::vector<std::string>& xs, std::string_view x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

} // namespace

bool function_allowed(const access_rules& rules, const access_grant& grant,
                      std::string_view function_id) {
  if (grant.unrestricted) return true;
  if (listed(grant.forbidden_functions, function_id)) return false;
  if (listed(grant.allowed_functions, function_id)) return true;
  if (!rules.rbac) return true;
  if (listed(infrastructure_functions(), function_id)) return true;
  return std::any_of(rules.expose_functions.begin(),
                     rules.expose_functions.end(), [&](const std::string& p) {
                       return wildcard_match(p, function_id);
                     });
}

bool explicitly_forbidden(const access_grant& grant,
                          std::string_view function_id) {
  return listed(grant.forbidden_functions, function_id);
}

bool trigger_type_allowed(const access_grant& grant,
                          std::string_view trigger_type) {
  return !grant.allowed_trigger_types
         || listed(*grant.allowed_trigger_types, trigger_type);
}

bool secrets_equal(std::string_view x, std::string_view y) {
  // Every byte of the longer one is looked at, whatever matches.
  auto n = std::max(x.size(), y.size());
  unsigned char diff = x.size() == y.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    auto a = i < x.size() ? static_cast<unsigned char>(x[i]) : 0;
    auto b = i < y.size() ? static_cast<unsigned char>(y[i]) : 0;
    diff |= static_cast<unsigned char>(a ^ b);
  }
  return diff == 0;
}

} // namespace troupe
