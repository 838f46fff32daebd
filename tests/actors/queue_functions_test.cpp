// The queue functions actor against real queue supervisors, driven
// deterministically: two queues ("alpha", "beta") whose jobs for "f" always
// fail at a scripted owner, so each enqueued job is dead after one attempt.

#include "actors/queue_functions_actor.hpp"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "actor_fixture.hpp"
#include "actors/queue_actor.hpp"
#include "actors/registry_actor.hpp"
#include "protocol/json_member.hpp"

using namespace troupe;
using namespace troupe::testing;
using namespace std::chrono_literals;

namespace {

struct queue_functions_test : actor_fixture {
  caf::actor registry = spawn(registry_actor, std::string{"registry"}, nullptr);
  std::shared_ptr<owner_script> script = std::make_shared<owner_script>();
  caf::actor owner = spawn(scripted_owner, script);
  std::shared_ptr<queue_directory> dir = std::make_shared<queue_directory>();
  caf::actor functions;

  queue_functions_test() {
    script->decide = [](const seen_call&) { return answer::fail; };
    caf::anon_send(registry, register_function{"f", owner, {}, {}});
    add_queues(*dir);
    functions = spawn(queue_functions_actor, dir);
    register_queue_functions(registry, functions);
    run();
  }

  /// Adds the queues "alpha" and "beta" to `d`.
  void add_queues(queue_directory& d) {
    for (auto name : {"alpha", "beta"}) {
      queue_config q;
      q.name = name;
      q.max_retries = 1;
      q.backoff_ms = 10;
      auto hdl = spawn(queue_actor, q, queue_links{registry, {}, 0ms},
                       recovered_jobs{});
      d.queues.emplace(name, queue_entry{caf::actor_cast<caf::actor>(hdl), q});
    }
  }

  /// Calls queue function `fn` directly with `data`.
  invoke_result call(const std::string& fn, const std::string& data) {
    return ask<invoke_result>(functions, invoke{fn, data, {}, {}, {}, 0});
  }

  /// Enqueues a job on `queue` and lets it die; returns its id.
  std::string dead_job(const std::string& queue, const std::string& name) {
    return dead_job(*dir, queue, name);
  }

  /// The same on the queues of `d`.
  std::string dead_job(queue_directory& d, const std::string& queue,
                       const std::string& name) {
    auto& e = d.queues.at(queue);
    auto x = make_job(e.spec, 1 << 20, "f", R"({"n":")" + name + R"("})");
    EXPECT_TRUE(x) << caf::to_string(x.error());
    auto id = ask<std::string>(e.supervisor, std::move(*x));
    advance(1s);
    return id;
  }

  static std::string member(const std::string& body, const char* key) {
    return protocol::find_member(body, key).value;
  }

  /// The error code of a failed call, or "(ok)".
  static std::string code(const invoke_result& r) {
    return r.ok ? "(ok)" : member(r.body, "code");
  }

  /// How often `needle` occurs in `body`.
  static size_t occurrences(const std::string& body,
                            const std::string& needle) {
    size_t n = 0;
    for (auto i = body.find(needle); i != std::string::npos;
         i = body.find(needle, i + needle.size()))
      ++n;
    return n;
  }
};

constexpr auto fn_stats = "engine::queue::stats";
constexpr auto fn_topics = "engine::queue::dlq_topics";
constexpr auto fn_messages = "engine::queue::dlq_messages";
constexpr auto fn_redrive = "iii::queue::redrive";
constexpr auto fn_redrive_message = "iii::queue::redrive_message";
constexpr auto fn_discard_message = "iii::queue::discard_message";
constexpr auto fn_job = "engine::queue::job";
constexpr auto fn_jobs = "engine::queue::jobs";
constexpr auto fn_groups = "engine::queue::groups";
constexpr auto fn_pause = "engine::queue::pause";
constexpr auto fn_resume = "engine::queue::resume";
constexpr auto fn_retry_now = "engine::queue::retry_now";

} // namespace

TEST_F(queue_functions_test, the_functions_are_reachable_through_registry) {
  auto r = ask<invoke_result>(
    registry, invoke{fn_stats, R"({"queue":"beta"})", {}, {}, {}, 0});
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_EQ(member(r.body, "queue"), "beta");
  EXPECT_EQ(queue_function_ids().size(), 12u);
}

