#include "protocol/frames.hpp"

#include <cstddef>
#include <exception>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "protocol/json_member.hpp"
#include "protocol/json_scan.hpp"

namespace troupe::protocol {

namespace {

// ordered_json keeps members in their original order, so payloads reach the
// handler with the keys as the caller wrote them (JS objects are ordered).
using json = nlohmann::ordered_json;
using json_scan::kind;
using json_scan::member;

/// The raw JSON text of `v`. Never throws on bad UTF-8 (the parser rejects
/// it anyway); the replacement character stands in.
std::string raw(const json& v) {
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

bad_frame make_bad(std::string code, std::string message,
                   std::string type = {}) {
  bad_frame x;
  x.code = std::move(code);
  x.message = std::move(message);
  x.type = std::move(type);
  return x;
}

/// nlohmann's name for a JSON type, as messages have always said it.
const char* type_name(kind k) {
  switch (k) {
    case kind::object: return "object";
    case kind::array: return "array";
    case kind::string: return "string";
    case kind::number: return "number";
    case kind::true_value:
    case kind::false_value: return "boolean";
    case kind::null_value: break;
  }
  return "null";
}

/// The last member named `key` (of duplicate keys the last one wins), or
/// nullptr.
const member* last_member(const std::vector<member>& members,
                          std::string_view key) {
  for (auto i = members.rbegin(); i != members.rend(); ++i)
    if (i->key == key) return &*i;
  return nullptr;
}

/// "(got number)", "(got \"later\")" or "(it is missing)" for messages.
std::string describe(const member* v) {
  if (v == nullptr) return "(it is missing)";
  if (v->type == kind::string) {
    auto s = json_scan::decode_string(v->text);
    if (s.size() <= 64) return "(got " + quote(s) + ")";
  }
  return std::string{"(got "} + type_name(v->type) + ")";
}

/// Reads the members of one JSON object of a frame, as split by the
/// scanner: payloads stay the text the worker wrote, and only the strings
/// a parser takes are decoded. Each read returns false after recording the
/// first problem in `error` (shared with nested readers), so reads chain
/// with `&&`. JSON `null` counts as absent for optional members; of
/// duplicate keys the last one wins.
class field_reader {
public:
  /// REQUIRES: `type`, `error` and `prefix` outlive the reader, and the
  /// text the members point into as well.
  field_reader(std::vector<member> members, std::string_view type,
               std::string& error, std::string_view prefix = {})
      : members_(std::move(members)), type_(type), error_(error),
        prefix_(prefix) {
    // nop
  }

  /// A reader for the object `obj`, a member of this one (e.g. `action`);
  /// its messages name fields as `<prefix><key>`.
  field_reader nested(const member& obj, std::string_view prefix) {
    std::vector<member> inner;
    // The scanner validated the text as part of the frame already.
    json_scan::split_object(obj.text, inner, max_json_depth);
    return {std::move(inner), type_, error_, prefix};
  }

  /// The member `key`, or nullptr when it is absent.
  const member* find(std::string_view key) const {
    return last_member(members_, key);
  }

  /// Records "<type>: field '<prefix><key>' must be <expected> (got ...)".
  bool fail(std::string_view key, std::string_view expected, const member* v) {
    error_.clear();
    error_.append(type_).append(": field '").append(prefix_).append(key);
    error_.append("' must be ").append(expected).append(" ");
    error_ += describe(v);
    return false;
  }

  /// Records a problem that is not about one field's type.
  bool fail(std::string_view what) {
    error_.clear();
    error_.append(type_).append(": ").append(what);
    return false;
  }

  /// The recorded problem as a `bad_field` frame.
  bad_frame bad_field() {
    return make_bad("bad_field", std::move(error_), std::string{type_});
  }

  /// Like bad_field(), but keeps the ids so the engine can answer the
  /// caller of a broken call.
  bad_frame bad_call(std::string&& invocation_id, std::string&& function_id) {
    auto x = bad_field();
    x.invocation_id = std::move(invocation_id);
    x.function_id = std::move(function_id);
    return x;
  }

  bool required_string(const char* key, std::string& out) {
    return take_string(find(key), key, "a string", out);
  }

  /// Like required_string, but the empty string is refused as well.
  bool required_id(const char* key, std::string& out) {
    auto* v = find(key);
    if (v != nullptr && v->type == kind::string && v->text.size() == 2)
      return fail(key, "a non-empty string", v);
    return take_string(v, key, "a non-empty string", out);
  }

  bool optional_string(const char* key, std::string& out) {
    auto* v = find(key);
    return v == nullptr || v->type == kind::null_value
           || take_string(v, key, "a string", out);
  }

  /// Stores the raw JSON of a member that must be an object.
  bool required_object(const char* key, std::string& out) {
    auto* v = find(key);
    if (v == nullptr || v->type != kind::object)
      return fail(key, "an object", v);
    out = v->text;
    return true;
  }

  /// Stores the raw JSON of any value; leaves `out` alone when absent.
  bool optional_raw(const char* key, std::string& out) {
    if (auto* v = find(key); v != nullptr && v->type != kind::null_value)
      out = v->text;
    return true;
  }

private:
  bool take_string(const member* v, std::string_view key,
                   std::string_view expected, std::string& out) {
    if (v == nullptr || v->type != kind::string) return fail(key, expected, v);
    out = json_scan::decode_string(v->text);
    return true;
  }

  std::vector<member> members_;
  std::string_view type_;
  std::string& error_;
  std::string_view prefix_;
};

// -- one parser per frame type ----------------------------------------------

// Each returns the frame, or a bad_frame (code bad_field) naming the first
// field that was missing or of the wrong type.

frame parse_register_function(field_reader& r) {
  register_function_frame x;
  std::string invocation;
  if (!r.required_id("id", x.id)
      || !r.optional_raw("description", x.description)
      || !r.optional_raw("metadata", x.metadata)
      || !r.optional_raw("invocation", invocation))
    return r.bad_field();
  if (!invocation.empty()) {
    http_function_error err;
    x.invocation = parse_http_invocation(invocation, err);
    if (!x.invocation)
      return make_bad(err.code,
                      "registerfunction " + quote(x.id) + ": " + err.message,
                      "registerfunction");
  }
  return x;
}

/// Frames whose only field is the required string `id`.
template <class Frame>
frame parse_id_only(field_reader& r) {
  Frame x;
  if (r.required_string("id", x.id)) return x;
  return r.bad_field();
}

frame parse_register_trigger(field_reader& r) {
  register_trigger_frame x;
  if (r.required_string("id", x.id)
      && r.required_string("trigger_type", x.trigger_type)
      && r.required_string("function_id", x.function_id)
      && r.required_object("config", x.config)
      && r.optional_raw("metadata", x.metadata))
    return x;
  return r.bad_field();
}

frame parse_unregister_trigger(field_reader& r) {
  unregister_trigger_frame x;
  if (r.required_string("id", x.id)
      && r.optional_string("trigger_type", x.trigger_type))
    return x;
  return r.bad_field();
}

frame parse_register_trigger_type(field_reader& r) {
  register_trigger_type_frame x;
  if (r.required_string("id", x.id)
      && r.optional_raw("description", x.description))
    return x;
  return r.bad_field();
}

/// Reads `action`: absent or null means sync; otherwise `{"type":"void"}` or
/// `{"type":"enqueue","queue":<string>}`.
bool read_action(field_reader& r, invoke_frame& x) {
  auto* v = r.find("action");
  if (v == nullptr || v->type == kind::null_value) return true;
  if (v->type != kind::object) return r.fail("action", "an object", v);
  auto action = r.nested(*v, "action.");
  constexpr auto kinds = R"("void" or "enqueue")";
  auto* type = action.find("type");
  if (type == nullptr || type->type != kind::string)
    return action.fail("type", kinds, type);
  auto name = json_scan::decode_string(type->text);
  if (name == "void") {
    x.action = invoke_action::void_call;
    return true;
  }
  if (name == "enqueue") {
    x.action = invoke_action::enqueue;
    return action.required_string("queue", x.queue);
  }
  return action.fail("type", kinds, type);
}

frame parse_invoke(field_reader& r) {
  invoke_frame x;
  // The ids first: a later problem still gets them into the bad_frame.
  bool ok = r.optional_string("invocation_id", x.invocation_id)
            && r.required_string("function_id", x.function_id)
            && r.optional_raw("data", x.data)
            && r.optional_raw("metadata", x.metadata) && read_action(r, x)
            && r.optional_string("traceparent", x.traceparent)
            && r.optional_string("baggage", x.baggage);
  if (ok && x.invocation_id.empty() && x.action != invoke_action::void_call)
    ok = r.fail("field 'invocation_id' is required for sync and enqueue"
                " calls (without it nobody can receive the answer)");
  if (ok) return x;
  return r.bad_call(std::move(x.invocation_id), std::move(x.function_id));
}

frame parse_result(field_reader& r) {
  result_frame x;
  if (!r.required_string("invocation_id", x.invocation_id)
      || !r.optional_string("function_id", x.function_id))
    return r.bad_call(std::move(x.invocation_id), std::move(x.function_id));
  if (auto* err = r.find("error");
      err != nullptr && err->type != kind::null_value) {
    x.is_error = true;
    x.body = err->text;
  } else {
    r.optional_raw("result", x.body);
  }
  return x;
}

frame parse_reattach(field_reader& r) {
  reattach_frame x;
  if (r.optional_string("previous_worker_id", x.previous_worker_id)) return x;
  return r.bad_field();
}

/// `error`: absent or null for a binding the provider accepted, else an
/// object with the string members `code` and `message` (iii's ErrorBody).
frame parse_trigger_result(field_reader& r) {
  trigger_result_frame x;
  if (!r.required_string("id", x.id)
      || !r.optional_string("trigger_type", x.trigger_type)
      || !r.optional_string("function_id", x.function_id))
    return r.bad_field();
  auto* err = r.find("error");
  if (err == nullptr || err->type == kind::null_value) return x;
  if (err->type != kind::object) {
    r.fail("error", "an object", err);
    return r.bad_field();
  }
  auto error = r.nested(*err, "error.");
  if (!error.required_string("code", x.error_code)
      || !error.required_string("message", x.error_message))
    return r.bad_field();
  x.is_error = true;
  return x;
}

using frame_parser = frame (*)(field_reader&);

/// The parser for a frame type, or nullptr for an unknown one. The two
/// frequent types come first.
frame_parser parser_for(std::string_view type) {
  if (type == "invokefunction") return parse_invoke;
  if (type == "invocationresult") return parse_result;
  if (type == "registerfunction") return parse_register_function;
  if (type == "unregisterfunction")
    return parse_id_only<unregister_function_frame>;
  if (type == "registertrigger") return parse_register_trigger;
  if (type == "unregistertrigger") return parse_unregister_trigger;
  if (type == "registertriggertype") return parse_register_trigger_type;
  if (type == "unregistertriggertype")
    return parse_id_only<unregister_trigger_type_frame>;
  if (type == "reattach") return parse_reattach;
  if (type == "triggerregistrationresult") return parse_trigger_result;
  return nullptr;
}

/// Checks the type member and runs the parser for it.
frame parse_members(std::vector<member> members) {
  auto* t = last_member(members, "type");
  if (t == nullptr || t->type != kind::string)
    return make_bad("missing_type", "frame has no string field 'type'");
  auto type = json_scan::decode_string(t->text);
  auto parse = parser_for(type);
  if (parse == nullptr) {
    auto message = "unknown frame type " + quote(type);
    return make_bad("unknown_type", std::move(message), std::move(type));
  }
  std::string error;
  field_reader reader{std::move(members), type, error};
  return parse(reader);
}

/// The kind of a document's value, as the scanner names it.
kind kind_of(const json& v) {
  switch (v.type()) {
    case json::value_t::object: return kind::object;
    case json::value_t::array: return kind::array;
    case json::value_t::string: return kind::string;
    case json::value_t::boolean:
      return v.get<bool>() ? kind::true_value : kind::false_value;
    case json::value_t::null: return kind::null_value;
    default: return kind::number;
  }
}

/// The rare frame the scanner refuses (see json_scan.hpp): nlohmann parses
/// it and gives the verdict. One it accepts is printed member by member, so
/// the same parsers read it.
frame parse_slow(std::string_view text) {
  if (nested_deeper_than(text, max_json_depth))
    return make_bad("bad_json", "JSON nests deeper than "
                                  + std::to_string(max_json_depth) + " levels");
  if (has_nul(text))
    return make_bad("bad_json", "frame is not valid JSON: it holds a NUL byte");
  auto j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) return make_bad("bad_json", "frame is not valid JSON");
  if (!j.is_object())
    return make_bad("bad_json", std::string{"frame must be a JSON object, not "}
                                  + j.type_name());
  // What the members point into; reserved, so it never moves.
  std::vector<std::string> texts;
  texts.reserve(j.size());
  std::vector<member> members;
  for (auto& [key, value] : j.items()) {
    texts.push_back(raw(value));
    members.push_back(member{key, kind_of(value), texts.back()});
  }
  return parse_members(std::move(members));
}

frame parse_frame_impl(std::string_view text) {
  std::vector<member> members;
  if (json_scan::split_object(text, members, max_json_depth))
    return parse_members(std::move(members));
  return parse_slow(text);
}

// -- serialising --------------------------------------------------------------

/// Appends `,"key":` to `out`.
void append_key(std::string& out, std::string_view key) {
  out.append(",\"").append(key).append("\":");
}

void append_string(std::string& out, std::string_view key,
                   std::string_view value) {
  append_key(out, key);
  out += quote(value);
}

/// Appends raw JSON; an empty `value` is written as null, so the output
/// stays valid JSON even for a default-constructed string.
void append_raw(std::string& out, std::string_view key,
                std::string_view value) {
  append_key(out, key);
  out.append(value.empty() ? std::string_view{"null"} : value);
}

void append_string_if(std::string& out, std::string_view key,
                      std::string_view value) {
  if (!value.empty()) append_string(out, key, value);
}

void append_raw_if(std::string& out, std::string_view key,
                   std::string_view value) {
  if (!value.empty()) append_raw(out, key, value);
}

/// `{"type":"<type>"`: the opening of every frame; the caller closes it.
std::string open_frame(std::string_view type, size_t extra) {
  std::string out;
  out.reserve(type.size() + extra + 16);
  out.append(R"({"type":")").append(type).append("\"");
  return out;
}

/// Appends the JSON escape sequence for `c`, a quote, a backslash or a
/// control character.
void append_escape(std::string& out, unsigned char c) {
  constexpr char hex[] = "0123456789abcdef";
  switch (c) {
    case '"': out += "\\\""; return;
    case '\\': out += "\\\\"; return;
    case '\b': out += "\\b"; return;
    case '\f': out += "\\f"; return;
    case '\n': out += "\\n"; return;
    case '\r': out += "\\r"; return;
    case '\t': out += "\\t"; return;
    default:
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0x0f];
  }
}

} // namespace

