// A strict, allocation-light scanner for the top level of a JSON object.
// Frames carry payloads (`data`, `result`, ...) that the engine forwards
// without looking inside; building a document of them only to print it
// again was the largest part of parsing a frame. The scanner validates the
// whole text and hands back each top-level member's own text instead.
//
// It accepts a subset of what nlohmann/json accepts (RFC 8259 with UTF-8
// checked as nlohmann checks it), so a caller can fall back to nlohmann for
// anything it refuses and get nlohmann's verdict and messages.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::protocol::json_scan {

enum class kind {
  object,
  array,
  string,
  number,
  true_value,
  false_value,
  null_value
};

/// One member of the top-level object.
struct member {
  /// The key, decoded.
  std::string key;
  kind type = kind::null_value;
  /// The value's JSON text, exactly as in the input.
  std::string_view text;
};

/// Splits `text`, which must be one JSON object (whitespace around it
/// allowed), into its members in order. Returns false, with `out` in an
/// unspecified state, when the text is not valid JSON, not an object, nests
/// deeper than `max_depth`, or starts with a byte order mark.
bool split_object(std::string_view text, std::vector<member>& out,
                  size_t max_depth);

/// True if `text` is one JSON value of any kind (whitespace around it
/// allowed) nesting at most `max_depth` containers deep, checked as
/// split_object() checks its members; no allocation.
bool valid(std::string_view text, size_t max_depth);

/// Decodes a valid JSON string literal (quotes included) to UTF-8.
std::string decode_string(std::string_view literal);

} // namespace troupe::protocol::json_scan
