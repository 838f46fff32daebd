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

} // namespace troupe::protocol
