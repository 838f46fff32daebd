// Tests for protocol/queue_api: each queue function's input (good input,
// absent optionals, wrong types, data that is not an object) and each
// result's JSON, checked by parsing it with nlohmann.
#include "protocol/queue_api.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "protocol/json_member.hpp"

using namespace troupe::protocol;
using json = nlohmann::json;

namespace {

/// The error code of a refused parse, or "(accepted)".
template <class T>
std::string code(const queue_api_expected<T>& x) {
  return x ? "(accepted)" : x.error().code;
}

template <class T>
std::string message(const queue_api_expected<T>& x) {
  return x ? "(accepted)" : x.error().message;
}

/// Parses `text`, failing the test when it is not JSON.
json parsed(const std::string& text) {
  auto doc = json::parse(text, nullptr, false);
  EXPECT_FALSE(doc.is_discarded()) << text;
  return doc;
}

/// Data that is JSON but not an object.
const std::vector<std::string> not_objects{"5", "\"q\"", "[1,2]", "true"};

} // namespace

// -- redrive ----------------------------------------------------------------

TEST(queue_api, redrive_reads_its_queue) {
  auto x = parse_redrive(R"({"queue":"q1","other":[1]})");
  ASSERT_TRUE(x) << message(x);
  EXPECT_EQ(x->queue, "q1");
}

TEST(queue_api, redrive_without_a_queue_is_queue_not_set) {
  for (auto data : {"{}", "null", "", R"({"queue":""})", R"({"queue":null})"})
    EXPECT_EQ(code(parse_redrive(data)), "queue_not_set") << data;
}

TEST(queue_api, redrive_refuses_a_queue_that_is_not_a_string) {
  auto x = parse_redrive(R"({"queue":5})");
  EXPECT_EQ(code(x), "invalid_argument");
  EXPECT_EQ(message(x), "queue must be a string (got 5)");
  EXPECT_EQ(code(parse_redrive(R"({"queue":["q"]})")), "invalid_argument");
  EXPECT_EQ(code(parse_redrive(R"({"queue":true})")), "invalid_argument");
}

TEST(queue_api, redrive_refuses_data_that_is_not_an_object) {
  for (auto& data : not_objects) {
    auto x = parse_redrive(data);
    EXPECT_EQ(code(x), "invalid_argument") << data;
    EXPECT_EQ(message(x).rfind("data must be an object", 0), 0u) << message(x);
  }
  EXPECT_EQ(message(parse_redrive("[1]")),
            "data must be an object (got array)");
  EXPECT_EQ(code(parse_redrive("{")), "invalid_argument");
}

TEST(queue_api, too_deep_data_is_refused_before_parsing) {
  std::string deep(max_json_depth + 1, '[');
  EXPECT_EQ(code(parse_stats(deep)), "invalid_argument");
}

// -- redrive_message / discard_message --------------------------------------

TEST(queue_api, message_request_reads_queue_and_message_id) {
  auto x = parse_message_request(R"({"queue":"q","message_id":"m-1"})");
  ASSERT_TRUE(x) << message(x);
  EXPECT_EQ(x->queue, "q");
  EXPECT_EQ(x->message_id, "m-1");
}

TEST(queue_api, message_request_needs_both_members) {
  EXPECT_EQ(code(parse_message_request(R"({"message_id":"m"})")),
            "queue_not_set");
  EXPECT_EQ(code(parse_message_request(R"({"queue":"q"})")),
            "message_id_not_set");
  EXPECT_EQ(code(parse_message_request(R"({"queue":"q","message_id":""})")),
            "message_id_not_set");
  EXPECT_EQ(code(parse_message_request(R"({"queue":"q","message_id":null})")),
            "message_id_not_set");
  EXPECT_EQ(code(parse_message_request("null")), "queue_not_set");
}