TEST_F(queue_functions_test, stats_of_one_queue_is_an_object) {
  dead_job("alpha", "a1");
  auto r = call(fn_stats, R"({"queue":"alpha"})");
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_EQ(member(r.body, "queue"), "alpha");
  EXPECT_EQ(member(r.body, "dlq"), "1");
  EXPECT_EQ(member(r.body, "enqueued_total"), "1");
  EXPECT_EQ(member(r.body, "failed_attempts_total"), "1");
  EXPECT_EQ(member(r.body, "dead_total"), "1");
  EXPECT_EQ(member(r.body, "waiting"), "0");
  EXPECT_EQ(member(r.body, "in_flight"), "0");
  EXPECT_EQ(member(r.body, "delayed"), "0");
  EXPECT_EQ(member(r.body, "succeeded_total"), "0");
}

TEST_F(queue_functions_test, stats_without_a_queue_lists_all_by_name) {
  dead_job("beta", "b1");
  for (auto data : {"null", "{}", R"({"queue":null})"}) {
    auto r = call(fn_stats, data);
    ASSERT_TRUE(r.ok) << data << ": " << r.body;
    ASSERT_EQ(r.body.front(), '[') << r.body;
    EXPECT_EQ(occurrences(r.body, R"("queue":)"), 2u) << r.body;
    auto alpha = r.body.find(R"("queue":"alpha")");
    auto beta = r.body.find(R"("queue":"beta")");
    ASSERT_NE(alpha, std::string::npos);
    ASSERT_NE(beta, std::string::npos);
    EXPECT_LT(alpha, beta) << "ordered by queue name";
    EXPECT_NE(r.body.find(R"("dlq":1)", beta), std::string::npos) << r.body;
  }
}

TEST_F(queue_functions_test, stats_refuses_a_queue_that_is_not_a_string) {
  auto r = call(fn_stats, R"({"queue":5})");
  EXPECT_EQ(code(r), "invalid_argument") << "not every queue's stats";
  EXPECT_EQ(member(r.body, "message"), "queue must be a string (got 5)");
  EXPECT_EQ(code(call(fn_stats, "[]")), "invalid_argument");
  EXPECT_EQ(code(call(fn_stats, R"({"queue":"nope"})")), "queue_not_found");
}

TEST_F(queue_functions_test, dlq_topics_counts_each_queues_dead_jobs) {
  dead_job("alpha", "a1");
  dead_job("alpha", "a2");
  auto r = call(fn_topics, "{}");
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_EQ(r.body, R"([{"topic":"alpha","broker_type":"builtin",)"
                    R"("message_count":2},{"topic":"beta",)"
                    R"("broker_type":"builtin","message_count":0}])");
  EXPECT_EQ(code(call(fn_topics, "7")), "invalid_argument");
}

TEST_F(queue_functions_test, dlq_messages_pages_newest_first) {
  auto a1 = dead_job("alpha", "a1");
  auto a2 = dead_job("alpha", "a2");
  auto a3 = dead_job("alpha", "a3");
  auto ids = [&](const std::string& data) {
    auto r = call(fn_messages, data);
    EXPECT_TRUE(r.ok) << r.body;
    std::vector<std::string> out;
    for (auto& id : {a1, a2, a3}) {
      auto at = r.body.find(id);
      if (at != std::string::npos) out.push_back(id);
    }
    // Order of appearance in the body.
    std::sort(out.begin(), out.end(), [&](auto& x, auto& y) {
      return r.body.find(x) < r.body.find(y);
    });
    return out;
  };
  using ids_t = std::vector<std::string>;
  EXPECT_EQ(ids(R"({"queue":"alpha"})"), (ids_t{a3, a2, a1}));
  EXPECT_EQ(ids(R"({"queue":"alpha","limit":1})"), (ids_t{a3}));
  EXPECT_EQ(ids(R"({"queue":"alpha","offset":1,"limit":1})"), (ids_t{a2}));
  EXPECT_EQ(ids(R"({"queue":"alpha","offset":2})"), (ids_t{a1}));
  EXPECT_EQ(call(fn_messages, R"({"queue":"alpha","offset":3})").body, "[]");
  EXPECT_EQ(call(fn_messages, R"({"queue":"beta"})").body, "[]");
  // One entry's shape.
  auto r = call(fn_messages, R"({"queue":"alpha","limit":1})");
  auto entry = r.body.substr(1, r.body.size() - 2);
  EXPECT_EQ(member(entry, "id"), a3);
  EXPECT_EQ(member(entry, "function_id"), "f");
  EXPECT_EQ(member(entry, "payload"), R"({"n":"a3"})");
  EXPECT_EQ(member(member(entry, "error"), "code"), "invocation_failed");
  EXPECT_EQ(member(entry, "retries"), "1");
  EXPECT_EQ(member(entry, "size_bytes"), "10");
}

