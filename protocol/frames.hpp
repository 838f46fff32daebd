// The iii worker protocol's frames as plain structs, and their JSON text
// (README: The protocol troupe speaks). JSON values the engine only passes
// along (payloads, results, metadata) stay raw JSON text: they are parsed
// once at the edge and never again. This header does not include
// nlohmann/json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/http_function.hpp"

namespace troupe::protocol {

/// `registerfunction`. Optional fields hold raw JSON text; empty = absent.
struct register_function_frame {
  std::string id;
  std::string description;
  std::string metadata;
  /// Set for an HTTP-invoked function (`invocation`: the engine calls its
  /// URL); a bad object makes the frame a bad_frame `invalid_invocation`.
  std::optional<http_invocation> invocation;
};

/// `unregisterfunction`.
struct unregister_function_frame {
  std::string id;
};

/// `registertrigger`. `config` is the raw JSON object; `metadata` may be empty.
struct register_trigger_frame {
  std::string id;
  std::string trigger_type;
  std::string function_id;
  std::string config;
  std::string metadata;
};

/// `unregistertrigger`. `trigger_type` may be empty (it is optional).
struct unregister_trigger_frame {
  std::string id;
  std::string trigger_type;
};

/// `registertriggertype`.
struct register_trigger_type_frame {
  std::string id;
  std::string description;
};

/// `unregistertriggertype`.
struct unregister_trigger_type_frame {
  std::string id;
};

enum class invoke_action { sync, void_call, enqueue };

/// `invokefunction`, in either direction. `data` is raw JSON ("null" when the
/// frame had none); `metadata`, `traceparent` and `baggage` are empty when
/// absent. `invocation_id` is empty for Void calls from workers.
struct invoke_frame {
  std::string invocation_id;
  std::string function_id;
  std::string data = "null";
  std::string metadata;
  invoke_action action = invoke_action::sync;
  /// The queue of an enqueue action.
  std::string queue;
  std::string traceparent;
  std::string baggage;
};

/// `invocationresult`, in either direction. `body` is the raw JSON of
/// `result` ("null" when absent) or, when `is_error`, of `error`.
struct result_frame {
  std::string invocation_id;
  std::string function_id;
  bool is_error = false;
  std::string body = "null";
};

/// `reattach`: ignored by troupe beyond logging.
struct reattach_frame {
  std::string previous_worker_id;
};

/// `triggerregistrationresult` from a worker that provides a trigger type:
/// the SDK sends one after every `registertrigger` it is sent, with `error`
/// when its handler refused the binding. `trigger_type` and `function_id`
/// may be empty (they are optional); `error_code` and `error_message` are
/// set only when `is_error`.
struct trigger_result_frame {
  std::string id;
  std::string trigger_type;
  std::string function_id;
  bool is_error = false;
  std::string error_code;
  std::string error_message;
};

/// A frame troupe could not accept. `code` is machine-readable
/// ("bad_json", "missing_type", "unknown_type", "bad_field"); `message` says
/// what was wrong. When the frame carried a usable `invocation_id` (an
/// `invokefunction` with a reply expected) it is kept, so the caller can be
/// answered instead of waiting for its timeout.
struct bad_frame {
  std::string code;
  std::string message;
  std::string type;
  std::string invocation_id;
  std::string function_id;
};

using frame
  = std::variant<register_function_frame, unregister_function_frame,
                 register_trigger_frame, unregister_trigger_frame,
                 register_trigger_type_frame, unregister_trigger_type_frame,
                 invoke_frame, result_frame, reattach_frame,
                 trigger_result_frame, bad_frame>;

/// Parses one text frame. Never throws: anything unacceptable is a bad_frame.
/// Unknown fields are ignored; optional fields may be absent.
frame parse_frame(std::string_view text);

// -- engine -> worker -------------------------------------------------------

/// `{"type":"workerregistered","worker_id":...,"reattach_token":...}`
std::string workerregistered_json(std::string_view worker_id,
                                  std::string_view reattach_token);

/// `invokefunction` to a worker; embeds the raw JSON fields as they are.
std::string to_json(const invoke_frame& x);

/// `invocationresult` to a worker; embeds `body` as it is.
std::string to_json(const result_frame& x);

/// `registertrigger` to the worker that provides the trigger's type; an
/// empty `config` is sent as `{}`.
std::string to_json(const register_trigger_frame& x);

/// `unregistertrigger` to the worker that provides the trigger's type.
std::string to_json(const unregister_trigger_frame& x);

/// `triggerregistrationresult`, with `error` only when `is_error` (as a
/// provider worker sends it; for tests and fake workers).
std::string to_json(const trigger_result_frame& x);

/// `{"type":"triggerregistrationresult","id":...,"trigger_type":...,
///   "function_id":...,"error":{"code":...,"message":...}}`
std::string trigger_registration_error_json(std::string_view id,
                                            std::string_view trigger_type,
                                            std::string_view function_id,
                                            std::string_view code,
                                            std::string_view message);

/// `{"type":"error","error":{"code":...,"message":...}}`: the reply to a
/// frame that cannot be answered otherwise. The SDK ignores it.
std::string error_frame_json(std::string_view code, std::string_view message);

/// `{"code":...,"message":...}`: an error body as the SDK expects it.
std::string error_body_json(std::string_view code, std::string_view message);

/// A JSON string literal for `s`, quotes included.
std::string quote(std::string_view s);

/// When `data` is a JSON object, returns it with `"key":value_json` added as
/// its last member, so that it wins over a member of the same name (JSON
/// parsers keep the last duplicate); otherwise returns `data` unchanged.
std::string with_member(std::string_view data, std::string_view key,
                        std::string_view value_json);

} // namespace troupe::protocol