frame parse_frame(std::string_view text) {
  try {
    return parse_frame_impl(text);
  } catch (const std::exception& e) {
    return make_bad("bad_json", std::string{"cannot parse frame: "} + e.what());
  } catch (...) {
    return make_bad("bad_json", "cannot parse frame");
  }
}

std::string workerregistered_json(std::string_view worker_id,
                                  std::string_view reattach_token) {
  auto out = open_frame("workerregistered",
                        worker_id.size() + reattach_token.size() + 40);
  append_string(out, "worker_id", worker_id);
  append_string_if(out, "reattach_token", reattach_token);
  out += '}';
  return out;
}

std::string to_json(const invoke_frame& x) {
  auto out = open_frame("invokefunction",
                        x.invocation_id.size() + x.function_id.size()
                          + x.data.size() + x.metadata.size() + x.queue.size()
                          + x.traceparent.size() + x.baggage.size() + 160);
  append_string_if(out, "invocation_id", x.invocation_id);
  append_string(out, "function_id", x.function_id);
  append_raw(out, "data", x.data);
  append_raw_if(out, "metadata", x.metadata);
  append_string_if(out, "traceparent", x.traceparent);
  append_string_if(out, "baggage", x.baggage);
  switch (x.action) {
    case invoke_action::sync: break;
    case invoke_action::void_call: out += R"(,"action":{"type":"void"})"; break;
    case invoke_action::enqueue:
      out += R"(,"action":{"type":"enqueue","queue":)";
      out += quote(x.queue);
      out += '}';
      break;
  }
  out += '}';
  return out;
}