TEST_F(queue_functions_test, dlq_messages_refuses_bad_offset_and_limit) {
  for (auto data :
       {R"({"queue":"alpha","offset":-1})", R"({"queue":"alpha","limit":"5"})",
        R"({"queue":"alpha","limit":2.5})"})
    EXPECT_EQ(code(call(fn_messages, data)), "invalid_argument") << data;
}

TEST_F(queue_functions_test, redrive_moves_every_dead_job_back) {
  dead_job("alpha", "a1");
  dead_job("alpha", "a2");
  auto calls = script->calls.size();
  auto r = call(fn_redrive, R"({"queue":"alpha"})");
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_EQ(r.body, R"({"queue":"alpha","redriven":2})");
  advance(1s);
  EXPECT_EQ(script->calls.size(), calls + 2) << "each ran once more";
  EXPECT_EQ(call(fn_redrive, R"({"queue":"beta"})").body,
            R"({"queue":"beta","redriven":0})");
}

TEST_F(queue_functions_test, redrive_message_moves_one_job_back) {
  auto a1 = dead_job("alpha", "a1");
  auto a2 = dead_job("alpha", "a2");
  script->decide = [](const seen_call&) { return answer::ok; };
  auto data = R"({"queue":"alpha","message_id":")" + a1 + R"("})";
  auto r = call(fn_redrive_message, data);
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_EQ(r.body,
            R"({"queue":"alpha","message_id":")" + a1 + R"(","redriven":1})");
  advance(1s);
  EXPECT_EQ(member(call(fn_stats, R"({"queue":"alpha"})").body, "dlq"), "1");
  EXPECT_EQ(member(call(fn_redrive_message, data).body, "redriven"), "0");
  auto left = call(fn_messages, R"({"queue":"alpha"})").body;
  EXPECT_NE(left.find(a2), std::string::npos);
  EXPECT_EQ(left.find(a1), std::string::npos);
}

TEST_F(queue_functions_test, discard_message_removes_one_job) {
  auto a1 = dead_job("alpha", "a1");
  auto data = R"({"queue":"alpha","message_id":")" + a1 + R"("})";
  auto r = call(fn_discard_message, data);
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_EQ(r.body,
            R"({"queue":"alpha","message_id":")" + a1 + R"(","discarded":1})");
  EXPECT_EQ(member(call(fn_discard_message, data).body, "discarded"), "0");
  EXPECT_EQ(call(fn_messages, R"({"queue":"alpha"})").body, "[]");
  auto calls = script->calls.size();
  EXPECT_EQ(member(call(fn_redrive, R"({"queue":"alpha"})").body, "redriven"),
            "0");
  advance(1s);
  EXPECT_EQ(script->calls.size(), calls) << "gone for good";
}

TEST_F(queue_functions_test, every_error_code) {
  for (auto fn :
       {fn_redrive, fn_redrive_message, fn_discard_message, fn_messages}) {
    EXPECT_EQ(code(call(fn, "{}")), "queue_not_set") << fn;
    EXPECT_EQ(code(call(fn, R"({"queue":""})")), "queue_not_set") << fn;
    EXPECT_EQ(code(call(fn, R"({"queue":5})")), "invalid_argument") << fn;
    EXPECT_EQ(code(call(fn, R"("alpha")")), "invalid_argument") << fn;
    auto r = call(fn, R"({"queue":"nope","message_id":"x"})");
    EXPECT_EQ(code(r), "queue_not_found") << fn;
    EXPECT_EQ(member(r.body, "message"), "Queue 'nope' not found") << fn;
  }
  for (auto fn : {fn_redrive_message, fn_discard_message}) {
    EXPECT_EQ(code(call(fn, R"({"queue":"alpha"})")), "message_id_not_set");
    EXPECT_EQ(code(call(fn, R"({"queue":"alpha","message_id":""})")),
              "message_id_not_set");
    EXPECT_EQ(code(call(fn, R"({"queue":"alpha","message_id":7})")),
              "invalid_argument");
  }
  EXPECT_EQ(code(call(fn_stats, R"({"queue":"nope"})")), "queue_not_found");
  EXPECT_EQ(code(call("engine::queue::other", "{}")), "function_not_found");
}

