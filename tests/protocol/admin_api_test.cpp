// Tests for protocol/admin_api: the admin listener's bodies and answers.
#include "protocol/admin_api.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace troupe;
using namespace troupe::protocol;
using json = nlohmann::json;

TEST(admin_api, readyz_has_the_figures_while_recovering) {
  EXPECT_EQ(json::parse(readyz_json({"ready", 5, 5})),
            json({{"status", "ready"}}));
  EXPECT_EQ(json::parse(readyz_json({"recovering", 3, 10})),
            json({{"status", "recovering"}, {"loaded", 3}, {"total", 10}}));
  EXPECT_EQ(json::parse(readyz_json({"starting", 0, 0})),
            json({{"status", "starting"}}));
}

TEST(admin_api, status_json_has_every_member) {
  admin_status_info x;
  x.version = "1.2.3";
  x.readiness = {"recovering", 1, 2};
  x.auth = true;
  x.uptime_seconds = 7;
  auto doc = json::parse(status_json(x));
  EXPECT_EQ(doc["version"], "1.2.3");
  EXPECT_EQ(doc["ready"], false);
  EXPECT_EQ(doc["status"], "recovering");
  EXPECT_EQ(doc["recovery"], json({{"loaded", 1}, {"total", 2}}));
  EXPECT_EQ(doc["read_only"], false);
  EXPECT_EQ(doc["auth"], true);
  EXPECT_TRUE(doc["node"].is_null());
  EXPECT_EQ(doc["uptime_seconds"], 7);
}

TEST(admin_api, bodies_are_checked) {
  EXPECT_TRUE(parse_ids_body("", false).error.empty());
  EXPECT_FALSE(parse_ids_body("{}", false).has_ids);
  auto ids = parse_ids_body(R"({"ids":["a","b"]})", true);
  EXPECT_TRUE(ids.error.empty());
  EXPECT_EQ(ids.ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(parse_ids_body("{}", true).error.empty());
  EXPECT_FALSE(parse_ids_body(R"({"ids":[]})", false).error.empty());
  EXPECT_FALSE(parse_ids_body(R"({"ids":[1]})", false).error.empty());
  EXPECT_FALSE(parse_ids_body(R"({"ids":"a"})", false).error.empty());
  EXPECT_FALSE(parse_ids_body("[1]", false).error.empty());
  EXPECT_FALSE(parse_ids_body("{", false).error.empty());
  EXPECT_EQ(parse_id_body(R"({"id":"x"})").id, "x");
  EXPECT_FALSE(parse_id_body(R"({"id":""})").error.empty());
  EXPECT_FALSE(parse_id_body("{}").error.empty());
  auto enq = parse_enqueue_body(R"({"function_id":"f","payload":{"n":1}})");
  EXPECT_TRUE(enq.error.empty());
  EXPECT_EQ(enq.function_id, "f");
  EXPECT_EQ(json::parse(enq.payload), json({{"n", 1}}));
  EXPECT_EQ(parse_enqueue_body(R"({"function_id":"f"})").payload, "null");
  EXPECT_FALSE(parse_enqueue_body(R"({"payload":1})").error.empty());
  EXPECT_FALSE(parse_enqueue_body(std::string(600, '[')).error.empty());
}

TEST(admin_api, queues_json_joins_counts_settings_and_functions) {
  queue_config fifo;
  fifo.name = "orders";
  fifo.type = queue_type::fifo;
  fifo.message_group_field = "customer";
  fifo.concurrency = 2;
  queue_config plain;
  plain.name = "default";
  auto stats = R"([{"queue":"orders","waiting":2,"in_flight":1,"delayed":0,
    "dlq":3,"paused":true}])";
  auto functions = R"({"functions":[{"function_id":"served"}]})";
  std::vector<admin_queue_input> qs{
    {fifo,
     {R"({"state":"waiting","jobs":[{"function_id":"lonely","enqueued_at":5},
        {"function_id":"served","enqueued_at":9}]})",
      R"({"state":"dead","jobs":[{"function_id":"gone"}]})"}},
    {plain, {}}};
  auto doc = json::parse(queues_json(stats, functions, qs));
  ASSERT_EQ(doc["queues"].size(), 2u);
  auto o = doc["queues"][0];
  EXPECT_EQ(o["name"], "orders");
  EXPECT_EQ(o["type"], "fifo");
  EXPECT_EQ(o["message_group_field"], "customer");
  EXPECT_EQ(o["concurrency"], 2);
  EXPECT_EQ(o["paused"], true);
  EXPECT_EQ(o["waiting"], 2);
  EXPECT_EQ(o["in_flight"], 1);
  EXPECT_EQ(o["dead"], 3);
  EXPECT_EQ(o["oldest_waiting_at"], 5);
  EXPECT_EQ(o["function_ids"], json({"gone", "lonely", "served"}));
  EXPECT_EQ(o["unserved_functions"], json({"lonely"}));
  auto d = doc["queues"][1];
  EXPECT_EQ(d["type"], "standard");
  EXPECT_TRUE(d["message_group_field"].is_null());
  EXPECT_TRUE(d["oldest_waiting_at"].is_null());
  EXPECT_EQ(d["waiting"], 0);
  EXPECT_EQ(d["paused"], false);
}

TEST(admin_api, dlq_page_keeps_the_messages_text) {
  auto text = dlq_page_json("q", 1, 2, R"([{"payload":{"a":1.50}}])");
  EXPECT_NE(text.find(R"({"a":1.50})"), std::string::npos);
  auto doc = json::parse(text);
  EXPECT_EQ(doc["queue"], "q");
  EXPECT_EQ(doc["offset"], 1);
  EXPECT_EQ(doc["limit"], 2);
  EXPECT_EQ(json::parse(dlq_page_json("q", 0, 1, "oops"))["messages"],
            json::array());
}

TEST(admin_api, errors_and_counts) {
  EXPECT_EQ(json::parse(admin_error_json("c", "m")),
            json({{"error", {{"code", "c"}, {"message", "m"}}}}));
  EXPECT_EQ(error_code_of(R"({"code":"queue_not_found","message":"x"})"),
            "queue_not_found");
  EXPECT_EQ(error_code_of("[]"), "");
  EXPECT_EQ(uint_member(R"({"redriven":4})", "redriven"), 4u);
  EXPECT_EQ(uint_member("nope", "redriven"), 0u);
  EXPECT_EQ(json::parse(admin_count_json("q", "discarded", 2)),
            json({{"queue", "q"}, {"discarded", 2}}));
  EXPECT_EQ(json::parse(receipt_json("r")), json({{"messageReceiptId", "r"}}));
}

TEST(admin_api, workers_json_adds_the_functions) {
  auto doc = json::parse(workers_json(R"({"workers":[{"name":"w"}]})",
                                      R"({"functions":[{"function_id":"f"}]})"));
  EXPECT_EQ(doc["workers"][0]["name"], "w");
  EXPECT_EQ(doc["functions"][0]["function_id"], "f");
  EXPECT_EQ(json::parse(workers_json("x", "y"))["functions"], json::array());
}