std::string to_json(const result_frame& x) {
  auto out = open_frame("invocationresult", x.invocation_id.size()
                                              + x.function_id.size()
                                              + x.body.size() + 60);
  append_string(out, "invocation_id", x.invocation_id);
  append_string(out, "function_id", x.function_id);
  append_raw(out, x.is_error ? "error" : "result", x.body);
  out += '}';
  return out;
}

std::string to_json(const register_trigger_frame& x) {
  auto out = open_frame("registertrigger", x.id.size() + x.trigger_type.size()
                                             + x.function_id.size()
                                             + x.config.size()
                                             + x.metadata.size() + 80);
  append_string(out, "id", x.id);
  append_string(out, "trigger_type", x.trigger_type);
  append_string(out, "function_id", x.function_id);
  append_raw(out, "config",
             x.config.empty() ? std::string_view{"{}"} : x.config);
  append_raw_if(out, "metadata", x.metadata);
  out += '}';
  return out;
}

std::string to_json(const unregister_trigger_frame& x) {
  auto out = open_frame("unregistertrigger",
                        x.id.size() + x.trigger_type.size() + 40);
  append_string(out, "id", x.id);
  append_string_if(out, "trigger_type", x.trigger_type);
  out += '}';
  return out;
}

std::string to_json(const trigger_result_frame& x) {
  if (x.is_error)
    return trigger_registration_error_json(x.id, x.trigger_type, x.function_id,
                                           x.error_code, x.error_message);
  auto out = open_frame("triggerregistrationresult",
                        x.id.size() + x.trigger_type.size()
                          + x.function_id.size() + 60);
  append_string(out, "id", x.id);
  append_string(out, "trigger_type", x.trigger_type);
  append_string(out, "function_id", x.function_id);
  out += '}';
  return out;
}