TEST(queue_api, message_request_refuses_wrong_types_before_missing_members) {
  auto x = parse_message_request(R"({"queue":"q","message_id":7})");
  EXPECT_EQ(code(x), "invalid_argument");
  EXPECT_EQ(message(x), "message_id must be a string (got 7)");
  // A wrong type is reported even when the queue is missing too.
  EXPECT_EQ(code(parse_message_request(R"({"message_id":{}})")),
            "invalid_argument");
  EXPECT_EQ(code(parse_message_request(R"({"queue":1,"message_id":"m"})")),
            "invalid_argument");
  for (auto& data : not_objects)
    EXPECT_EQ(code(parse_message_request(data)), "invalid_argument") << data;
}

// -- dlq_messages -----------------------------------------------------------

TEST(queue_api, dlq_messages_reads_offset_and_limit) {
  auto x = parse_dlq_messages(R"({"queue":"q","offset":3,"limit":7})");
  ASSERT_TRUE(x) << message(x);
  EXPECT_EQ(x->queue, "q");
  EXPECT_EQ(x->offset, 3u);
  EXPECT_EQ(x->limit, 7u);
}

TEST(queue_api, dlq_messages_defaults_offset_0_and_limit_50) {
  for (auto data :
       {R"({"queue":"q"})", R"({"queue":"q","offset":null,"limit":null})"}) {
    auto x = parse_dlq_messages(data);
    ASSERT_TRUE(x) << message(x);
    EXPECT_EQ(x->offset, 0u);
    EXPECT_EQ(x->limit, 50u);
  }
  auto zero = parse_dlq_messages(R"({"queue":"q","offset":-0,"limit":0})");
  ASSERT_TRUE(zero) << message(zero);
  EXPECT_EQ(zero->offset, 0u);
  EXPECT_EQ(zero->limit, 0u);
  auto big
    = parse_dlq_messages(R"({"queue":"q","offset":18446744073709551615})");
  ASSERT_TRUE(big) << message(big);
  EXPECT_EQ(big->offset, UINT64_MAX);
}

TEST(queue_api, dlq_messages_refuses_counts_that_are_not_non_negative_ints) {
  auto neg = parse_dlq_messages(R"({"queue":"q","offset":-1})");
  EXPECT_EQ(code(neg), "invalid_argument");
  EXPECT_EQ(message(neg), "offset must be a non-negative integer (got -1)");
  auto text = parse_dlq_messages(R"({"queue":"q","limit":"10"})");
  EXPECT_EQ(message(text),
            R"(limit must be a non-negative integer (got "10"))");
  for (auto bad : {"1.5", "1e2", "true", "[]", "{}", "18446744073709551616"})
    EXPECT_EQ(code(parse_dlq_messages(std::string{R"({"queue":"q","limit":)"}
                                      + bad + "}")),
              "invalid_argument")
      << bad;
}

TEST(queue_api, dlq_messages_needs_a_queue) {
  EXPECT_EQ(code(parse_dlq_messages(R"({"limit":1})")), "queue_not_set");
  EXPECT_EQ(code(parse_dlq_messages(R"({"queue":3})")), "invalid_argument");
  for (auto& data : not_objects)
    EXPECT_EQ(code(parse_dlq_messages(data)), "invalid_argument") << data;
}

// -- dlq_topics -------------------------------------------------------------

TEST(queue_api, dlq_topics_takes_an_object_or_nothing) {
  for (auto data : {"{}", "null", "", "  ", R"({"anything":1})"})
    EXPECT_TRUE(parse_dlq_topics(data)) << data;
  for (auto& data : not_objects)
    EXPECT_EQ(code(parse_dlq_topics(data)), "invalid_argument") << data;
}

// -- stats ------------------------------------------------------------------

