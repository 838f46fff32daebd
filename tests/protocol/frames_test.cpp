// Tests for protocol/frames: parsing the SDK's real frames (copied verbatim
// from a log of iii-sdk@0.22.1 talking to an engine), round trips, every
// bad_frame code, and the text helpers quote() and with_member().
#include "protocol/frames.hpp"

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

#include <gtest/gtest.h>

using namespace troupe::protocol;

namespace {

std::string describe(const frame& f) {
  if (auto* b = std::get_if<bad_frame>(&f))
    return "bad_frame{" + b->code + ", " + b->message + "}";
  return "frame #" + std::to_string(f.index());
}

/// The frame parsed from `text` as a `T`; throws (GoogleTest reports it as
/// a failure) when the parser produced something else.
template <class T>
T parse_as(std::string_view text) {
  auto f = parse_frame(text);
  if (auto* x = std::get_if<T>(&f)) return std::move(*x);
  throw std::runtime_error("unexpected " + describe(f) + " for "
                           + std::string{text});
}

bad_frame parse_bad(std::string_view text) { return parse_as<bad_frame>(text); }

void expect_same(const invoke_frame& a, const invoke_frame& b) {
  EXPECT_EQ(a.invocation_id, b.invocation_id);
  EXPECT_EQ(a.function_id, b.function_id);
  EXPECT_EQ(a.data, b.data);
  EXPECT_EQ(a.metadata, b.metadata);
  EXPECT_EQ(a.action, b.action);
  EXPECT_EQ(a.queue, b.queue);
  EXPECT_EQ(a.traceparent, b.traceparent);
  EXPECT_EQ(a.baggage, b.baggage);
}

void expect_same(const result_frame& a, const result_frame& b) {
  EXPECT_EQ(a.invocation_id, b.invocation_id);
  EXPECT_EQ(a.function_id, b.function_id);
  EXPECT_EQ(a.is_error, b.is_error);
  EXPECT_EQ(a.body, b.body);
}

// -- real frames from the log -------------------------------------------------

constexpr std::string_view register_add
  = R"({"type":"registerfunction","description":"Add two numbers","metadata":{"owner":"test"},"id":"math::add"})";

constexpr std::string_view register_trigger_line
  = R"({"type":"registertrigger","function_id":"http::hello","config":{"api_path":"hello/:name","http_method":"POST"},"id":"ea907333-faee-43a7-9228-0acde4dc6f7b","message_type":"registertrigger","trigger_type":"http"})";

constexpr std::string_view sync_call
  = R"({"type":"invokefunction","invocation_id":"e85a4394-c247-440b-8529-2d4ff9b1d278","function_id":"math::add","data":{"a":2,"b":3},"metadata":{"via":"sync"}})";

constexpr std::string_view void_call
  = R"({"type":"invokefunction","function_id":"math::add","data":{"a":1,"b":1},"action":{"type":"void"}})";

constexpr std::string_view enqueue_call
  = R"({"type":"invokefunction","invocation_id":"7ce9f1d0-ef83-41d2-8fdf-b1373f5cc256","function_id":"math::add","data":{"a":10,"b":20},"action":{"type":"enqueue","queue":"default"}})";

constexpr std::string_view workers_register
  = R"~({"type":"invokefunction","function_id":"engine::workers::register","data":{"runtime":"node","version":"0.22.1","name":"callee","os":"linux 6.18.44-fc-v595 (x64)","pid":16627,"isolation":null,"telemetry":{"language":"en-US","project_name":"protocheck","framework":"iii-node"}},"action":{"type":"void"}})~";

constexpr std::string_view result_line
  = R"({"type":"invocationresult","invocation_id":"e85a4394-c247-440b-8529-2d4ff9b1d278","function_id":"math::add","result":{"c":5}})";

constexpr std::string_view error_line
  = R"({"type":"invocationresult","invocation_id":"d1cfb19c-a911-430b-bb02-739af7dec1a8","function_id":"does::not::exist","error":{"code":"function_not_found","message":"Function does::not::exist not found"}})";

TEST(parse_frame, registerfunction_with_description_and_metadata) {
  auto x = parse_as<register_function_frame>(register_add);
  EXPECT_EQ(x.id, "math::add");
  EXPECT_EQ(x.description, R"("Add two numbers")");
  EXPECT_EQ(x.metadata, R"({"owner":"test"})");
}

TEST(parse_frame, bare_registerfunction) {
  auto x = parse_as<register_function_frame>(
    R"({"type":"registerfunction","id":"boom"})");
  EXPECT_EQ(x.id, "boom");
  EXPECT_EQ(x.description, "");
  EXPECT_EQ(x.metadata, "");
}

TEST(parse_frame, unregisterfunction) {
  auto x = parse_as<unregister_function_frame>(
    R"({"type":"unregisterfunction","id":"temp::fn"})");
  EXPECT_EQ(x.id, "temp::fn");
}

TEST(parse_frame, registertrigger_ignores_message_type) {
  auto x = parse_as<register_trigger_frame>(register_trigger_line);
  EXPECT_EQ(x.id, "ea907333-faee-43a7-9228-0acde4dc6f7b");
  EXPECT_EQ(x.trigger_type, "http");
  EXPECT_EQ(x.function_id, "http::hello");
  EXPECT_EQ(x.config, R"({"api_path":"hello/:name","http_method":"POST"})");
  EXPECT_EQ(x.metadata, "");
}

TEST(parse_frame, registertrigger_engine_to_worker_with_empty_config) {
  auto x = parse_as<register_trigger_frame>(
    R"({"type":"registertrigger","id":"t-1","trigger_type":"cron","function_id":"math::add","config":{}})");
  EXPECT_EQ(x.id, "t-1");
  EXPECT_EQ(x.trigger_type, "cron");
  EXPECT_EQ(x.config, "{}");
}

TEST(parse_frame, registertrigger_with_metadata) {
  auto x = parse_as<register_trigger_frame>(
    R"({"type":"registertrigger","id":"t","trigger_type":"http","function_id":"f","config":{"api_path":"x"},"metadata":{"k":[1,2]}})");
  EXPECT_EQ(x.metadata, R"({"k":[1,2]})");
}

TEST(parse_frame, unregistertrigger) {
  auto x = parse_as<unregister_trigger_frame>(
    R"({"type":"unregistertrigger","id":"3c8bceec-d514-422f-93c4-3e7ff665e1b7","message_type":"unregistertrigger","trigger_type":"http"})");
  EXPECT_EQ(x.id, "3c8bceec-d514-422f-93c4-3e7ff665e1b7");
  EXPECT_EQ(x.trigger_type, "http");
}

TEST(parse_frame, unregistertrigger_without_trigger_type) {
  auto x = parse_as<unregister_trigger_frame>(
    R"({"type":"unregistertrigger","id":"t"})");
  EXPECT_EQ(x.id, "t");
  EXPECT_EQ(x.trigger_type, "");
}

TEST(parse_frame, registertriggertype_and_unregistertriggertype) {
  auto x = parse_as<register_trigger_type_frame>(
    R"({"type":"registertriggertype","id":"cron","description":"Cron jobs"})");
  EXPECT_EQ(x.id, "cron");
  EXPECT_EQ(x.description, R"("Cron jobs")");
  auto y = parse_as<register_trigger_type_frame>(
    R"({"type":"registertriggertype","id":"cron"})");
  EXPECT_EQ(y.description, "");
  auto z = parse_as<unregister_trigger_type_frame>(
    R"({"type":"unregistertriggertype","id":"cron"})");
  EXPECT_EQ(z.id, "cron");
}

TEST(parse_frame, triggerregistrationresult_refusal_from_the_log) {
  // What the SDK sends for a trigger type it does not provide.
  auto x = parse_as<trigger_result_frame>(
    R"({"type":"triggerregistrationresult","id":"t-1","message_type":"triggerregistrationresult","function_id":"math::add","error":{"code":"trigger_type_not_found","message":"Trigger type not found"},"trigger_type":"cron"})");
  EXPECT_EQ(x.id, "t-1");
  EXPECT_EQ(x.trigger_type, "cron");
  EXPECT_EQ(x.function_id, "math::add");
  EXPECT_TRUE(x.is_error);
  EXPECT_EQ(x.error_code, "trigger_type_not_found");
  EXPECT_EQ(x.error_message, "Trigger type not found");
}

TEST(parse_frame, triggerregistrationresult_success) {
  for (
    auto text :
    {R"({"type":"triggerregistrationresult","id":"t-1","message_type":"triggerregistrationresult","function_id":"f","trigger_type":"cron"})",
     R"({"type":"triggerregistrationresult","id":"t-1","error":null})"}) {
    auto x = parse_as<trigger_result_frame>(text);
    EXPECT_EQ(x.id, "t-1") << text;
    EXPECT_FALSE(x.is_error) << text;
    EXPECT_EQ(x.error_code, "") << text;
  }
}

TEST(parse_frame, triggerregistrationresult_error_keeps_escapes_and_extras) {
  auto x = parse_as<trigger_result_frame>(
    R"({"type":"triggerregistrationresult","id":"t","error":{"code":"c","message":"say \"no\"\n","stacktrace":"at x"}})");
  EXPECT_TRUE(x.is_error);
  EXPECT_EQ(x.error_message, "say \"no\"\n");
}

