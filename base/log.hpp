// troupe's log sink: one line per notable event, to stderr, safe from any
// thread. Debian's CAF is built with CAF_LOG_* compiled out, so the engine
// logs through this instead. Lines look like
//   2026-11-23T13:05:01.123Z INFO  [queue payment] job 5f..: moved to DLQ
#pragma once

#include <sstream>
#include <string>
#include <string_view>

namespace troupe::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

/// Sets the lowest level that is printed (default: info).
void set_level(level x);
level current_level();

/// Parses "debug", "info", "warn", "error" or "off".
bool parse_level(std::string_view text, level& out);

/// Writes one line at `lvl` for component `who` (e.g. "session 3").
void write(level lvl, std::string_view who, std::string_view what);

inline bool enabled(level lvl) { return lvl >= current_level(); }

namespace detail {
template <class... Ts>
std::string concat(const Ts&... xs) {
  std::ostringstream out;
  (out << ... << xs);
  return out.str();
}
} // namespace detail

template <class... Ts>
void debug(std::string_view who, const Ts&... xs) {
  if (enabled(level::debug)) write(level::debug, who, detail::concat(xs...));
}
template <class... Ts>
void info(std::string_view who, const Ts&... xs) {
  if (enabled(level::info)) write(level::info, who, detail::concat(xs...));
}
template <class... Ts>
void warn(std::string_view who, const Ts&... xs) {
  if (enabled(level::warn)) write(level::warn, who, detail::concat(xs...));
}
template <class... Ts>
void error(std::string_view who, const Ts&... xs) {
  if (enabled(level::error)) write(level::error, who, detail::concat(xs...));
}

} // namespace troupe::log