TEST_F(queue_functions_test, a_queue_that_went_away_is_an_error_not_a_hang) {
  caf::anon_send_exit(dir->queues.at("beta").supervisor,
                      caf::exit_reason::user_shutdown);
  run();
  auto r = call(fn_stats, "{}");
  EXPECT_FALSE(r.ok) << r.body;
  EXPECT_EQ(code(call(fn_redrive, R"({"queue":"beta"})")),
            "invocation_stopped");
}

TEST_F(queue_functions_test, job_renders_a_job_with_its_attempts) {
  auto id = dead_job("beta", "b1");
  auto r = call(fn_job, R"({"queue":"beta","id":")" + id + R"("})");
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_EQ(member(r.body, "id"), id);
  EXPECT_EQ(member(r.body, "queue"), "beta");
  EXPECT_EQ(member(r.body, "state"), "dead");
  EXPECT_EQ(member(r.body, "payload"), R"({"n":"b1"})");
  EXPECT_EQ(member(r.body, "attempts"), "1");
  EXPECT_EQ(member(r.body, "max_attempts"), "1");
  EXPECT_NE(r.body.find(R"("next_attempt_at":null)"), std::string::npos);
  EXPECT_NE(member(r.body, "failed_at"), "null");
  EXPECT_EQ(member(member(r.body, "error"), "code"), "invocation_failed");
  EXPECT_NE(r.body.find(R"("group":null)"), std::string::npos);
  auto log = member(r.body, "attempts_log");
  EXPECT_EQ(occurrences(log, R"("number":1)"), 1u) << log;
  EXPECT_EQ(occurrences(log, R"("ok":false)"), 1u) << log;
  // Without a queue: every queue is searched.
  auto any = call(fn_job, R"({"id":")" + id + R"("})");
  ASSERT_TRUE(any.ok) << any.body;
  EXPECT_EQ(member(any.body, "queue"), "beta");
  EXPECT_EQ(code(call(fn_job, R"({"id":"nope"})")), "job_not_found");
  EXPECT_EQ(code(call(fn_job, R"({"queue":"alpha","id":")" + id + R"("})")),
            "job_not_found");
  EXPECT_EQ(code(call(fn_job, R"({"queue":"nope","id":"x"})")),
            "queue_not_found");
}

TEST_F(queue_functions_test, jobs_pages_one_state_and_caps_the_limit) {
  auto a1 = dead_job("alpha", "a1");
  auto a2 = dead_job("alpha", "a2");
  auto r = call(fn_jobs, R"({"queue":"alpha","state":"dead","limit":100000})");
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_EQ(member(r.body, "queue"), "alpha");
  EXPECT_EQ(member(r.body, "state"), "dead");
  EXPECT_EQ(member(r.body, "total"), "2");
  EXPECT_EQ(member(r.body, "offset"), "0");
  EXPECT_EQ(member(r.body, "limit"), "500");
  auto jobs = member(r.body, "jobs");
  EXPECT_LT(jobs.find(a2), jobs.find(a1)) << "newest first: " << jobs;
  EXPECT_EQ(jobs.find("payload\""), std::string::npos);
  EXPECT_EQ(occurrences(jobs, R"("payload_size":10)"), 2u) << jobs;
  auto p = call(fn_jobs, R"({"queue":"alpha","state":"dead","offset":1})");
  EXPECT_EQ(member(p.body, "limit"), "50");
  EXPECT_EQ(occurrences(member(p.body, "jobs"), R"("id":)"), 1u);
  for (auto st : {"waiting", "in_flight", "delayed", "held"})
    EXPECT_EQ(member(call(fn_jobs, std::string{R"({"queue":"alpha","state":")"}
                                     + st + R"("})")
                       .body,
                     "total"),
              "0")
      << st;
}