TEST(queue_api, stats_reads_an_optional_queue) {
  auto one = parse_stats(R"({"queue":"q"})");
  ASSERT_TRUE(one) << message(one);
  EXPECT_EQ(one->queue, "q");
  for (auto data : {"{}", "null", "", R"({"queue":null})", R"({"queue":""})"}) {
    auto all = parse_stats(data);
    ASSERT_TRUE(all) << data << ": " << message(all);
    EXPECT_EQ(all->queue, "") << data;
  }
}

TEST(queue_api, stats_refuses_a_queue_that_is_not_a_string) {
  auto x = parse_stats(R"({"queue":5})");
  EXPECT_EQ(code(x), "invalid_argument");
  EXPECT_EQ(message(x), "queue must be a string (got 5)");
  for (auto& data : not_objects)
    EXPECT_EQ(code(parse_stats(data)), "invalid_argument") << data;
}

TEST(queue_api, queue_not_found_names_the_queue) {
  auto e = queue_not_found("orders");
  EXPECT_EQ(e.code, "queue_not_found");
  EXPECT_EQ(e.message, "Queue 'orders' not found");
}

// -- results ----------------------------------------------------------------

TEST(queue_api, count_results_have_their_shapes) {
  EXPECT_EQ(parsed(redrive_result_json("q\"1", 2)),
            json({{"queue", "q\"1"}, {"redriven", 2}}));
  EXPECT_EQ(parsed(redrive_message_result_json("q", "m\n", 1)),
            json({{"queue", "q"}, {"message_id", "m\n"}, {"redriven", 1}}));
  EXPECT_EQ(parsed(discard_message_result_json("q", "m", 0)),
            json({{"queue", "q"}, {"message_id", "m"}, {"discarded", 0}}));
}

TEST(queue_api, dlq_messages_embed_payload_and_error_as_json) {
  troupe::job a;
  a.id = "id-a";
  a.queue = "q";
  a.function_id = "fn";
  a.payload = R"({"n":[1,{"x":"é"}]})";
  a.attempts = 3;
  a.enqueued_at = 1700000000000;
  a.last_error = R"({"code":"boom","message":"it broke"})";
  a.failed_at = 1700000000500;
  troupe::job b; // no payload, no error
  b.id = "id-b";
  auto doc = parsed(dlq_messages_json({a, b}));
  ASSERT_TRUE(doc.is_array());
  ASSERT_EQ(doc.size(), 2u);
  EXPECT_EQ(doc[0], json::parse(R"({"id":"id-a","function_id":"fn",
    "payload":{"n":[1,{"x":"é"}]},"error":{"code":"boom","message":"it broke"},
    "enqueued_at":1700000000000,"failed_at":1700000000500,"retries":3,
    "size_bytes":)" + std::to_string(a.payload.size())
                                + "}"));
  EXPECT_TRUE(doc[1]["payload"].is_null());
  EXPECT_TRUE(doc[1]["error"].is_null());
  EXPECT_EQ(doc[1]["size_bytes"], 0);
  EXPECT_EQ(parsed(dlq_messages_json({})), json::array());
}

TEST(queue_api, stats_and_topics_have_their_shapes) {
  troupe::queue_stats a{"a", 1, 2, 3, 4, 5, 6, 7, 8, 9, {{"c", 2}, {"d", 1}}};
  troupe::queue_stats b{"b", 0, 0, 0, 9, 0, 0, 0, 0};
  auto one = parsed(stats_json(a));
  EXPECT_EQ(one, json({{"queue", "a"},
                       {"waiting", 1},
                       {"in_flight", 2},
                       {"delayed", 3},
                       {"dlq", 4},
                       {"enqueued_total", 5},
                       {"succeeded_total", 6},
                       {"failed_attempts_total", 7},
                       {"dead_total", 8},
                       {"held", 9},
                       {"waiting_on", {{"c", 2}, {"d", 1}}},
                       {"paused", false}}));
  EXPECT_EQ(parsed(stats_json(b))["waiting_on"], json::object());
  auto list = parsed(stats_list_json({a, b}));
  ASSERT_TRUE(list.is_array());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0], one);
  EXPECT_EQ(list[1]["queue"], "b");
  EXPECT_EQ(parsed(stats_list_json({})), json::array());
  EXPECT_EQ(parsed(dlq_topics_json({a, b})), json::parse(R"([
              {"topic":"a","broker_type":"builtin","message_count":4},
              {"topic":"b","broker_type":"builtin","message_count":9}])"));
  EXPECT_EQ(parsed(dlq_topics_json({})), json::array());
}