TEST(parse_frame, sync_invokefunction_with_metadata) {
  auto x = parse_as<invoke_frame>(sync_call);
  EXPECT_EQ(x.invocation_id, "e85a4394-c247-440b-8529-2d4ff9b1d278");
  EXPECT_EQ(x.function_id, "math::add");
  EXPECT_EQ(x.data, R"({"a":2,"b":3})");
  EXPECT_EQ(x.metadata, R"({"via":"sync"})");
  EXPECT_EQ(x.action, invoke_action::sync);
  EXPECT_EQ(x.queue, "");
  EXPECT_EQ(x.traceparent, "");
  EXPECT_EQ(x.baggage, "");
}

TEST(parse_frame, void_invokefunction_has_no_invocation_id) {
  auto x = parse_as<invoke_frame>(void_call);
  EXPECT_EQ(x.invocation_id, "");
  EXPECT_EQ(x.function_id, "math::add");
  EXPECT_EQ(x.data, R"({"a":1,"b":1})");
  EXPECT_EQ(x.action, invoke_action::void_call);
}

TEST(parse_frame, workers_register_keeps_data_member_order) {
  auto x = parse_as<invoke_frame>(workers_register);
  EXPECT_EQ(x.function_id, "engine::workers::register");
  EXPECT_EQ(x.action, invoke_action::void_call);
  EXPECT_EQ(
    x.data,
    R"~({"runtime":"node","version":"0.22.1","name":"callee","os":"linux 6.18.44-fc-v595 (x64)","pid":16627,"isolation":null,"telemetry":{"language":"en-US","project_name":"protocheck","framework":"iii-node"}})~");
}

