// Splitting a URL query string into its name=value pairs; the callers
// decode the parts their own way (strict, lenient, UTF-8 replaced).
#pragma once

#include <string>
#include <string_view>

namespace troupe::protocol {

/// The value of hex digit `c`, or -1.
inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// application/x-www-form-urlencoded decoding ('+' is a space); a bad
/// %-escape stays as it is.
inline std::string url_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0
               && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

/// Calls `f(name, value)` for each non-empty `name[=value]` pair of `query`
/// (split at '&'), both still %-encoded; `value` is empty without a '='.
/// Stops and returns false as soon as `f` returns false.
template <class F>
bool for_each_query_pair(std::string_view query, F&& f) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{}
                                          : query.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto value = eq == std::string_view::npos ? std::string_view{}
                                              : pair.substr(eq + 1);
    if (!f(pair.substr(0, eq), value)) return false;
  }
  return true;
}

} // namespace troupe::protocol