// -- a cluster's answer -----------------------------------------------------

namespace {

using answers = std::vector<node_answer>;

const std::string timeout_error
  = R"({"code":"timeout","message":"node c did not answer"})";

/// The body of a merged result that must have succeeded, as a document.
json merged(const troupe::invoke_result& r) {
  EXPECT_TRUE(r.ok) << r.body;
  return parsed(r.body);
}

troupe::job dead(std::string id, int64_t failed_at) {
  troupe::job x;
  x.id = std::move(id);
  x.function_id = "fn";
  x.payload = R"({"b":1,  "a":1.50})"; // kept as written
  x.failed_at = failed_at;
  return x;
}

} // namespace

TEST(queue_api, merged_stats_sum_the_nodes_and_list_each) {
  troupe::queue_stats a{"q", 1, 2, 3, 4, 5, 6, 7, 8, 9, {{"c", 2}}};
  troupe::queue_stats b{
    "q", 10, 20, 30, 40, 50, 60, 70, 80, 90, {{"c", 3}, {"a", 1}}};
  auto doc = merged(merge_stats({{"a", true, stats_json(a)},
                                 {"b", true, stats_json(b)},
                                 {"c", false, timeout_error}},
                                "q"));
  EXPECT_EQ(doc, json::parse(R"({"queue":"q","waiting":11,"in_flight":22,
    "delayed":33,"dlq":44,"enqueued_total":55,"succeeded_total":66,
    "failed_attempts_total":77,"dead_total":88,"held":99,
    "waiting_on":{"a":1,"c":5},"paused":false,"nodes":[
    {"node":"a","waiting":1,"in_flight":2,"delayed":3,"dlq":4,
     "enqueued_total":5,"succeeded_total":6,"failed_attempts_total":7,
     "dead_total":8,"held":9,"waiting_on":{"c":2},"paused":false},
    {"node":"b","waiting":10,"in_flight":20,"delayed":30,"dlq":40,
     "enqueued_total":50,"succeeded_total":60,"failed_attempts_total":70,
     "dead_total":80,"held":90,"waiting_on":{"a":1,"c":3},"paused":false},
    {"node":"c","error":{"code":"timeout","message":"node c did not answer"}}
    ]})"));
}

TEST(queue_api, merged_stats_list_merges_each_queue) {
  troupe::queue_stats a1{"alpha", 1, 0, 0, 2, 0, 0, 0, 0};
  troupe::queue_stats a2{"beta", 0, 0, 0, 3, 0, 0, 0, 0};
  troupe::queue_stats b1{"alpha", 4, 0, 0, 5, 0, 0, 0, 0};
  troupe::queue_stats b2{"beta", 0, 0, 0, 6, 0, 0, 0, 0};
  auto doc = merged(merge_stats_list({{"a", true, stats_list_json({a1, a2})},
                                      {"c", false, timeout_error},
                                      {"b", true, stats_list_json({b1, b2})}}));
  ASSERT_TRUE(doc.is_array()) << doc;
  ASSERT_EQ(doc.size(), 2u);
  EXPECT_EQ(doc[0]["queue"], "alpha");
  EXPECT_EQ(doc[0]["waiting"], 5);
  EXPECT_EQ(doc[0]["dlq"], 7);
  EXPECT_EQ(doc[1]["queue"], "beta");
  EXPECT_EQ(doc[1]["dlq"], 9);
  for (auto& q : doc) {
    ASSERT_EQ(q["nodes"].size(), 3u) << q;
    EXPECT_EQ(q["nodes"][0]["node"], "a");
    EXPECT_EQ(q["nodes"][1]["node"], "c");
    EXPECT_EQ(q["nodes"][1]["error"]["code"], "timeout");
    EXPECT_EQ(q["nodes"][2]["node"], "b");
  }
  EXPECT_EQ(doc[1]["nodes"][2]["dlq"], 6);
}