TEST(parse_frame, enqueue_invokefunction) {
  auto x = parse_as<invoke_frame>(enqueue_call);
  EXPECT_EQ(x.invocation_id, "7ce9f1d0-ef83-41d2-8fdf-b1373f5cc256");
  EXPECT_EQ(x.action, invoke_action::enqueue);
  EXPECT_EQ(x.queue, "default");
  EXPECT_EQ(x.data, R"({"a":10,"b":20})");
}

TEST(parse_frame, invokefunction_with_trace_context) {
  auto x = parse_as<invoke_frame>(
    R"({"type":"invokefunction","invocation_id":"i","function_id":"f","data":[1],"traceparent":"00-abc-def-01","baggage":"k=v"})");
  EXPECT_EQ(x.traceparent, "00-abc-def-01");
  EXPECT_EQ(x.baggage, "k=v");
  EXPECT_EQ(x.data, "[1]");
}

TEST(parse_frame, invocationresult_success) {
  auto x = parse_as<result_frame>(result_line);
  EXPECT_EQ(x.invocation_id, "e85a4394-c247-440b-8529-2d4ff9b1d278");
  EXPECT_EQ(x.function_id, "math::add");
  EXPECT_FALSE(x.is_error);
  EXPECT_EQ(x.body, R"({"c":5})");
}

TEST(parse_frame, invocationresult_string_result) {
  auto x = parse_as<result_frame>(
    R"({"type":"invocationresult","invocation_id":"13bdf970-9feb-427d-879c-04f83de5fd68","function_id":"slow","result":"late"})");
  EXPECT_FALSE(x.is_error);
  EXPECT_EQ(x.body, R"("late")");
}

TEST(parse_frame, invocationresult_error) {
  auto x = parse_as<result_frame>(error_line);
  EXPECT_EQ(x.invocation_id, "d1cfb19c-a911-430b-bb02-739af7dec1a8");
  EXPECT_EQ(x.function_id, "does::not::exist");
  EXPECT_TRUE(x.is_error);
  EXPECT_EQ(
    x.body,
    R"({"code":"function_not_found","message":"Function does::not::exist not found"})");
}

TEST(parse_frame, invocationresult_error_keeps_escapes) {
  auto x = parse_as<result_frame>(
    R"({"type":"invocationresult","invocation_id":"i","function_id":"boom","error":{"code":"invocation_failed","message":"kaboom","stacktrace":"Error: kaboom\n    at x"}})");
  EXPECT_TRUE(x.is_error);
  EXPECT_EQ(
    x.body,
    R"({"code":"invocation_failed","message":"kaboom","stacktrace":"Error: kaboom\n    at x"})");
}

TEST(parse_frame, reattach) {
  auto x = parse_as<reattach_frame>(
    R"({"type":"reattach","previous_worker_id":"8b29f4c3-cb94-4d61-af16-3bf9c238347b","reattach_token":"3fc757c7-c6cb-49ed-9ac1-821e02c42e94"})");
  EXPECT_EQ(x.previous_worker_id, "8b29f4c3-cb94-4d61-af16-3bf9c238347b");
  auto y = parse_as<reattach_frame>(R"({"type":"reattach"})");
  EXPECT_EQ(y.previous_worker_id, "");
}

// -- defaults and leniency ----------------------------------------------------

