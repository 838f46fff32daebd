// Tests for protocol/cli_json and parse_ws_address: the command-line
// client's frames (checked against the SDK's shapes in
// sdk-0.22.1-frames.log), reading the engine's answers, and the tables it
// prints for results of any shape.
#include "protocol/cli_json.hpp"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "protocol/ws_client.hpp"

using namespace troupe::protocol;
using json = nlohmann::json;

namespace {

json parsed(const std::string& text) {
  auto doc = json::parse(text, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << text;
  return doc;
}

} // namespace

TEST(cli_json, sync_frame_has_an_invocation_id_and_no_action) {
  cli_invoke x{"math::add", R"({"a":2,"b":3})", cli_action::sync, ""};
  auto f = parsed(invoke_frame(x, "id-1"));
  EXPECT_EQ(f, json::parse(R"({"type":"invokefunction","invocation_id":"id-1",
    "function_id":"math::add","data":{"a":2,"b":3}})"));
}

TEST(cli_json, void_frame_has_no_invocation_id) {
  cli_invoke x{"math::add", "[1]", cli_action::void_call, ""};
  auto f = parsed(invoke_frame(x, "id-1"));
  EXPECT_EQ(f,
            json::parse(R"({"type":"invokefunction","function_id":"math::add",
    "data":[1],"action":{"type":"void"}})"));
}

TEST(cli_json, enqueue_frame_names_the_queue) {
  cli_invoke x{"f", "null", cli_action::enqueue, "payment"};
  auto f = parsed(invoke_frame(x, "id-2"));
  EXPECT_EQ(f, json::parse(R"({"type":"invokefunction","invocation_id":"id-2",
    "function_id":"f","data":null,
    "action":{"type":"enqueue","queue":"payment"}})"));
}

TEST(cli_json, worker_register_frame_is_void) {
  auto f = parsed(worker_register_frame("troupe-cli", "0.1.0", 42));
  EXPECT_EQ(f["function_id"], "engine::workers::register");
  EXPECT_EQ(f["action"], json::parse(R"({"type":"void"})"));
  EXPECT_FALSE(f.contains("invocation_id"));
  EXPECT_EQ(f["data"]["name"], "troupe-cli");
  EXPECT_EQ(f["data"]["pid"], 42);
}

TEST(cli_json, json_object_and_quote) {
  EXPECT_EQ(json_object({{"queue", json_quote("a\"b")}, {"limit", "5"}}),
            R"({"queue":"a\"b","limit":5})");
  EXPECT_EQ(json_object({}), "{}");
}

TEST(cli_json, check_json_explains_bad_text) {
  std::string why;
  EXPECT_TRUE(check_json(R"({"a":[1,2,{"b":null}]})", why));
  EXPECT_TRUE(check_json("-1", why));
  EXPECT_FALSE(check_json("{bad", why));
  EXPECT_NE(why.find("line 1, column 2"), std::string::npos) << why;
  EXPECT_EQ(why.find("[json.exception"), std::string::npos) << why;
  EXPECT_FALSE(check_json("", why));
  EXPECT_FALSE(check_json(std::string(100000, '['), why));
}

TEST(cli_json, reply_matches_only_its_invocation_id) {
  auto r = parse_reply(R"({"type":"workerregistered","worker_id":"w"})", "id");
  EXPECT_EQ(r.kind, cli_reply::unrelated);
  r = parse_reply(R"({"type":"invocationresult","invocation_id":"other",
    "result":1})",
                  "id");
  EXPECT_EQ(r.kind, cli_reply::unrelated);
  r = parse_reply("not json", "id");
  EXPECT_EQ(r.kind, cli_reply::unrelated);
  r = parse_reply(R"({"type":"invocationresult","invocation_id":"id",
    "result":{"c":5}})",
                  "id");
  EXPECT_EQ(r.kind, cli_reply::answered);
  EXPECT_EQ(r.result, R"({"c":5})");
  // A handler that returned undefined: no result member.
  r = parse_reply(R"({"type":"invocationresult","invocation_id":"id"})", "id");
  EXPECT_EQ(r.kind, cli_reply::answered);
  EXPECT_EQ(r.result, "null");
}