TEST(queue_api, merged_topics_sum_message_counts) {
  troupe::queue_stats a{"alpha", 0, 0, 0, 2, 0, 0, 0, 0};
  troupe::queue_stats b{"alpha", 0, 0, 0, 3, 0, 0, 0, 0};
  auto doc = merged(merge_dlq_topics(
    {{"a", true, dlq_topics_json({a})}, {"b", true, dlq_topics_json({b})}}));
  EXPECT_EQ(doc, json::parse(R"([{"topic":"alpha","broker_type":"builtin",
    "message_count":5,"nodes":[{"node":"a","message_count":2},
    {"node":"b","message_count":3}]}])"));
}

TEST(queue_api, merged_dlq_messages_are_newest_first_with_their_node) {
  auto from_a = dlq_messages_json({dead("a2", 400), dead("a1", 100)});
  auto from_b = dlq_messages_json({dead("b2", 300), dead("b1", 200)});
  answers as{
    {"a", true, from_a}, {"b", true, from_b}, {"c", false, timeout_error}};
  auto ids = [&](uint64_t offset, uint64_t limit) {
    std::vector<std::string> out;
    for (auto& e : merged(merge_dlq_messages(as, {"q", offset, limit})))
      out.push_back(e["id"].get<std::string>() + "@"
                    + e["node"].get<std::string>());
    return out;
  };
  using strings = std::vector<std::string>;
  EXPECT_EQ(ids(0, 50), (strings{"a2@a", "b2@b", "b1@b", "a1@a"}));
  EXPECT_EQ(ids(1, 2), (strings{"b2@b", "b1@b"}));
  EXPECT_EQ(ids(3, 9), (strings{"a1@a"}));
  EXPECT_EQ(ids(4, 9), strings{});
  EXPECT_EQ(ids(0, 0), strings{});
  // The payload stays as the node sent it, and `node` comes last.
  auto r = merge_dlq_messages(as, {"q", 0, 1});
  EXPECT_NE(r.body.find(R"("payload":{"b":1,  "a":1.50})"), std::string::npos)
    << r.body;
  EXPECT_NE(r.body.find(R"("node":"a"})"), std::string::npos) << r.body;
}

TEST(queue_api, each_node_is_asked_for_offset_plus_limit) {
  EXPECT_EQ(parsed(dlq_messages_fanout_data({"q", 10, 5})),
            json({{"queue", "q"}, {"offset", 0}, {"limit", 15}}));
  auto huge = parsed(dlq_messages_fanout_data({"q", 10, UINT64_MAX}));
  EXPECT_EQ(huge["limit"].get<uint64_t>(), UINT64_MAX) << "saturates";
}

TEST(queue_api, merged_counts_sum_and_list_each_node) {
  auto doc = merged(merge_redrive({{"a", true, redrive_result_json("q", 2)},
                                   {"b", true, redrive_result_json("q", 3)}},
                                  "q"));
  EXPECT_EQ(doc, json::parse(R"({"queue":"q","redriven":5,"nodes":[
    {"node":"a","redriven":2},{"node":"b","redriven":3}]})"));
  message_request m{"q", "m1"};
  doc = merged(merge_redrive_message(
    {{"a", true, redrive_message_result_json("q", "m1", 0)},
     {"c", true, redrive_message_result_json("q", "m1", 1)}},
    m));
  EXPECT_EQ(doc, json::parse(R"({"queue":"q","message_id":"m1","redriven":1,
    "nodes":[{"node":"a","redriven":0},{"node":"c","redriven":1}]})"));
  doc = merged(merge_discard_message(
    {{"a", true, discard_message_result_json("q", "m1", 1)},
     {"b", false, timeout_error}},
    m));
  EXPECT_EQ(doc["discarded"], 1);
  EXPECT_EQ(doc["nodes"][1],
            json::parse(R"({"node":"b","error":{"code":"timeout",
              "message":"node c did not answer"}})"));
}