TEST_F(queue_functions_test, the_new_functions_refuse_bad_arguments) {
  for (auto data : {R"({"queue":"alpha"})", R"({"queue":"alpha","state":"x"})",
                    R"({"queue":"alpha","state":3})",
                    R"({"queue":"alpha","state":"dead","limit":-1})",
                    R"({"queue":"alpha","state":"dead","offset":"1"})", "[]"})
    EXPECT_EQ(code(call(fn_jobs, data)), "invalid_argument") << data;
  EXPECT_EQ(code(call(fn_jobs, R"({"state":"dead"})")), "queue_not_set");
  EXPECT_EQ(code(call(fn_job, "{}")), "invalid_argument");
  EXPECT_EQ(code(call(fn_job, R"({"id":5})")), "invalid_argument");
  EXPECT_EQ(code(call(fn_job, R"({"id":"x","queue":1})")), "invalid_argument");
  EXPECT_EQ(code(call(fn_groups, R"({"queue":"alpha"})")), "invalid_argument");
  EXPECT_EQ(code(call(fn_groups, R"({"queue":"alpha","limit":true})")),
            "invalid_argument");
  EXPECT_EQ(code(call(fn_groups, "{}")), "queue_not_set");
  EXPECT_EQ(code(call(fn_pause, "{}")), "queue_not_set");
  EXPECT_EQ(code(call(fn_resume, R"({"queue":"nope"})")), "queue_not_found");
  EXPECT_EQ(code(call(fn_retry_now, R"({"queue":"alpha"})")),
            "invalid_argument");
  EXPECT_EQ(code(call(fn_retry_now, R"({"queue":"alpha","id":[]})")),
            "invalid_argument");
}

TEST_F(queue_functions_test, pause_and_resume_show_in_stats) {
  auto r = call(fn_pause, R"({"queue":"alpha"})");
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_EQ(r.body, R"({"queue":"alpha","paused":true})");
  EXPECT_EQ(member(call(fn_stats, R"({"queue":"alpha"})").body, "paused"),
            "true");
  EXPECT_EQ(member(call(fn_stats, R"({"queue":"beta"})").body, "paused"),
            "false");
  EXPECT_EQ(call(fn_resume, R"({"queue":"alpha"})").body,
            R"({"queue":"alpha","paused":false})");
  EXPECT_EQ(member(call(fn_stats, R"({"queue":"alpha"})").body, "paused"),
            "false");
}

TEST_F(queue_functions_test, retry_now_of_a_job_that_is_not_delayed_is_zero) {
  auto id = dead_job("alpha", "a1");
  EXPECT_EQ(
    call(fn_retry_now, R"({"queue":"alpha","id":")" + id + R"("})").body,
    R"({"queue":"alpha","id":")" + id + R"(","retried":0})");
}

TEST_F(queue_functions_test, dlq_messages_caps_its_limit) {
  for (int i = 0; i < 3; ++i) dead_job("alpha", "a" + std::to_string(i));
  auto r = call(fn_messages, R"({"queue":"alpha","limit":1000000})");
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_EQ(occurrences(r.body, R"("id":)"), 3u);
}

// -- in a cluster -------------------------------------------------------------

namespace {

/// What the fake node actor saw and how its third node answers.
struct fake_cluster {
  std::vector<invoke> fanouts;
  /// Node "c" never answered in time.
  std::string c_error = R"({"code":"timeout","message":"c is slow"})";
};

/// Stands in for the node actor: answers (fanout, invoke) with this node
/// ("a", its queue functions actor `here`), node "b" (the queue functions
/// actor `there`, both asked with localcall as the real nodes are) and a
/// node "c" that failed.
caf::behavior fake_node(caf::event_based_actor* self, caf::actor here,
                        caf::actor there, std::shared_ptr<fake_cluster> fake) {
  using answers = std::vector<protocol::node_answer>;
  return {
    [=](atom::fanout, invoke& x) -> caf::result<answers> {
      fake->fanouts.push_back(x);
      auto rp = self->make_response_promise<answers>();
      self->request(here, caf::infinite, atom::localcall_v, x)
        .await([=](invoke_result& a) mutable {
          self->request(there, caf::infinite, atom::localcall_v, x)
            .await([=](invoke_result& b) mutable {
              rp.deliver(answers{{"a", a.ok, a.body},
                                 {"b", b.ok, b.body},
                                 {"c", false, fake->c_error}});
            });
        });
      return rp;
    },
  };
}

struct queue_functions_cluster_test : queue_functions_test {
  std::shared_ptr<queue_directory> dir_b = std::make_shared<queue_directory>();
  caf::actor functions_b;
  std::shared_ptr<fake_cluster> fake = std::make_shared<fake_cluster>();
  caf::actor node;

