// Reads one top-level member of a JSON object held as text, for the few
// places where the engine must look inside a payload (a FIFO queue's group
// field, a worker's name), and guards parsers against deep nesting. Never
// throws.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace troupe::protocol {

enum class member_state {
  found,
  /// The object has no such member.
  absent,
  /// The member is JSON null.
  null,
  /// The text is JSON but not an object.
  not_object,
  /// The text is not JSON.
  bad_json,
};

struct member {
  member_state state = member_state::absent;
  /// A string member's value as is; any other value as its compact JSON.
  std::string value;
  bool is_string = false;
};

/// Looks up `key` among the top-level members of the JSON object `json`.
member find_member(std::string_view json, std::string_view key);

/// Deeper JSON is rejected before parsing: nlohmann's dump() recurses, and a
/// text of a million `[` would otherwise overflow the stack.
constexpr size_t max_json_depth = 512;

/// True when `text` nests arrays/objects deeper than `max_depth`. Brackets
/// inside strings do not count. Only meant for text that is then parsed.
bool nested_deeper_than(std::string_view text, size_t max_depth);

/// True when `text` holds a NUL byte, which no JSON text can (outside
/// strings it is no whitespace, inside them it must be escaped). Checked
/// before parsing: nlohmann reads a NUL as the end of the input, so
/// `{"a":1}\0anything` would pass as `{"a":1}` with the rest dropped.
bool has_nul(std::string_view text);

} // namespace troupe::protocol
