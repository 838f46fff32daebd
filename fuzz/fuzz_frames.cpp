// libFuzzer target: one text frame from a worker, as the session reads it.
// The input goes through json_scan (valid, split_object) and parse_frame().
// Checked beyond "no crash":
// - json_scan agrees with nlohmann: it accepts exactly the texts nlohmann
//   accepts (short of the depth limit and a byte order mark), and each
//   member's text and decoded key are what nlohmann reads;
// - anything that is not JSON is a bad_frame `bad_json`; every bad_frame
//   has a code and a message, and the error frame made of them is JSON;
// - an accepted frame that the engine also writes re-serialises (to_json)
//   to valid JSON that parses back to the same frame.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "fuzz/fuzz_check.hpp"
#include "protocol/frames.hpp"
#include "protocol/json_member.hpp"
#include "protocol/json_scan.hpp"

namespace {

using namespace troupe::protocol;
using troupe::fuzz::is_json;
using troupe::fuzz::is_utf8;
using troupe::fuzz::json;
using troupe::fuzz::strict_parse;

bool same(const invoke_frame& a, const invoke_frame& b) {
  return a.invocation_id == b.invocation_id && a.function_id == b.function_id
         && a.data == b.data && a.metadata == b.metadata && a.action == b.action
         && a.queue == b.queue && a.traceparent == b.traceparent
         && a.baggage == b.baggage;
}

bool same(const result_frame& a, const result_frame& b) {
  return a.invocation_id == b.invocation_id && a.function_id == b.function_id
         && a.is_error == b.is_error && a.body == b.body;
}

bool same(const register_trigger_frame& a, const register_trigger_frame& b) {
  return a.id == b.id && a.trigger_type == b.trigger_type
         && a.function_id == b.function_id && a.config == b.config
         && a.metadata == b.metadata;
}

bool same(const unregister_trigger_frame& a,
          const unregister_trigger_frame& b) {
  return a.id == b.id && a.trigger_type == b.trigger_type;
}

bool same(const trigger_result_frame& a, const trigger_result_frame& b) {
  return a.id == b.id && a.trigger_type == b.trigger_type
         && a.function_id == b.function_id && a.is_error == b.is_error
         && a.error_code == b.error_code && a.error_message == b.error_message;
}

/// to_json(x) is JSON and parses back to `x`.
template <class Frame>
void check_round_trip(const Frame& x) {
  auto text = to_json(x);
  FUZZ_CHECK(is_json(text), text);
  auto again = parse_frame(text);
  auto* y = std::get_if<Frame>(&again);
  FUZZ_CHECK(y != nullptr, text);
  FUZZ_CHECK(same(x, *y), text);
}

/// A raw JSON field of an accepted frame is absent or valid JSON.
void check_raw(const std::string& raw) {
  FUZZ_CHECK(raw.empty() || is_json(raw), raw);
}

void check_scanner(std::string_view text) {
  bool has_bom = text.substr(0, 3) == "\xEF\xBB\xBF";
  bool too_deep = nested_deeper_than(text, max_json_depth);
  auto doc = strict_parse(text);
  bool scanner_ok = json_scan::valid(text, max_json_depth);
  if (scanner_ok) FUZZ_CHECK(!doc.is_discarded(), "valid() accepted non-JSON");
  if (!has_bom && !too_deep)
    FUZZ_CHECK(scanner_ok == !doc.is_discarded(),
               "valid() and nlohmann disagree");
  std::vector<json_scan::member> members;
  bool split_ok = json_scan::split_object(text, members, max_json_depth);
  FUZZ_CHECK(split_ok == (scanner_ok && doc.is_object()),
             "split_object() and valid() disagree");
  if (!split_ok) return;
  // nlohmann keeps the first place and the last value of a repeated key.
  size_t unique = 0;
  for (size_t i = 0; i < members.size(); ++i) {
    auto& m = members[i];
    FUZZ_CHECK(is_utf8(m.key), m.key);
    FUZZ_CHECK(doc.contains(m.key), m.key);
    bool last = true;
    for (size_t k = i + 1; k < members.size(); ++k)
      if (members[k].key == m.key) last = false;
    if (!last) continue;
    ++unique;
    auto value = strict_parse(m.text);
    FUZZ_CHECK(!value.is_discarded(), std::string{m.text});
    FUZZ_CHECK(value == doc[m.key], m.key);
    if (m.type == json_scan::kind::string)
      FUZZ_CHECK(json_scan::decode_string(m.text) == value.get<std::string>(),
                 std::string{m.text});
    FUZZ_CHECK((m.type == json_scan::kind::object) == value.is_object(), m.key);
    FUZZ_CHECK((m.type == json_scan::kind::array) == value.is_array(), m.key);
    FUZZ_CHECK((m.type == json_scan::kind::number) == value.is_number(), m.key);
  }
  FUZZ_CHECK(unique == doc.size(), "member count differs from nlohmann's");
}

void check_frame(std::string_view text) {
  auto f = parse_frame(text);
  if (auto* bad = std::get_if<bad_frame>(&f)) {
    FUZZ_CHECK(!bad->code.empty(), "bad_frame without a code");
    FUZZ_CHECK(!bad->message.empty(), "bad_frame without a message");
    FUZZ_CHECK(is_json(error_frame_json(bad->code, bad->message)),
               bad->message);
    if (!is_json(text) || !strict_parse(text).is_object())
      FUZZ_CHECK(bad->code == "bad_json", bad->code);
    return;
  }
  // An accepted frame is a JSON object with a string `type`.
  auto doc = strict_parse(text);
  FUZZ_CHECK(doc.is_object(), "accepted a frame that is not an object");
  std::visit(
    [&](auto& x) {
      using t = std::decay_t<decltype(x)>;
      if constexpr (std::is_same_v<t, invoke_frame>) {
        FUZZ_CHECK(is_json(x.data), x.data);
        check_raw(x.metadata);
        FUZZ_CHECK(!x.invocation_id.empty()
                     || x.action == invoke_action::void_call,
                   "a reply is expected but there is no invocation_id");
        check_round_trip(x);
        // The engine adds members to payloads (queue metadata): still JSON.
        auto extended = with_member(x.data, "_troupe", "{\"a\":1}");
        FUZZ_CHECK(is_json(extended), extended);
        if (strict_parse(x.data).is_object())
          FUZZ_CHECK(strict_parse(extended)["_troupe"]["a"] == 1, extended);
      } else if constexpr (std::is_same_v<t, result_frame>) {
        FUZZ_CHECK(is_json(x.body), x.body);
        check_round_trip(x);
      } else if constexpr (std::is_same_v<t, register_trigger_frame>) {
        FUZZ_CHECK(strict_parse(x.config).is_object(), x.config);
        check_raw(x.metadata);
        check_round_trip(x);
      } else if constexpr (std::is_same_v<t, unregister_trigger_frame>) {
        check_round_trip(x);
      } else if constexpr (std::is_same_v<t, trigger_result_frame>) {
        check_round_trip(x);
      } else if constexpr (std::is_same_v<t, register_function_frame>) {
        FUZZ_CHECK(!x.id.empty(), "registerfunction without an id");
        check_raw(x.description);
        check_raw(x.metadata);
      } else if constexpr (std::is_same_v<t, register_trigger_type_frame>) {
        check_raw(x.description);
      }
    },
    f);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  check_scanner(text);
  check_frame(text);
  return 0;
}