TEST(parse_frame, unknown_fields_are_ignored) {
  auto x = parse_as<invoke_frame>(
    R"({"extra":{"deep":[1,{"type":"x"}]},"type":"invokefunction","invocation_id":"i","function_id":"f","data":1,"message_type":"junk","action":{"type":"enqueue","queue":"q","priority":9}})");
  EXPECT_EQ(x.action, invoke_action::enqueue);
  EXPECT_EQ(x.queue, "q");
  EXPECT_EQ(x.data, "1");
  auto y = parse_as<register_function_frame>(
    R"({"type":"registerfunction","id":"f","request_format":{},"invocation":{"url":"http://h/u","auth_extra":1}})");
  EXPECT_EQ(y.id, "f");
  ASSERT_TRUE(y.invocation);
  EXPECT_EQ(y.invocation->parsed.target, "/u");
}

TEST(parse_frame, absent_data_is_null) {
  auto x = parse_as<invoke_frame>(
    R"({"type":"invokefunction","invocation_id":"i","function_id":"f"})");
  EXPECT_EQ(x.data, "null");
  auto y = parse_as<invoke_frame>(
    R"({"type":"invokefunction","invocation_id":"i","function_id":"f","data":null})");
  EXPECT_EQ(y.data, "null");
}

TEST(parse_frame, absent_result_is_null) {
  auto x = parse_as<result_frame>(
    R"({"type":"invocationresult","invocation_id":"i"})");
  EXPECT_FALSE(x.is_error);
  EXPECT_EQ(x.body, "null");
  EXPECT_EQ(x.function_id, "");
}

TEST(parse_frame, null_error_is_success) {
  auto x = parse_as<result_frame>(
    R"({"type":"invocationresult","invocation_id":"i","function_id":"f","error":null,"result":{"ok":true}})");
  EXPECT_FALSE(x.is_error);
  EXPECT_EQ(x.body, R"({"ok":true})");
  auto y = parse_as<result_frame>(
    R"({"type":"invocationresult","invocation_id":"i","error":null})");
  EXPECT_FALSE(y.is_error);
  EXPECT_EQ(y.body, "null");
}

TEST(parse_frame, error_wins_over_result) {
  auto x = parse_as<result_frame>(
    R"({"type":"invocationresult","invocation_id":"i","result":1,"error":"oops"})");
  EXPECT_TRUE(x.is_error);
  EXPECT_EQ(x.body, R"("oops")");
}

TEST(parse_frame, null_optionals_count_as_absent) {
  auto x = parse_as<invoke_frame>(
    R"({"type":"invokefunction","invocation_id":"i","function_id":"f","metadata":null,"action":null,"traceparent":null,"baggage":null})");
  EXPECT_EQ(x.metadata, "");
  EXPECT_EQ(x.action, invoke_action::sync);
  EXPECT_EQ(x.traceparent, "");
  EXPECT_EQ(x.baggage, "");
}

TEST(parse_frame, whitespace_and_utf8_survive) {
  auto x = parse_as<invoke_frame>(
    " \n{ \"type\" : \"invokefunction\", \"invocation_id\" : \"i\","
    " \"function_id\" : \"caf\xC3\xA9\", \"data\" : { \"s\" : "
    "\"\xE2\x82\xAC\" } }\n");
  EXPECT_EQ(x.function_id, "caf\xC3\xA9");
  // The payload travels as the caller wrote it.
  EXPECT_EQ(x.data, "{ \"s\" : \"\xE2\x82\xAC\" }");
}

TEST(parse_frame, payloads_the_scanner_refuses_get_nlohmanns_verdict) {
  // A lone surrogate escape: invalid for both; nlohmann names the problem.
  auto b = parse_bad(
    R"({"type":"invokefunction","invocation_id":"i","function_id":"f","data":"\ud800"})");
  EXPECT_EQ(b.code, "bad_json");
  // A byte order mark: the scanner leaves it to nlohmann, which skips it.
  auto x = parse_as<invoke_frame>(
    "\xEF\xBB\xBF{\"type\":\"invokefunction\",\"invocation_id\":\"i\","
    "\"function_id\":\"f\",\"data\":{ \"a\" : 1 }}");
  EXPECT_EQ(x.data, "{\"a\":1}");
}

// -- bad frames ---------------------------------------------------------------

TEST(parse_frame, not_json_is_bad_json) {
  for (auto text : {"", "not-json-at-all", "{", R"({"type":"invokefunction")",
                    R"({"type":"reattach",})", "   "}) {
    auto b = parse_bad(text);
    EXPECT_EQ(b.code, "bad_json") << text;
    EXPECT_FALSE(b.message.empty());
  }
}

// nlohmann takes a NUL byte for the end of the text: without a check of its
// own, a frame with anything after a NUL passed with the rest dropped.
TEST(parse_frame, nul_byte_is_bad_json) {
  using namespace std::string_literals;
  for (auto text : {R"({"type":"unregisterfunction","id":"f"})"s + '\0',
                    R"({"type":"unregisterfunction","id":"f"})"s + '\0'
                      + "\0\0\0\0\0\0\x10"s,
                    R"({"type":"reattach"} )"s + '\0' + "{junk"}) {
    auto b = parse_bad(text);
    EXPECT_EQ(b.code, "bad_json");
    EXPECT_NE(b.message.find("NUL"), std::string::npos) << b.message;
  }
}

TEST(parse_frame, truncated_real_frame_is_bad_json) {
  auto b = parse_bad(sync_call.substr(0, sync_call.size() - 1));
  EXPECT_EQ(b.code, "bad_json");
}

TEST(parse_frame, json_that_is_not_an_object_is_bad_json) {
  for (auto text : {"[1,2]", "42", R"("registerfunction")", "null", "true"}) {
    auto b = parse_bad(text);
    EXPECT_EQ(b.code, "bad_json") << text;
    EXPECT_NE(b.message.find("object"), std::string::npos) << b.message;
  }
}

TEST(parse_frame, deep_nesting_is_bad_json) {
  std::string deep = R"({"type":"invokefunction","invocation_id":"i",)"
                     R"("function_id":"f","data":)";
  deep += std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_EQ(parse_bad(deep).code, "bad_json");
  // Brackets inside strings do not count.
  std::string text = R"({"type":"invokefunction","invocation_id":"i",)"
                     R"("function_id":"f","data":")"
                     + std::string(1000, '[') + R"(\"["})";
  auto x = parse_as<invoke_frame>(text);
  EXPECT_EQ(x.data.size(), 1000u + 5u);
}

TEST(parse_frame, missing_or_non_string_type) {
  for (auto text : {"{}", R"({"id":"x"})", R"({"type":1,"id":"x"})",
                    R"({"type":null})", R"({"type":["registerfunction"]})"}) {
    auto b = parse_bad(text);
    EXPECT_EQ(b.code, "missing_type") << text;
    EXPECT_EQ(b.type, "");
  }
}

TEST(parse_frame, unknown_type_names_it) {
  for (auto type : {"somethingnew", "pong", "registerservice", "InvokeFunction",
                    "TriggerRegistrationResult"}) {
    auto b = parse_bad(R"({"type":")" + std::string{type} + R"(","foo":1})");
    EXPECT_EQ(b.code, "unknown_type");
    EXPECT_EQ(b.type, type);
    EXPECT_NE(b.message.find(type), std::string::npos) << b.message;
  }
}