TEST(cli_json, reply_errors_carry_code_and_message) {
  auto r = parse_reply(R"({"type":"invocationresult","invocation_id":"id",
    "error":{"code":"function_not_found","message":"Function f not found"}})",
                       "id");
  EXPECT_EQ(r.kind, cli_reply::failed);
  EXPECT_EQ(r.code, "function_not_found");
  EXPECT_EQ(r.message, "Function f not found");
  // The engine's answer to a frame it could not read.
  r = parse_reply(R"({"type":"error","error":{"code":"bad_json",
    "message":"x"}})",
                  "id");
  EXPECT_EQ(r.kind, cli_reply::failed);
  EXPECT_EQ(r.code, "bad_json");
  r = parse_reply(R"({"type":"invocationresult","invocation_id":"id",
    "error":"odd"})",
                  "id");
  EXPECT_EQ(r.kind, cli_reply::failed);
  EXPECT_EQ(r.code, "error");
  EXPECT_EQ(r.message, "odd");
}

TEST(cli_json, table_pads_columns_by_code_points) {
  EXPECT_EQ(render_table({"A", "LONGER"}, {{"é✓x", "1"}, {"b", ""}}),
            "A    LONGER\n"
            "é✓x  1\n"
            "b\n");
}

TEST(cli_json, queue_stats_table_has_fixed_columns) {
  auto out = render_result(
    R"([{"queue":"default","waiting":1,"in_flight":2,"delayed":3,"dlq":4,
        "enqueued_total":5,"succeeded_total":6,"failed_attempts_total":7,
        "dead_total":8,"nodes":[{"node":"a"}]}])",
    cli_view::queue_stats);
  EXPECT_EQ(out,
            "QUEUE    WAITING  IN_FLIGHT  DELAYED  DLQ  ENQUEUED  SUCCEEDED  "
            "FAILED  DEAD\n"
            "default  1        2          3        4    5         6          "
            "7       8\n");
}

TEST(cli_json, queue_stats_table_adds_held_and_paused_when_present) {
  auto out = render_result(R"([{"queue":"a","held":2},{"queue":"b",
    "paused":true}])",
                           cli_view::queue_stats);
  auto header = out.substr(0, out.find('\n'));
  EXPECT_NE(header.find("HELD  PAUSED"), std::string::npos) << out;
  EXPECT_NE(out.find("true"), std::string::npos) << out;
  // One queue's stats (an object) is one row.
  out = render_result(R"({"queue":"a","waiting":0})", cli_view::queue_stats);
  EXPECT_EQ(out.substr(0, 5), "QUEUE");
  EXPECT_NE(out.find("\na "), std::string::npos) << out;
}

TEST(cli_json, arrays_of_objects_take_their_keys_as_columns) {
  auto out = render_result(R"([{"id":"j1","payload":{"n":1}},
    {"id":"j2","state":"dead"}])",
                           cli_view::generic);
  EXPECT_EQ(out, "ID  PAYLOAD  STATE\n"
                 "j1  {\"n\":1}\n"
                 "j2           dead\n");
  EXPECT_EQ(render_result(R"([{"a":null,"b":1}])", cli_view::generic),
            "A  B\n   1\n");
}

TEST(cli_json, long_and_multi_line_cells_stay_on_one_short_line) {
  auto out = render_result(R"([{"error":"line one\nline two )"
                             + std::string(100, 'x') + R"("}])",
                           cli_view::generic);
  auto row = out.substr(out.find('\n') + 1);
  EXPECT_EQ(row.find('\n'), row.size() - 1) << out;
  EXPECT_LE(row.size(), 61u) << out;
  EXPECT_NE(row.find("line one line two"), std::string::npos);
  EXPECT_NE(row.find("...\n"), std::string::npos);
}