  queue_functions_cluster_test() {
    add_queues(*dir_b);
    functions_b = spawn(queue_functions_actor, dir_b);
    node = spawn(fake_node, functions, functions_b, fake);
    caf::anon_send(functions, atom::qcluster_v, node);
    run();
  }

  /// Calls `fn` as a worker does: through the registry.
  invoke_result worker_call(const std::string& fn, const std::string& data) {
    return ask<invoke_result>(registry, invoke{fn, data, {}, {}, {}, 0});
  }

  /// This node's answer only.
  invoke_result local_call(const std::string& fn, const std::string& data) {
    return ask<invoke_result>(functions, atom::localcall_v,
                              invoke{fn, data, {}, {}, {}, 0});
  }

  /// The text of `nodes[i]` in `body` (one object's nodes list).
  static std::string node_at(const std::string& body, size_t i) {
    auto list = member(body, "nodes");
    size_t depth = 0, start = 0, n = 0;
    for (size_t k = 0; k < list.size(); ++k) {
      if (list[k] == '{' && depth++ == 0) start = k;
      if (list[k] == '}' && --depth == 0 && n++ == i)
        return list.substr(start, k - start + 1);
    }
    return {};
  }
};

} // namespace

TEST_F(queue_functions_cluster_test, stats_sums_every_node_and_lists_each) {
  dead_job("alpha", "a1");
  dead_job(*dir_b, "alpha", "b1");
  dead_job(*dir_b, "alpha", "b2");
  auto r = worker_call(fn_stats, R"({"queue":"alpha"})");
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_EQ(member(r.body, "queue"), "alpha");
  EXPECT_EQ(member(r.body, "dlq"), "3");
  EXPECT_EQ(member(r.body, "dead_total"), "3");
  EXPECT_EQ(member(node_at(r.body, 0), "node"), "a");
  EXPECT_EQ(member(node_at(r.body, 0), "dlq"), "1");
  EXPECT_EQ(member(node_at(r.body, 1), "node"), "b");
  EXPECT_EQ(member(node_at(r.body, 1), "dlq"), "2");
  EXPECT_EQ(member(node_at(r.body, 2), "node"), "c");
  EXPECT_EQ(member(member(node_at(r.body, 2), "error"), "code"), "timeout");
  // Every queue, each merged.
  auto all = worker_call(fn_stats, "{}");
  ASSERT_TRUE(all.ok) << all.body;
  EXPECT_EQ(occurrences(all.body, R"("nodes":)"), 2u) << all.body;
  EXPECT_NE(all.body.find(R"("queue":"alpha","waiting":0,"in_flight":0,)"
                          R"("delayed":0,"dlq":3)"),
            std::string::npos)
    << all.body;
}

TEST_F(queue_functions_cluster_test, localcall_answers_for_this_node_only) {
  dead_job("alpha", "a1");
  dead_job(*dir_b, "alpha", "b1");
  auto r = local_call(fn_stats, R"({"queue":"alpha"})");
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_EQ(member(r.body, "dlq"), "1");
  EXPECT_EQ(r.body.find("nodes"), std::string::npos) << r.body;
  EXPECT_TRUE(fake->fanouts.empty());
}

TEST_F(queue_functions_cluster_test, dlq_topics_sum_per_topic) {
  dead_job("beta", "a1");
  dead_job(*dir_b, "beta", "b1");
  auto r = worker_call(fn_topics, "{}");
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_NE(r.body.find(R"({"topic":"beta","broker_type":"builtin",)"
                        R"("message_count":2,"nodes":[)"
                        R"({"node":"a","message_count":1},)"
                        R"({"node":"b","message_count":1},)"
                        R"({"node":"c","error":)"),
            std::string::npos)
    << r.body;
}