TEST(queue_api, a_merge_fails_only_when_no_node_answered) {
  auto e = merge_redrive({{"a", false, R"({"code":"invocation_stopped",
    "message":"Invocation stopped"})"},
                          {"b", false, timeout_error}},
                         "q");
  EXPECT_FALSE(e.ok);
  EXPECT_EQ(parsed(e.body)["code"], "invocation_stopped") << "the first's";
  EXPECT_FALSE(merge_stats({}, "q").ok);
  EXPECT_FALSE(merge_dlq_messages({}, {"q", 0, 50}).ok);
  // An answer that cannot be read counts as the node's error.
  auto r = merge_stats_list({{"a", true, "[]"}, {"b", true, "{oops"}});
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_EQ(parsed(r.body), json::array()) << "no queue answered by anyone";
  auto s = merge_stats({{"a", true, stats_json({"q"})},
                        {"b", true, R"({"queue":"q"})"},
                        {"c", false, "not json"}},
                       "q");
  auto doc = merged(s);
  EXPECT_EQ(doc["nodes"][1]["error"]["code"], "bad_answer");
  EXPECT_EQ(doc["nodes"][2]["error"]["code"], "engine_error");
  EXPECT_FALSE(
    merge_dlq_messages({{"a", true, R"([{"id":"x"}])"}}, {"q", 0, 5}).ok)
    << "an entry without failed_at cannot be read";
}

// -- job, jobs, groups, pause, retry_now --------------------------------------

TEST(queue_api, job_and_jobs_requests_are_parsed_and_checked) {
  auto j = parse_job_request(R"({"id":"x"})");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->id, "x");
  EXPECT_EQ(j->queue, "");
  EXPECT_EQ(code(parse_job_request("{}")), "invalid_argument");
  EXPECT_EQ(message(parse_job_request("{}")), "id is required");
  EXPECT_EQ(code(parse_job_request(R"({"id":""})")), "invalid_argument");
  auto l = parse_jobs_request(R"({"queue":"q","state":"in_flight"})");
  ASSERT_TRUE(l);
  EXPECT_EQ(l->state, troupe::job_status::in_flight);
  EXPECT_EQ(l->offset, 0u);
  EXPECT_EQ(l->limit, 50u);
  // The parser keeps a large limit; the queue functions cap it.
  EXPECT_EQ(
    parse_jobs_request(R"({"queue":"q","state":"dead","limit":9000})")->limit,
    9000u);
  EXPECT_EQ(cap_limit(9000), 500u);
  EXPECT_EQ(cap_limit(7), 7u);
  EXPECT_EQ(code(parse_jobs_request(R"({"queue":"q"})")), "invalid_argument");
  EXPECT_EQ(code(parse_jobs_request(R"({"queue":"q","state":"Dead"})")),
            "invalid_argument");
  EXPECT_EQ(code(parse_jobs_request(R"({"state":"dead"})")), "queue_not_set");
  for (auto& data : not_objects) {
    EXPECT_EQ(code(parse_jobs_request(data)), "invalid_argument") << data;
    EXPECT_EQ(code(parse_groups_request(data)), "invalid_argument") << data;
    EXPECT_EQ(code(parse_pause_request(data)), "invalid_argument") << data;
    EXPECT_EQ(code(parse_retry_now_request(data)), "invalid_argument") << data;
  }
  EXPECT_EQ(code(parse_retry_now_request(R"({"queue":"q"})")),
            "invalid_argument");
  EXPECT_EQ(parse_retry_now_request(R"({"queue":"q","id":"i"})")->id, "i");
  EXPECT_EQ(code(parse_pause_request("null")), "queue_not_set");
  EXPECT_EQ(parse_groups_request(R"({"queue":"q","offset":3})")->offset, 3u);
}