std::string trigger_registration_error_json(std::string_view id,
                                            std::string_view trigger_type,
                                            std::string_view function_id,
                                            std::string_view code,
                                            std::string_view message) {
  auto out = open_frame("triggerregistrationresult",
                        id.size() + trigger_type.size() + function_id.size()
                          + code.size() + message.size() + 80);
  append_string(out, "id", id);
  append_string(out, "trigger_type", trigger_type);
  append_string(out, "function_id", function_id);
  append_raw(out, "error", error_body_json(code, message));
  out += '}';
  return out;
}

std::string error_frame_json(std::string_view code, std::string_view message) {
  auto out = open_frame("error", code.size() + message.size() + 40);
  append_raw(out, "error", error_body_json(code, message));
  out += '}';
  return out;
}

std::string error_body_json(std::string_view code, std::string_view message) {
  std::string out;
  out.reserve(code.size() + message.size() + 28);
  out.append(R"({"code":)").append(quote(code));
  append_string(out, "message", message);
  out += '}';
  return out;
}

std::string quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  // Copies runs that need no escaping in one go.
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue; // incl. UTF-8 bytes
    out.append(s, run, i - run);
    run = i + 1;
    append_escape(out, c);
  }
  out.append(s, run, std::string_view::npos);
  out += '"';
  return out;
}

std::string with_member(std::string_view data, std::string_view key,
                        std::string_view value_json) {
  auto open = data.find_first_not_of(" \t\r\n");
  auto close = data.find_last_not_of(" \t\r\n");
  if (open == std::string_view::npos || data[open] != '{' || close <= open
      || data[close] != '}')
    return std::string{data};
  bool empty = data.find_first_not_of(" \t\r\n", open + 1) == close;
  std::string out;
  out.reserve(data.size() + key.size() + value_json.size() + 4);
  out.append(data.substr(0, close));
  if (!empty) out += ',';
  out.append(quote(key)).append(":").append(value_json);
  out.append(data.substr(close));
  return out;
}

} // namespace troupe::protocol