/// One frame with one bad field, and the field the message must name.
struct bad_field_case {
  const char* text;
  const char* type;
  const char* field;
  const char* expected;
};

TEST(parse_frame, wrong_or_missing_fields_are_bad_field) {
  const bad_field_case cases[] = {
    // registerfunction
    {R"({"type":"registerfunction"})", "registerfunction", "id",
     "a non-empty string"},
    {R"({"type":"registerfunction","id":7})", "registerfunction", "id",
     "a non-empty string"},
    {R"({"type":"registerfunction","id":""})", "registerfunction", "id",
     "a non-empty string"},
    // unregisterfunction
    {R"({"type":"unregisterfunction"})", "unregisterfunction", "id",
     "a string"},
    {R"({"type":"unregisterfunction","id":{}})", "unregisterfunction", "id",
     "a string"},
    // registertrigger
    {R"({"type":"registertrigger","trigger_type":"http","function_id":"f","config":{}})",
     "registertrigger", "id", "a string"},
    {R"({"type":"registertrigger","id":"t","trigger_type":1,"function_id":"f","config":{}})",
     "registertrigger", "trigger_type", "a string"},
    {R"({"type":"registertrigger","id":"t","trigger_type":"http","config":{}})",
     "registertrigger", "function_id", "a string"},
    {R"({"type":"registertrigger","id":"t","trigger_type":"http","function_id":"f"})",
     "registertrigger", "config", "an object"},
    {R"({"type":"registertrigger","id":"t","trigger_type":"http","function_id":"f","config":"x"})",
     "registertrigger", "config", "an object"},
    {R"({"type":"registertrigger","id":"t","trigger_type":"http","function_id":"f","config":[]})",
     "registertrigger", "config", "an object"},
    // unregistertrigger
    {R"({"type":"unregistertrigger","trigger_type":"http"})",
     "unregistertrigger", "id", "a string"},
    {R"({"type":"unregistertrigger","id":"t","trigger_type":false})",
     "unregistertrigger", "trigger_type", "a string"},
    // registertriggertype / unregistertriggertype
    {R"({"type":"registertriggertype","description":"d"})",
     "registertriggertype", "id", "a string"},
    {R"({"type":"unregistertriggertype","id":1.5})", "unregistertriggertype",
     "id", "a string"},
    // invokefunction
    {R"({"type":"invokefunction","invocation_id":"i"})", "invokefunction",
     "function_id", "a string"},
    {R"({"type":"invokefunction","invocation_id":"i","function_id":3})",
     "invokefunction", "function_id", "a string"},
    {R"({"type":"invokefunction","invocation_id":5,"function_id":"f"})",
     "invokefunction", "invocation_id", "a string"},
    {R"({"type":"invokefunction","invocation_id":"i","function_id":"f","traceparent":1})",
     "invokefunction", "traceparent", "a string"},
    {R"({"type":"invokefunction","invocation_id":"i","function_id":"f","baggage":{}})",
     "invokefunction", "baggage", "a string"},
    {R"({"type":"invokefunction","invocation_id":"i","function_id":"f","action":"void"})",
     "invokefunction", "action", "an object"},
    {R"({"type":"invokefunction","invocation_id":"i","function_id":"f","action":{}})",
     "invokefunction", "action.type", R"("void" or "enqueue")"},
    {R"({"type":"invokefunction","invocation_id":"i","function_id":"f","action":{"type":"later"}})",
     "invokefunction", "action.type", R"("void" or "enqueue")"},
    {R"({"type":"invokefunction","invocation_id":"i","function_id":"f","action":{"type":"Void"}})",
     "invokefunction", "action.type", R"("void" or "enqueue")"},
    {R"({"type":"invokefunction","invocation_id":"i","function_id":"f","action":{"type":"enqueue"}})",
     "invokefunction", "action.queue", "a string"},
    {R"({"type":"invokefunction","invocation_id":"i","function_id":"f","action":{"type":"enqueue","queue":7}})",
     "invokefunction", "action.queue", "a string"},
    // invocationresult
    {R"({"type":"invocationresult","result":1})", "invocationresult",
     "invocation_id", "a string"},
    {R"({"type":"invocationresult","invocation_id":1,"result":1})",
     "invocationresult", "invocation_id", "a string"},
    {R"({"type":"invocationresult","invocation_id":"i","function_id":[]})",
     "invocationresult", "function_id", "a string"},
    // reattach
    {R"({"type":"reattach","previous_worker_id":42})", "reattach",
     "previous_worker_id", "a string"},
    // triggerregistrationresult
    {R"({"type":"triggerregistrationresult","trigger_type":"cron"})",
     "triggerregistrationresult", "id", "a string"},
    {R"({"type":"triggerregistrationresult","id":"t","trigger_type":7})",
     "triggerregistrationresult", "trigger_type", "a string"},
    {R"({"type":"triggerregistrationresult","id":"t","function_id":{}})",
     "triggerregistrationresult", "function_id", "a string"},
    {R"({"type":"triggerregistrationresult","id":"t","error":"no"})",
     "triggerregistrationresult", "error", "an object"},
    {R"({"type":"triggerregistrationresult","id":"t","error":[1]})",
     "triggerregistrationresult", "error", "an object"},
    {R"({"type":"triggerregistrationresult","id":"t","error":{"message":"m"}})",
     "triggerregistrationresult", "error.code", "a string"},
    {R"({"type":"triggerregistrationresult","id":"t","error":{"code":"c","message":5}})",
     "triggerregistrationresult", "error.message", "a string"},
  };
  for (const auto& c : cases) {
    auto b = parse_bad(c.text);
    EXPECT_EQ(b.code, "bad_field") << c.text;
    EXPECT_EQ(b.type, c.type) << c.text;
    auto prefix = std::string{c.type} + ": field '" + c.field + "' must be "
                  + c.expected;
    EXPECT_EQ(b.message.substr(0, prefix.size()), prefix) << c.text;
  }
}