TEST(queue_api, a_job_renders_every_member) {
  troupe::job_info x;
  x.job.id = "i";
  x.job.queue = "q";
  x.job.function_id = "f";
  x.job.payload = R"({"b":1,  "a":2})";
  x.job.group = "g";
  x.job.attempts = 1;
  x.job.enqueued_at = 100;
  x.job.last_error = R"({"code":"e","message":"m"})";
  x.state = troupe::job_status::delayed;
  x.max_attempts = 3;
  x.next_attempt_at = 500;
  x.payload_size = x.job.payload.size();
  x.attempts_log.push_back({1, 200, 7, false, x.job.last_error});
  x.attempts_log.push_back({2, 300, -1, false, {}});
  auto text = job_json(x);
  EXPECT_NE(text.find(R"("payload":{"b":1,  "a":2})"), std::string::npos)
    << "kept as written";
  EXPECT_EQ(parsed(text), json::parse(R"({"id":"i","queue":"q",
    "function_id":"f","state":"delayed","attempts":1,"max_attempts":3,
    "enqueued_at":100,"next_attempt_at":500,"failed_at":null,
    "error":{"code":"e","message":"m"},"group":"g","payload":{"b":1,"a":2},
    "payload_size":15,"attempts_log":[
      {"number":1,"started_at":200,"duration_ms":7,"ok":false,
       "error":{"code":"e","message":"m"}},
      {"number":2,"started_at":300,"duration_ms":null,"ok":null,
       "error":null}]})"));
  troupe::job_page page;
  page.queue = "q";
  page.state = troupe::job_status::delayed;
  page.total = 9;
  page.offset = 2;
  page.limit = 1;
  x.job.payload.clear();
  x.attempts_log.clear();
  page.jobs.push_back(x);
  EXPECT_EQ(parsed(job_page_json(page)), json::parse(R"({"queue":"q",
    "state":"delayed","total":9,"offset":2,"limit":1,"jobs":[{"id":"i",
    "function_id":"f","state":"delayed","attempts":1,"max_attempts":3,
    "enqueued_at":100,"next_attempt_at":500,"failed_at":null,
    "error":{"code":"e","message":"m"},"group":"g","payload_size":15}]})"));
}

TEST(queue_api, groups_pause_and_retry_now_render) {
  troupe::group_page p;
  p.groups.push_back({"g1", 2, false, true, 900, "h1", false});
  p.groups.push_back({"g2", 1, true, false, 0, "h2", true});
  EXPECT_EQ(parsed(groups_json(p)), json::parse(R"([
    {"group":"g1","jobs":2,"running":false,"blocked_by_retry":true,
     "next_attempt_at":900,"head_id":"h1","held":false},
    {"group":"g2","jobs":1,"running":true,"blocked_by_retry":false,
     "next_attempt_at":null,"head_id":"h2","held":true}])"));
  EXPECT_EQ(pause_result_json("q", true), R"({"queue":"q","paused":true})");
  EXPECT_EQ(retry_now_result_json("q", "i", 1),
            R"({"queue":"q","id":"i","retried":1})");
}

