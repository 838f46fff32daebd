#include "protocol/json_member.hpp"

#include <nlohmann/json.hpp>

namespace troupe::protocol {

member find_member(std::string_view json, std::string_view key) {
  auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded()) return {member_state::bad_json, {}, false};
  if (!doc.is_object()) return {member_state::not_object, {}, false};
  auto i = doc.find(key);
  if (i == doc.end()) return {member_state::absent, {}, false};
  if (i->is_null()) return {member_state::null, {}, false};
  if (i->is_string())
    return {member_state::found, i->get_ref<std::string&>(), true};
  return {member_state::found, i->dump(), false};
}

bool nested_deeper_than(std::string_view text, size_t max_depth) {
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

bool has_nul(std::string_view text) {
  return text.find('\0') != std::string_view::npos;
}

} // namespace troupe::protocol