TEST(parse_frame, bad_field_message_says_what_was_found) {
  EXPECT_EQ(
    parse_bad(
      R"({"type":"invokefunction","invocation_id":"i","function_id":3})")
      .message,
    "invokefunction: field 'function_id' must be a string (got number)");
  EXPECT_EQ(parse_bad(R"({"type":"unregisterfunction"})").message,
            "unregisterfunction: field 'id' must be a string (it is missing)");
  EXPECT_EQ(
    parse_bad(
      R"({"type":"invokefunction","invocation_id":"i","function_id":"f","action":{"type":"later"}})")
      .message,
    R"(invokefunction: field 'action.type' must be "void" or "enqueue" (got "later"))");
}

TEST(parse_frame, sync_and_enqueue_need_an_invocation_id) {
  for (
    auto text : {
      R"({"type":"invokefunction","function_id":"math::add","data":{}})",
      R"({"type":"invokefunction","function_id":"math::add","action":{"type":"enqueue","queue":"default"}})",
      R"({"type":"invokefunction","invocation_id":"","function_id":"math::add"})",
      R"({"type":"invokefunction","invocation_id":null,"function_id":"math::add"})",
    }) {
    auto b = parse_bad(text);
    EXPECT_EQ(b.code, "bad_field") << text;
    EXPECT_EQ(b.type, "invokefunction");
    EXPECT_NE(b.message.find("'invocation_id' is required"), std::string::npos)
      << b.message;
    EXPECT_NE(b.message.find("nobody"), std::string::npos) << b.message;
    EXPECT_EQ(b.function_id, "math::add");
  }
}

TEST(parse_frame, bad_invokefunction_keeps_ids_for_the_answer) {
  auto b = parse_bad(
    R"({"type":"invokefunction","invocation_id":"e85a","function_id":"math::add","action":{"type":"enqueue"}})");
  EXPECT_EQ(b.code, "bad_field");
  EXPECT_EQ(b.invocation_id, "e85a");
  EXPECT_EQ(b.function_id, "math::add");
  auto c = parse_bad(
    R"({"type":"invokefunction","invocation_id":"e85a","function_id":false})");
  EXPECT_EQ(c.invocation_id, "e85a");
  EXPECT_EQ(c.function_id, "");
  auto d = parse_bad(
    R"({"type":"invokefunction","invocation_id":"e85a","function_id":"f","baggage":1})");
  EXPECT_EQ(d.invocation_id, "e85a");
  EXPECT_EQ(d.function_id, "f");
  // An id that is not a string cannot be answered.
  auto e = parse_bad(R"({"type":"invokefunction","invocation_id":7})");
  EXPECT_EQ(e.invocation_id, "");
}

TEST(parse_frame, bad_invocationresult_keeps_its_ids) {
  auto b = parse_bad(
    R"({"type":"invocationresult","invocation_id":"r1","function_id":1})");
  EXPECT_EQ(b.invocation_id, "r1");
  EXPECT_EQ(b.function_id, "");
}

TEST(parse_frame, other_bad_frames_carry_no_ids) {
  auto b = parse_bad(
    R"({"type":"registertrigger","id":"t","invocation_id":"i","function_id":"f"})");
  EXPECT_EQ(b.code, "bad_field");
  EXPECT_EQ(b.invocation_id, "");
}

// -- serialisers --------------------------------------------------------------

TEST(to_json, forwarded_sync_call_matches_the_real_engine) {
  // W2->E and E->W1 lines in the log are identical for a sync call.
  EXPECT_EQ(to_json(parse_as<invoke_frame>(sync_call)), sync_call);
}

TEST(to_json, engine_call_without_metadata_matches_the_log) {
  constexpr std::string_view line
    = R"({"type":"invokefunction","invocation_id":"787d7307-6dd0-4a54-94c5-d335c0275eec","function_id":"math::add","data":{"a":1,"b":1}})";
  invoke_frame x;
  x.invocation_id = "787d7307-6dd0-4a54-94c5-d335c0275eec";
  x.function_id = "math::add";
  x.data = R"({"a":1,"b":1})";
  EXPECT_EQ(to_json(x), line);
}

TEST(to_json, forwarded_results_match_the_real_engine) {
  EXPECT_EQ(to_json(parse_as<result_frame>(result_line)), result_line);
  EXPECT_EQ(to_json(parse_as<result_frame>(error_line)), error_line);
}

TEST(to_json, enqueue_receipt_matches_the_log) {
  result_frame x;
  x.invocation_id = "7ce9f1d0-ef83-41d2-8fdf-b1373f5cc256";
  x.function_id = "math::add";
  x.body = R"({"messageReceiptId":"b46a3736-7d52-46a1-b13f-aa8a7bdf6350"})";
  EXPECT_EQ(
    to_json(x),
    R"({"type":"invocationresult","invocation_id":"7ce9f1d0-ef83-41d2-8fdf-b1373f5cc256","function_id":"math::add","result":{"messageReceiptId":"b46a3736-7d52-46a1-b13f-aa8a7bdf6350"}})");
}