TEST(cli_json, workers_table_has_fixed_columns) {
  auto out = render_result(R"({"workers":[{"name":"orders","id":"w1",
    "runtime":"node","version":"0.22.1","status":"connected",
    "function_count":2,"active_invocations":1,"ip_address":"127.0.0.1",
    "os":"linux"},{"name":"iii-queue","id":"iii-queue","runtime":"engine",
    "ip_address":null}]})",
                           cli_view::workers);
  EXPECT_EQ(out,
            "NAME       ID         RUNTIME  VERSION  STATUS     FUNCTIONS  "
            "INVOCATIONS  ADDRESS\n"
            "orders     w1         node     0.22.1   connected  2          "
            "1            127.0.0.1\n"
            "iii-queue  iii-queue  engine\n");
  EXPECT_EQ(render_result(R"({"workers":[]})", cli_view::workers),
            "(no workers)\n");
  // Another shape: generic.
  EXPECT_EQ(render_result(R"({"x":1})", cli_view::workers), "x  1\n");
}

TEST(cli_json, a_list_wrapped_in_an_object_is_a_table) {
  EXPECT_EQ(render_result(R"({"jobs":[{"id":"a"},{"id":"b"}]})",
                          cli_view::generic),
            "ID\na\nb\n");
}

TEST(cli_json, objects_are_key_value_rows) {
  EXPECT_EQ(render_result(R"({"queue":"q","redriven":3,"nodes":[1]})",
                          cli_view::generic),
            "queue     q\n"
            "redriven  3\n"
            "nodes     [1]\n");
  EXPECT_EQ(render_result("{}", cli_view::generic), "(empty)\n");
  EXPECT_EQ(render_result("[]", cli_view::generic), "(none)\n");
}

TEST(cli_json, scalars_and_arrays_of_scalars) {
  EXPECT_EQ(render_result(R"("text")", cli_view::generic), "text\n");
  EXPECT_EQ(render_result("null", cli_view::generic), "null\n");
  EXPECT_EQ(render_result(R"([1,"a",null])", cli_view::generic),
            "1\na\nnull\n");
  EXPECT_EQ(render_result("not json", cli_view::generic), "not json\n");
}

TEST(cli_json, receipt_and_value_views) {
  EXPECT_EQ(render_result(R"({"messageReceiptId":"r-1"})", cli_view::receipt),
            "r-1\n");
  EXPECT_EQ(render_result(R"({"c":5})", cli_view::value), "{\n  \"c\": 5\n}\n");
}

TEST(cli_json, check_config_json) {
  EXPECT_EQ(parsed(check_config_json("f.yaml", true, "")),
            json::parse(R"({"ok":true,"file":"f.yaml"})"));
  EXPECT_EQ(parsed(check_config_json("f.yaml", false, "f.yaml:1:2: bad")),
            json::parse(
              R"({"ok":false,"file":"f.yaml","errors":["f.yaml:1:2: bad"]})"));
}

TEST(ws_address, parses_host_port_and_path) {
  ws_address a;
  std::string why;
  ASSERT_TRUE(parse_ws_address("ws://127.0.0.1:49134", a, why)) << why;
  EXPECT_EQ(a.host, "127.0.0.1");
  EXPECT_EQ(a.port, "49134");
  EXPECT_EQ(a.target, "/");
  ASSERT_TRUE(parse_ws_address("WS://localhost/x?y=1", a, why)) << why;
  EXPECT_EQ(a.host, "localhost");
  EXPECT_EQ(a.port, "80");
  EXPECT_EQ(a.target, "/x?y=1");
  ASSERT_TRUE(parse_ws_address("ws://[::1]:7", a, why)) << why;
  EXPECT_EQ(a.host, "::1");
  EXPECT_EQ(a.port, "7");
}

TEST(ws_address, refuses_what_it_cannot_dial) {
  ws_address a;
  std::string why;
  for (auto bad : {"", "127.0.0.1:49134", "http://h:1", "ws://", "ws://:5",
                   "ws://h:", "ws://h:0", "ws://h:65536", "ws://h:x1",
                   "ws://u@h:1", "ws://[::1"}) {
    EXPECT_FALSE(parse_ws_address(bad, a, why)) << bad;
    EXPECT_NE(why.find("bad address"), std::string::npos) << bad;
  }
  EXPECT_FALSE(parse_ws_address("wss://h:1", a, why));
  EXPECT_NE(why.find("not supported"), std::string::npos) << why;
}
