// What the fuzzers share: an invariant check that aborts with a message
// libFuzzer shows next to the input that broke it, and strict JSON/UTF-8
// verdicts to hold the code's output against.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include <caf/error.hpp>
#include <caf/message.hpp>
#include <nlohmann/json.hpp>

/// Aborts (libFuzzer saves the input as a crash) when `cond` is false.
#define FUZZ_CHECK(cond, what)                                                 \
  do {                                                                         \
    if (!(cond)) {                                                             \
      std::fprintf(stderr, "invariant failed at %s:%d: %s (%s)\n", __FILE__,   \
                   __LINE__, #cond, std::string{what}.c_str());                \
      std::abort();                                                            \
    }                                                                          \
  } while (false)

namespace troupe::fuzz {

using json = nlohmann::ordered_json;

/// `text` as strict JSON (nlohmann refuses invalid UTF-8); discarded when
/// it is not JSON. nlohmann alone would take a NUL byte for the end of
/// the text and accept `{}\0anything`.
inline json strict_parse(std::string_view text) {
  if (text.find('\0') != std::string_view::npos)
    return json::value_t::discarded;
  return json::parse(text.begin(), text.end(), nullptr, false);
}

/// True when `text` is one valid JSON value, UTF-8 included.
inline bool is_json(std::string_view text) {
  return !strict_parse(text).is_discarded();
}

/// True when `s` is well-formed UTF-8 (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF). Written out here rather than taken
/// from the code under test, so the two can disagree.
inline bool is_utf8(std::string_view s) {
  size_t i = 0;
  auto cont = [&](size_t k) {
    return i + k < s.size()
           && (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
  };
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      i += 1;
      continue;
    }
    size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || c > 0xF4) return false;
    for (size_t k = 1; k < n; ++k)
      if (!cont(k)) return false;
    auto c1 = static_cast<unsigned char>(s[i + 1]);
    if (c == 0xE0 && c1 < 0xA0) return false; // overlong
    if (c == 0xED && c1 > 0x9F) return false; // surrogate
    if (c == 0xF0 && c1 < 0x90) return false; // overlong
    if (c == 0xF4 && c1 > 0x8F) return false; // above U+10FFFF
    i += n;
  }
  return true;
}

/// The message a troupe error carries (its context's one string), or
/// empty when it carries none.
inline std::string message_of(const caf::error& err) {
  const auto& ctx = err.context();
  if (!ctx.match_elements<std::string>()) return {};
  return ctx.get_as<std::string>(0);
}

} // namespace troupe::fuzz