TEST_F(queue_functions_cluster_test, dlq_messages_merge_every_nodes_jobs) {
  std::vector<std::string> ids{dead_job("alpha", "a1"),
                               dead_job(*dir_b, "alpha", "b1"),
                               dead_job("alpha", "a2"),
                               dead_job(*dir_b, "alpha", "b2")};
  auto r = worker_call(fn_messages,
                       R"({"queue":"alpha","offset":1,"limit":2})");
  ASSERT_TRUE(r.ok) << r.body;
  ASSERT_EQ(fake->fanouts.size(), 1u);
  EXPECT_EQ(fake->fanouts[0].data, R"({"queue":"alpha","offset":0,"limit":3})")
    << "each node lists its first offset+limit";
  EXPECT_EQ(occurrences(r.body, R"("id":)"), 2u) << r.body;
  EXPECT_EQ(occurrences(r.body, R"("node":"a")")
              + occurrences(r.body, R"("node":"b")"),
            2u)
    << r.body;
  auto every = worker_call(fn_messages, R"({"queue":"alpha"})").body;
  for (auto& id : ids) EXPECT_NE(every.find(id), std::string::npos) << id;
  // Newest first across the nodes.
  std::vector<int64_t> times;
  for (auto at = every.find(R"("failed_at":)"); at != std::string::npos;
       at = every.find(R"("failed_at":)", at + 1))
    times.push_back(std::stoll(every.substr(at + 12)));
  ASSERT_EQ(times.size(), 4u) << every;
  EXPECT_TRUE(std::is_sorted(times.rbegin(), times.rend())) << every;
}

TEST_F(queue_functions_cluster_test, redrive_message_finds_the_job_anywhere) {
  auto b1 = dead_job(*dir_b, "alpha", "b1");
  script->decide = [](const seen_call&) { return answer::ok; };
  auto data = R"({"queue":"alpha","message_id":")" + b1 + R"("})";
  auto r = worker_call(fn_redrive_message, data);
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_EQ(member(r.body, "redriven"), "1");
  EXPECT_EQ(member(node_at(r.body, 0), "redriven"), "0");
  EXPECT_EQ(member(node_at(r.body, 1), "node"), "b");
  EXPECT_EQ(member(node_at(r.body, 1), "redriven"), "1");
  advance(1s);
  EXPECT_EQ(member(local_call(fn_stats, R"({"queue":"alpha"})").body, "dlq"),
            "0");
  EXPECT_EQ(member(worker_call(fn_redrive_message, data).body, "redriven"),
            "0");
}

TEST_F(queue_functions_cluster_test, discard_and_redrive_reach_every_node) {
  auto b1 = dead_job(*dir_b, "alpha", "b1");
  dead_job(*dir_b, "alpha", "b2");
  dead_job("alpha", "a1");
  auto data = R"({"queue":"alpha","message_id":")" + b1 + R"("})";
  EXPECT_EQ(member(worker_call(fn_discard_message, data).body, "discarded"),
            "1");
  auto r = worker_call(fn_redrive, R"({"queue":"alpha"})");
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_EQ(member(r.body, "redriven"), "2");
  EXPECT_EQ(member(node_at(r.body, 0), "redriven"), "1");
  EXPECT_EQ(member(node_at(r.body, 1), "redriven"), "1");
}

TEST_F(queue_functions_cluster_test, bad_calls_are_refused_without_asking) {
  EXPECT_EQ(code(worker_call(fn_redrive, "{}")), "queue_not_set");
  EXPECT_EQ(code(worker_call(fn_stats, R"({"queue":5})")), "invalid_argument");
  EXPECT_EQ(code(worker_call(fn_messages, R"({"queue":"nope"})")),
            "queue_not_found");
  EXPECT_EQ(code(worker_call(fn_discard_message, R"({"queue":"alpha"})")),
            "message_id_not_set");
  EXPECT_TRUE(fake->fanouts.empty());
}

TEST_F(queue_functions_cluster_test, a_lost_node_actor_is_an_error) {
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  run();
  auto r = worker_call(fn_stats, R"({"queue":"alpha"})");
  EXPECT_FALSE(r.ok) << r.body;
  EXPECT_EQ(code(r), "invocation_stopped");
}