TEST(queue_api, merged_job_names_its_node_or_is_not_found) {
  auto nf = R"({"code":"job_not_found","message":"no"})";
  job_request req{"", "i"};
  auto r = merge_job({{"a", false, nf}, {"b", true, R"({"id":"i"})"}}, req);
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(parsed(r.body), json::parse(R"({"id":"i","node":"b"})"));
  auto none = merge_job({{"a", false, nf}, {"b", false, nf}}, req);
  EXPECT_FALSE(none.ok);
  EXPECT_EQ(parsed(none.body)["code"], "job_not_found");
  auto partly = merge_job({{"a", false, nf}, {"c", false, timeout_error}}, req);
  EXPECT_EQ(parsed(partly.body)["code"], "job_not_found");
  EXPECT_NE(
    parsed(partly.body)["message"].get<std::string>().find("no answer from c"),
    std::string::npos);
}

TEST(queue_api, merged_jobs_sort_across_nodes_and_page) {
  auto page_of = [](const std::string& jobs, int total) {
    return R"({"queue":"q","state":"delayed","total":)" + std::to_string(total)
           + R"(,"offset":0,"limit":9,"jobs":[)" + jobs + "]}";
  };
  jobs_request req{"q", troupe::job_status::delayed, 1, 2};
  auto r = merge_jobs(
    {{"a", true,
      page_of(R"({"id":"a1","next_attempt_at":10},)"
              R"({"id":"a2","next_attempt_at":40,"error":{"x":[1, 2]}})",
              2)},
     {"b", true, page_of(R"({"id":"b1","next_attempt_at":20})", 5)},
     {"c", false, timeout_error}},
    req);
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_NE(r.body.find(R"({"x":[1, 2]})"), std::string::npos);
  EXPECT_EQ(parsed(r.body), json::parse(R"({"queue":"q","state":"delayed",
    "total":7,"offset":1,"limit":2,"jobs":[
      {"id":"b1","next_attempt_at":20,"node":"b"},
      {"id":"a2","next_attempt_at":40,"error":{"x":[1,2]},"node":"a"}],
    "nodes":[{"node":"a","total":2},{"node":"b","total":5},
      {"node":"c","error":{"code":"timeout","message":"node c did not answer"}}]
    })"));
  EXPECT_EQ(jobs_fanout_data(req),
            R"({"queue":"q","state":"delayed","offset":0,"limit":3})");
}

TEST(queue_api, merged_groups_put_blocked_ones_first) {
  groups_request req{"q", 0, 10};
  auto r
    = merge_groups({{"a", true,
                     R"([{"group":"x","running":true,"blocked_by_retry":false},
          {"group":"y","running":false,"blocked_by_retry":true,
           "next_attempt_at":50}])"},
                    {"b", true,
                     R"([{"group":"z","running":false,"blocked_by_retry":true,
           "next_attempt_at":20},{"group":"w","running":false,
           "blocked_by_retry":false}])"},
                    {"c", false, timeout_error}},
                   req);
  ASSERT_TRUE(r.ok) << r.body;
  auto doc = parsed(r.body);
  ASSERT_EQ(doc.size(), 4u);
  EXPECT_EQ(doc[0]["group"], "z");
  EXPECT_EQ(doc[0]["node"], "b");
  EXPECT_EQ(doc[1]["group"], "y");
  EXPECT_EQ(doc[2]["group"], "x");
  EXPECT_EQ(doc[3]["group"], "w");
  req.offset = 3;
  EXPECT_EQ(parsed(merge_groups({{"a", true, "[]"}}, req).body), json::array());
}

TEST(queue_api, merged_pause_lists_each_node) {
  auto r = merge_pause({{"a", true, R"({"queue":"q","paused":true})"},
                        {"b", true, R"({"queue":"q","paused":false})"}},
                       "q");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(parsed(r.body), json::parse(R"({"queue":"q","paused":true,
    "nodes":[{"node":"a","paused":true},{"node":"b","paused":false}]})"));
  auto n = merge_retry_now({{"a", true, R"({"retried":0})"},
                            {"b", true, R"({"retried":1})"}},
                           {"q", "i"});
  EXPECT_EQ(parsed(n.body)["retried"], 1);
}
