// invoke_result's constructors and accessors (troupe/messages.hpp).
#include "troupe/messages.hpp"

#include "protocol/frames.hpp"
#include "protocol/json_member.hpp"

namespace troupe {

namespace {

std::string string_member(const invoke_result& x, std::string_view key) {
  if (x.ok) return {};
  auto m = protocol::find_member(x.body, key);
  return m.state == protocol::member_state::found && m.is_string ? m.value : "";
}

} // namespace

invoke_result invoke_result::value(std::string json) {
  return {true, std::move(json)};
}

invoke_result invoke_result::error(std::string_view code,
                                   std::string_view message) {
  return {false, protocol::error_body_json(code, message)};
}

std::string invoke_result::error_code() const {
  return string_member(*this, "code");
}

std::string invoke_result::error_message() const {
  return string_member(*this, "message");
}

} // namespace troupe