TEST(to_json, void_and_enqueue_actions) {
  invoke_frame x;
  x.function_id = "f";
  x.action = invoke_action::void_call;
  EXPECT_EQ(to_json(x),
            R"({"type":"invokefunction","function_id":"f","data":null,)"
            R"("action":{"type":"void"}})");
  x.invocation_id = "i";
  x.action = invoke_action::enqueue;
  x.queue = "default";
  EXPECT_EQ(to_json(x),
            R"({"type":"invokefunction","invocation_id":"i","function_id":"f",)"
            R"("data":null,"action":{"type":"enqueue","queue":"default"}})");
}

TEST(to_json, empty_raw_members_become_null) {
  invoke_frame x;
  x.invocation_id = "i";
  x.function_id = "f";
  x.data.clear();
  EXPECT_EQ(to_json(x),
            R"({"type":"invokefunction","invocation_id":"i","function_id":"f",)"
            R"("data":null})");
  result_frame r;
  r.invocation_id = "i";
  r.body.clear();
  EXPECT_EQ(to_json(r), R"({"type":"invocationresult","invocation_id":"i",)"
                        R"("function_id":"","result":null})");
}

invoke_frame full_invoke(invoke_action action) {
  invoke_frame x;
  x.invocation_id = "7ce9f1d0-ef83-41d2-8fdf-b1373f5cc256";
  x.function_id = "name \"with\" quotes\\";
  x.data = R"({"a":[1,2.5,"x\ny"],"b":{"c":null}})";
  x.metadata = R"({"via":"sync"})";
  x.action = action;
  if (action == invoke_action::enqueue) x.queue = "de\tfault";
  x.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  x.baggage = "userId=alice";
  return x;
}

TEST(round_trip, invoke_frames_in_all_actions) {
  for (auto action : {invoke_action::sync, invoke_action::void_call,
                      invoke_action::enqueue}) {
    auto full = full_invoke(action);
    expect_same(parse_as<invoke_frame>(to_json(full)), full);
    // Only the required members.
    invoke_frame bare;
    bare.invocation_id = action == invoke_action::void_call ? "" : "i";
    bare.function_id = "f";
    bare.action = action;
    if (action == invoke_action::enqueue) bare.queue = "q";
    expect_same(parse_as<invoke_frame>(to_json(bare)), bare);
    // A void call that carries an id (the engine always sends one).
    auto with_id = bare;
    with_id.invocation_id = "v";
    expect_same(parse_as<invoke_frame>(to_json(with_id)), with_id);
  }
}

TEST(round_trip, invoke_frames_from_the_log) {
  for (auto line : {sync_call, void_call, enqueue_call, workers_register}) {
    auto x = parse_as<invoke_frame>(line);
    expect_same(parse_as<invoke_frame>(to_json(x)), x);
  }
}

TEST(round_trip, result_frames) {
  for (bool is_error : {false, true}) {
    for (const char* body : {"null", R"({"c":5})", R"("late")", "[1,true]",
                             R"({"code":"x","message":"m\u0001"})"}) {
      result_frame x;
      x.invocation_id = "e85a4394-c247-440b-8529-2d4ff9b1d278";
      x.function_id = "math::add";
      x.is_error = is_error;
      x.body = body;
      if (is_error && x.body == "null") continue; // "error":null means success
      auto y = parse_as<result_frame>(to_json(x));
      expect_same(y, x);
    }
  }
  result_frame no_fn;
  no_fn.invocation_id = "i";
  expect_same(parse_as<result_frame>(to_json(no_fn)), no_fn);
}

TEST(round_trip, trigger_frames) {
  register_trigger_frame full{"ea907333-faee-43a7-9228-0acde4dc6f7b", "cron",
                              "jobs::nightly", R"({"expression":"0 0 * * *"})",
                              R"({"team":"ops"})"};
  auto x = parse_as<register_trigger_frame>(to_json(full));
  EXPECT_EQ(x.id, full.id);
  EXPECT_EQ(x.trigger_type, full.trigger_type);
  EXPECT_EQ(x.function_id, full.function_id);
  EXPECT_EQ(x.config, full.config);
  EXPECT_EQ(x.metadata, full.metadata);
  register_trigger_frame bare{"t", "cron", "f", "", ""};
  auto y = parse_as<register_trigger_frame>(to_json(bare));
  EXPECT_EQ(y.config, "{}");
  EXPECT_TRUE(y.metadata.empty());
  auto z = parse_as<unregister_trigger_frame>(
    to_json(unregister_trigger_frame{"t-1", "cron"}));
  EXPECT_EQ(z.id, "t-1");
  EXPECT_EQ(z.trigger_type, "cron");
  EXPECT_EQ(to_json(unregister_trigger_frame{"t-1", ""}),
            R"({"type":"unregistertrigger","id":"t-1"})");
}