TEST_F(queue_functions_cluster_test, job_is_found_on_its_node) {
  auto b1 = dead_job(*dir_b, "alpha", "b1");
  auto r = worker_call(fn_job, R"({"id":")" + b1 + R"("})");
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_EQ(member(r.body, "id"), b1);
  EXPECT_EQ(member(r.body, "node"), "b");
  EXPECT_EQ(member(r.body, "payload"), R"({"n":"b1"})");
  auto missing = worker_call(fn_job, R"({"id":"nope"})");
  EXPECT_EQ(code(missing), "job_not_found");
  // Node c timed out: the message says so.
  EXPECT_NE(member(missing.body, "message").find("c"), std::string::npos);
}

TEST_F(queue_functions_cluster_test, jobs_merge_every_node_with_node_on_each) {
  dead_job("alpha", "a1");
  dead_job(*dir_b, "alpha", "b1");
  dead_job(*dir_b, "alpha", "b2");
  auto r = worker_call(fn_jobs, R"({"queue":"alpha","state":"dead","offset":1,)"
                                R"("limit":5000})");
  ASSERT_TRUE(r.ok) << r.body;
  ASSERT_EQ(fake->fanouts.size(), 1u);
  EXPECT_EQ(fake->fanouts[0].data,
            R"({"queue":"alpha","state":"dead","offset":0,"limit":501})");
  EXPECT_EQ(member(r.body, "total"), "3");
  EXPECT_EQ(member(r.body, "limit"), "500");
  auto jobs = member(r.body, "jobs");
  EXPECT_EQ(occurrences(jobs, R"("id":)"), 2u) << jobs;
  EXPECT_EQ(occurrences(jobs, R"("node":)"), 2u) << jobs;
  EXPECT_EQ(member(node_at(r.body, 0), "total"), "1");
  EXPECT_EQ(member(node_at(r.body, 1), "total"), "2");
  EXPECT_EQ(member(member(node_at(r.body, 2), "error"), "code"), "timeout");
}

TEST_F(queue_functions_cluster_test, pause_applies_on_every_node) {
  auto r = worker_call(fn_pause, R"({"queue":"beta"})");
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_EQ(member(r.body, "paused"), "true");
  EXPECT_EQ(member(node_at(r.body, 0), "paused"), "true");
  EXPECT_EQ(member(node_at(r.body, 1), "node"), "b");
  EXPECT_EQ(member(node_at(r.body, 1), "paused"), "true");
  auto b = ask<invoke_result>(functions_b, atom::localcall_v,
                              invoke{fn_stats, R"({"queue":"beta"})"});
  EXPECT_EQ(member(b.body, "paused"), "true");
  auto s = worker_call(fn_stats, R"({"queue":"beta"})");
  EXPECT_EQ(member(s.body, "paused"), "true");
  worker_call(fn_resume, R"({"queue":"beta"})");
  b = ask<invoke_result>(functions_b, atom::localcall_v,
                         invoke{fn_stats, R"({"queue":"beta"})"});
  EXPECT_EQ(member(b.body, "paused"), "false");
}

TEST_F(queue_functions_cluster_test, retry_now_and_groups_in_a_cluster) {
  auto r = worker_call(fn_retry_now, R"({"queue":"alpha","id":"x"})");
  ASSERT_TRUE(r.ok) << r.body;
  EXPECT_EQ(member(r.body, "retried"), "0");
  EXPECT_EQ(member(node_at(r.body, 1), "retried"), "0");
  auto before = fake->fanouts.size();
  EXPECT_EQ(code(worker_call(fn_groups, R"({"queue":"alpha"})")),
            "invalid_argument");
  EXPECT_EQ(code(worker_call(fn_jobs, R"({"queue":"alpha","state":"?"})")),
            "invalid_argument");
  EXPECT_EQ(fake->fanouts.size(), before) << "refused without asking";
}

TEST_F(queue_functions_cluster_test, dlq_messages_caps_the_limit_it_fans_out) {
  worker_call(fn_messages, R"({"queue":"alpha","offset":10,"limit":9999})");
  ASSERT_EQ(fake->fanouts.size(), 1u);
  EXPECT_EQ(fake->fanouts[0].data,
            R"({"queue":"alpha","offset":0,"limit":510})");
}