TEST(round_trip, trigger_result_frames) {
  trigger_result_frame refused{
    "t-1",         "cron", "jobs::nightly", true, "trigger_registration_failed",
    "bad \"cron\""};
  EXPECT_EQ(
    to_json(refused),
    R"({"type":"triggerregistrationresult","id":"t-1","trigger_type":"cron","function_id":"jobs::nightly","error":{"code":"trigger_registration_failed","message":"bad \"cron\""}})");
  auto x = parse_as<trigger_result_frame>(to_json(refused));
  EXPECT_EQ(x.id, refused.id);
  EXPECT_EQ(x.trigger_type, refused.trigger_type);
  EXPECT_EQ(x.function_id, refused.function_id);
  EXPECT_TRUE(x.is_error);
  EXPECT_EQ(x.error_code, refused.error_code);
  EXPECT_EQ(x.error_message, refused.error_message);
  trigger_result_frame ok{"t-1", "cron", "f", false, {}, {}};
  EXPECT_EQ(
    to_json(ok),
    R"({"type":"triggerregistrationresult","id":"t-1","trigger_type":"cron","function_id":"f"})");
  EXPECT_FALSE(parse_as<trigger_result_frame>(to_json(ok)).is_error);
}

TEST(to_json, workerregistered_matches_the_log) {
  EXPECT_EQ(
    workerregistered_json("8b29f4c3-cb94-4d61-af16-3bf9c238347b",
                          "3fc757c7-c6cb-49ed-9ac1-821e02c42e94"),
    R"({"type":"workerregistered","worker_id":"8b29f4c3-cb94-4d61-af16-3bf9c238347b","reattach_token":"3fc757c7-c6cb-49ed-9ac1-821e02c42e94"})");
  EXPECT_EQ(workerregistered_json("w", ""),
            R"({"type":"workerregistered","worker_id":"w"})");
}

TEST(to_json, trigger_registration_error_matches_the_log) {
  EXPECT_EQ(
    trigger_registration_error_json(
      "548706a2-a4f0-49d3-83a9-0d20cadeb928", "http", "http::hello",
      "trigger_registration_failed", "api_path is required for http triggers"),
    R"({"type":"triggerregistrationresult","id":"548706a2-a4f0-49d3-83a9-0d20cadeb928","trigger_type":"http","function_id":"http::hello","error":{"code":"trigger_registration_failed","message":"api_path is required for http triggers"}})");
}

TEST(to_json, error_frame_and_error_body) {
  EXPECT_EQ(
    error_body_json("function_not_found", "Function \"x\" not found"),
    R"({"code":"function_not_found","message":"Function \"x\" not found"})");
  EXPECT_EQ(
    error_frame_json("bad_json", "frame is not valid JSON"),
    R"({"type":"error","error":{"code":"bad_json","message":"frame is not valid JSON"}})");
}

// -- quote --------------------------------------------------------------------

TEST(quote, plain_and_special_characters) {
  EXPECT_EQ(quote(""), R"("")");
  EXPECT_EQ(quote("math::add"), R"("math::add")");
  EXPECT_EQ(quote(R"(say "hi")"), R"("say \"hi\"")");
  EXPECT_EQ(quote(R"(C:\dir)"), R"("C:\\dir")");
  EXPECT_EQ(quote("a\b\f\n\r\tz"), R"("a\b\f\n\r\tz")");
  EXPECT_EQ(quote("/"), R"("/")");
}

TEST(quote, control_characters_use_unicode_escapes) {
  EXPECT_EQ(quote(std::string_view{"\0", 1}), R"("\u0000")");
  EXPECT_EQ(quote("\x01\x1f\x0b"), R"("\u0001\u001f\u000b")");
  EXPECT_EQ(quote("\x7f"), "\"\x7f\"");
}

TEST(quote, utf8_passes_through) {
  EXPECT_EQ(quote("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"");
}

TEST(quote, output_parses_back) {
  std::string all;
  for (int c = 1; c < 128; ++c) all += static_cast<char>(c);
  all += "\xC3\xA9";
  auto x = parse_as<unregister_function_frame>(
    R"({"type":"unregisterfunction","id":)" + quote(all) + "}");
  EXPECT_EQ(x.id, all);
}

// -- with_member --------------------------------------------------------------

// Added last, so that (as in the iii engine) the engine's value wins over a
// member of the same name: JSON.parse keeps the last duplicate.
TEST(with_member, adds_a_last_member_to_objects) {
  EXPECT_EQ(with_member("{}", "_caller_worker_id", R"("w1")"),
            R"({"_caller_worker_id":"w1"})");
  EXPECT_EQ(with_member("{ }", "k", "1"), R"({ "k":1})");
  EXPECT_EQ(with_member(R"({"a":1})", "_caller_worker_id", R"("w1")"),
            R"({"a":1,"_caller_worker_id":"w1"})");
  EXPECT_EQ(with_member(R"(  {"a":{}} )", "k", "true"),
            R"(  {"a":{},"k":true} )");
  EXPECT_EQ(with_member("\n\t{\n}", "k", "null"), "\n\t{\n\"k\":null}");
}

TEST(with_member, quotes_the_key) {
  EXPECT_EQ(with_member("{}", "a\"b", "1"), R"({"a\"b":1})");
}

TEST(with_member, leaves_other_values_alone) {
  for (auto data : {"[1]", "null", R"("s")", "42", "", "   ", " [{}]"})
    EXPECT_EQ(with_member(data, "k", "1"), data);
}

TEST(with_member, result_is_a_valid_payload) {
  auto x = parse_as<invoke_frame>(
    R"({"type":"invokefunction","invocation_id":"i","function_id":"f","data":)"
    + with_member(R"({"a":{"b":[]}})", "_caller_worker_id", quote("w")) + "}");
  EXPECT_EQ(x.data, R"({"a":{"b":[]},"_caller_worker_id":"w"})");
}

} // namespace
