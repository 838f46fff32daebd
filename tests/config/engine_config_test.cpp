// Tests for config/engine_config: parsing, ${VAR} substitution, every
// validation error with its exact FILE:LINE:COL prefix, and the retry maths.
#include "troupe/config.hpp"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include "base/errc.hpp"
#include "base/worker_access.hpp"

using namespace troupe;

namespace {

constexpr uint64_t max_u64 = std::numeric_limits<uint64_t>::max();

/// An environment holding exactly `vars`.
env_lookup fake_env(std::map<std::string, std::string> vars = {}) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    if (auto i = vars.find(name); i != vars.end()) return i->second;
    return std::nullopt;
  };
}

caf::expected<engine_config> parse(const std::string& text,
                                   const env_lookup& env = fake_env()) {
  return parse_engine_config(text, "t.yaml", env);
}

/// The message string a bad_config error carries.
std::string message_of(const caf::error& err) {
  const auto& ctx = err.context();
  if (!ctx.match_elements<std::string>())
    return "<no string context: " + caf::to_string(ctx) + ">";
  return ctx.get_as<std::string>(0);
}

/// Checks that `result` failed with errc::bad_config, a message starting with
/// `prefix` (`FILE:LINE:COL:`) and containing each of `words`.
testing::AssertionResult fails_with(const caf::expected<engine_config>& result,
                                    const std::string& prefix,
                                    std::initializer_list<std::string> words) {
  if (result) return testing::AssertionFailure() << "parsed without error";
  if (result.error() != errc::bad_config)
    return testing::AssertionFailure()
           << "wrong error: " << caf::to_string(result.error());
  auto msg = message_of(result.error());
  if (msg.compare(0, prefix.size(), prefix) != 0)
    return testing::AssertionFailure()
           << "message '" << msg << "' does not start with '" << prefix << "'";
  for (const auto& word : words)
    if (msg.find(word) == std::string::npos)
      return testing::AssertionFailure()
             << "message '" << msg << "' lacks '" << word << "'";
  return testing::AssertionSuccess() << msg;
}

/// A file with one iii-queue worker configuring `queues` (indented 6).
std::string with_queues(const std::string& queues) {
  return "workers:\n"
         "  - name: iii-queue\n"
         "    config:\n"
         "      queue_configs:\n"
         + queues;
}

const char* seed_config = R"(workers:
  - name: iii-worker-manager
    config: { host: 127.0.0.1, port: 49134 }
  - name: iii-http
    config: { host: 127.0.0.1, port: 3111, default_timeout: 30000 }
  - name: iii-queue
    config:
      queue_configs:
        default: { max_retries: 5, concurrency: 10, type: standard }
        payment: { max_retries: 10, concurrency: 2, type: fifo, message_group_field: orderId }
        email:   { max_retries: 8, backoff_ms: 2000, concurrency: 5, type: standard }
      adapter:
        name: builtin
        config: { store_method: file_based, file_path: ./data/queue_store }
)";

queue_config queue_with(uint64_t backoff_ms,
                        std::optional<uint64_t> max_backoff_ms = {}) {
  queue_config q;
  q.backoff_ms = backoff_ms;
  q.max_backoff_ms = max_backoff_ms;
  return q;
}

} // namespace

// -- defaults -----------------------------------------------------------------

TEST(engine_config, defaults_listen_on_localhost_with_one_default_queue) {
  auto cfg = default_engine_config();
  EXPECT_EQ(cfg.source, "(defaults)");
  EXPECT_EQ(cfg.worker_manager.host, "127.0.0.1");
  EXPECT_EQ(cfg.worker_manager.port, 49134);
  EXPECT_EQ(cfg.worker_manager.max_frame_bytes, 4u * 1024 * 1024);
  EXPECT_EQ(cfg.worker_manager.invocation_timeout_ms, 300000u);
  EXPECT_TRUE(cfg.http.enabled);
  EXPECT_EQ(cfg.http.host, "127.0.0.1");
  EXPECT_EQ(cfg.http.port, 3111);
  EXPECT_EQ(cfg.http.default_timeout_ms, 30000u);
  EXPECT_EQ(cfg.http.max_body_bytes, 1024u * 1024);
  ASSERT_EQ(cfg.queue.queues.size(), 1u);
  const auto& q = cfg.queue.queues[0];
  EXPECT_EQ(q.name, "default");
  EXPECT_EQ(q.max_retries, 3u);
  EXPECT_EQ(q.concurrency, 10u);
  EXPECT_EQ(q.type, queue_type::standard);
  EXPECT_EQ(q.message_group_field, "");
  EXPECT_EQ(q.backoff_ms, 1000u);
  EXPECT_EQ(q.poll_interval_ms, 100u);
  EXPECT_EQ(q.timeout_ms, 30000u);
  EXPECT_FALSE(q.max_backoff_ms);
  EXPECT_EQ(cfg.queue.store, store_method::in_memory);
  EXPECT_EQ(cfg.queue.max_payload_bytes, 1024u * 1024);
  EXPECT_FALSE(cfg.cluster.enabled);
}

TEST(engine_config, empty_file_or_document_means_defaults) {
  for (auto text : {"", "# only a comment\n", "---\n", "{}\n"}) {
    auto cfg = parse(text);
    ASSERT_TRUE(cfg) << text << ": " << message_of(cfg.error());
    EXPECT_EQ(cfg->source, "t.yaml");
    EXPECT_TRUE(cfg->http.enabled);
    ASSERT_EQ(cfg->queue.queues.size(), 1u);
    EXPECT_EQ(cfg->queue.queues[0].name, "default");
  }
}

TEST(engine_config, seed_config_parses_into_its_values) {
  auto cfg = parse(seed_config);
  ASSERT_TRUE(cfg) << message_of(cfg.error());
  EXPECT_EQ(cfg->worker_manager.host, "127.0.0.1");
  EXPECT_EQ(cfg->worker_manager.port, 49134);
  EXPECT_TRUE(cfg->http.enabled);
  EXPECT_EQ(cfg->http.port, 3111);
  EXPECT_EQ(cfg->http.default_timeout_ms, 30000u);
  ASSERT_EQ(cfg->queue.queues.size(), 3u);
  auto def = cfg->find_queue("default");
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->max_retries, 5u);
  EXPECT_EQ(def->concurrency, 10u);
  EXPECT_EQ(def->type, queue_type::standard);
  auto payment = cfg->find_queue("payment");
  ASSERT_NE(payment, nullptr);
  EXPECT_EQ(payment->max_retries, 10u);
  EXPECT_EQ(payment->concurrency, 2u);
  EXPECT_EQ(payment->type, queue_type::fifo);
  EXPECT_EQ(payment->message_group_field, "orderId");
  EXPECT_EQ(payment->backoff_ms, 1000u);
  auto email = cfg->find_queue("email");
  ASSERT_NE(email, nullptr);
  EXPECT_EQ(email->max_retries, 8u);
  EXPECT_EQ(email->backoff_ms, 2000u);
  EXPECT_EQ(email->concurrency, 5u);
  EXPECT_EQ(email->timeout_ms, 30000u);
  EXPECT_EQ(cfg->queue.store, store_method::file_based);
  EXPECT_EQ(cfg->queue.file_path, "./data/queue_store");
  EXPECT_FALSE(cfg->cluster.enabled);
  EXPECT_EQ(cfg->find_queue("nope"), nullptr);
}

TEST(engine_config, every_field_is_read) {
  auto cfg = parse(R"(workers:
  - name: iii-worker-manager
    config: { host: 0.0.0.0, port: 0, max_frame_bytes: 10,
              invocation_timeout_ms: 20 }
  - name: iii-http
    config: { host: ::1, port: 65535, default_timeout: 7, max_body_bytes: 8 }
  - name: iii-queue
    config:
      max_payload_bytes: 99
      queue_configs:
        q: { max_retries: 0, concurrency: 1, type: fifo,
             message_group_field: g, backoff_ms: 0, poll_interval_ms: 0,
             timeout_ms: 1, max_backoff_ms: 5 }
  - name: troupe-cluster
    config: { host: 10.0.0.1, port: 4000, seeds: ["a:1", "[::1]:65535"] }
)");
  ASSERT_TRUE(cfg) << message_of(cfg.error());
  EXPECT_EQ(cfg->worker_manager.host, "0.0.0.0");
  EXPECT_EQ(cfg->worker_manager.port, 0);
  EXPECT_EQ(cfg->worker_manager.max_frame_bytes, 10u);
  EXPECT_EQ(cfg->worker_manager.invocation_timeout_ms, 20u);
  EXPECT_EQ(cfg->http.host, "::1");
  EXPECT_EQ(cfg->http.port, 65535);
  EXPECT_EQ(cfg->http.default_timeout_ms, 7u);
  EXPECT_EQ(cfg->http.max_body_bytes, 8u);
  EXPECT_EQ(cfg->queue.max_payload_bytes, 99u);
  EXPECT_EQ(cfg->queue.store, store_method::in_memory);
  ASSERT_EQ(cfg->queue.queues.size(), 2u);
  const auto& q = cfg->queue.queues[0];
  EXPECT_EQ(q.name, "q");
  EXPECT_EQ(q.max_retries, 0u);
  EXPECT_EQ(max_attempts(q), 1u);
  EXPECT_EQ(q.concurrency, 1u);
  EXPECT_EQ(q.backoff_ms, 0u);
  EXPECT_EQ(q.poll_interval_ms, 0u);
  EXPECT_EQ(q.timeout_ms, 1u);
  EXPECT_EQ(q.max_backoff_ms, 5u);
  EXPECT_EQ(cfg->queue.queues[1].name, "default");
  EXPECT_TRUE(cfg->cluster.enabled);
  EXPECT_EQ(cfg->cluster.host, "10.0.0.1");
  EXPECT_EQ(cfg->cluster.port, 4000);
  EXPECT_EQ(cfg->cluster.seeds,
            (std::vector<std::string>{"a:1", "[::1]:65535"}));
}

TEST(engine_config, http_is_enabled_only_when_listed) {
  auto without = parse("workers:\n  - name: iii-queue\n");
  ASSERT_TRUE(without);
  EXPECT_FALSE(without->http.enabled);
  auto empty_list = parse("workers: []\n");
  ASSERT_TRUE(empty_list);
  EXPECT_FALSE(empty_list->http.enabled);
  auto with = parse("workers:\n  - name: iii-http\n");
  ASSERT_TRUE(with);
  EXPECT_TRUE(with->http.enabled);
  EXPECT_EQ(with->http.port, 3111);
}

TEST(engine_config, absent_workers_keep_their_defaults) {
  auto cfg = parse("workers:\n  - name: iii-http\n    config: { port: 1 }\n");
  ASSERT_TRUE(cfg);
  EXPECT_EQ(cfg->worker_manager.port, 49134);
  EXPECT_EQ(cfg->queue.queues.size(), 1u);
  EXPECT_FALSE(cfg->cluster.enabled);
  auto cluster = parse("workers:\n  - name: troupe-cluster\n");
  ASSERT_TRUE(cluster);
  EXPECT_TRUE(cluster->cluster.enabled);
  EXPECT_EQ(cluster->cluster.port, 0);
}

TEST(engine_config, default_queue_is_added_when_not_configured) {
  auto cfg = parse(with_queues("        jobs: {}\n"));
  ASSERT_TRUE(cfg) << message_of(cfg.error());
  ASSERT_EQ(cfg->queue.queues.size(), 2u);
  EXPECT_EQ(cfg->queue.queues[0].name, "jobs");
  auto def = cfg->find_queue("default");
  ASSERT_NE(def, nullptr);
  EXPECT_EQ(def->max_retries, 3u);
  EXPECT_EQ(def->concurrency, 10u);
}

TEST(engine_config, queue_names_may_use_letters_digits_and_punctuation) {
  auto name128 = std::string(128, 'q');
  auto cfg = parse(
    with_queues("        a-b_c.d:e9: {}\n        " + name128 + ": {}\n"));
  ASSERT_TRUE(cfg) << message_of(cfg.error());
  EXPECT_NE(cfg->find_queue("a-b_c.d:e9"), nullptr);
  EXPECT_NE(cfg->find_queue(name128), nullptr);
}

// -- ${VAR} substitution ------------------------------------------------------

TEST(engine_config, env_variables_are_substituted) {
  auto env = fake_env({{"PORT", "4000"}, {"HOST", "10.1.1.1"}});
  auto cfg = parse("workers:\n  - name: iii-http\n"
                   "    config: { host: ${HOST}, port: ${PORT:1} }\n",
                   env);
  ASSERT_TRUE(cfg) << message_of(cfg.error());
  EXPECT_EQ(cfg->http.host, "10.1.1.1");
  EXPECT_EQ(cfg->http.port, 4000);
}

TEST(engine_config, unset_env_variables_take_their_default) {
  auto cfg = parse("workers:\n  - name: iii-http\n"
                   "    config: { port: ${PORT:3000} }\n"
                   "  - name: iii-queue\n    config:\n      adapter:\n"
                   "        name: builtin\n"
                   "        config: { store_method: file_based,\n"
                   "                  file_path: '${DIR:/a:b:c}' }\n");
  ASSERT_TRUE(cfg) << message_of(cfg.error());
  EXPECT_EQ(cfg->http.port, 3000);
  EXPECT_EQ(cfg->queue.file_path, "/a:b:c");
}

TEST(engine_config, set_but_empty_env_variable_is_used) {
  auto cfg = parse("workers:\n  - name: iii-queue${SUFFIX:-x}\n",
                   fake_env({{"SUFFIX", ""}}));
  ASSERT_TRUE(cfg) << message_of(cfg.error());
}

TEST(engine_config, unset_env_variable_without_default_is_an_error) {
  EXPECT_TRUE(fails_with(parse("workers:\n  - name: iii-http\n"
                               "    config: { port: ${HTTP_PORT} }\n"),
                         "t.yaml:3:21: ",
                         {"environment variable 'HTTP_PORT' is not set and "
                          "has no default"}));
}

TEST(engine_config, malformed_env_references_are_errors) {
  EXPECT_TRUE(fails_with(parse("a: 1\nb: ${OOPS\n"),
                         "t.yaml:2:4: ", {"'${'", "closing '}'"}));
  EXPECT_TRUE(
    fails_with(parse("a: ${:x}\n"), "t.yaml:1:4: ", {"names no variable"}));
}

TEST(engine_config, errors_after_a_substitution_point_into_the_file) {
  // ${HOST} expands to a longer text; the column of `-1` is the file's.
  auto env = fake_env({{"HOST", "0000:0000:0000:0000:0000:0000:0000:0001"}});
  EXPECT_TRUE(fails_with(parse("workers:\n  - name: iii-http\n"
                               "    config: { host: ${HOST}, port: -1 }\n",
                               env),
                         "t.yaml:3:36: ", {"'port'", "'-1'"}));
}

TEST(engine_config, env_lookup_exceptions_become_errors) {
  env_lookup throwing = [](const std::string&) -> std::optional<std::string> {
    throw std::runtime_error("boom");
  };
  EXPECT_TRUE(fails_with(parse("a: ${X}\n", throwing),
                         "t.yaml: ", {"cannot parse", "boom"}));
}

// -- iii's validation texts ---------------------------------------------------

TEST(engine_config, invalid_queue_type_uses_iii_text) {
  EXPECT_TRUE(fails_with(parse(with_queues("        jobs: { type: lifo }\n")),
                         "t.yaml:5:23: ",
                         {"Queue 'jobs' has invalid type 'lifo'. Must be "
                          "'standard' or 'fifo'"}));
}

TEST(engine_config, fifo_without_group_field_uses_iii_text) {
  EXPECT_TRUE(fails_with(parse(with_queues("        jobs: { type: fifo }\n")),
                         "t.yaml:5:9: ",
                         {"Queue 'jobs' is of type 'fifo' but "
                          "'message_group_field' is not set"}));
}

TEST(engine_config, zero_concurrency_uses_iii_text) {
  EXPECT_TRUE(fails_with(
    parse(with_queues("        jobs: { concurrency: 0 }\n")), "t.yaml:5:30: ",
    {"Queue 'jobs' has 'concurrency' 0; it must be at least 1"}));
}

TEST(engine_config, group_field_on_standard_queue_is_an_error) {
  EXPECT_TRUE(fails_with(
    parse(with_queues("        jobs:\n"
                      "          message_group_field: g\n")),
    "t.yaml:6:11: ",
    {"Queue 'jobs'", "'message_group_field'", "'standard'", "fifo"}));
}

// -- queue fields -------------------------------------------------------------

TEST(engine_config, bad_queue_names_are_errors) {
  EXPECT_TRUE(fails_with(
    parse(with_queues("        'a b': {}\n")),
    "t.yaml:5:9: ", {"queue name", "'a b'", "1 to 128", "'-', '_', '.'"}));
  EXPECT_TRUE(fails_with(parse(with_queues("        '': {}\n")),
                         "t.yaml:5:9: ", {"queue name", "invalid"}));
  EXPECT_TRUE(fails_with(
    parse(with_queues("        " + std::string(129, 'q') + ": {}\n")),
    "t.yaml:5:9: ", {"queue name", "1 to 128"}));
  EXPECT_TRUE(fails_with(parse(with_queues("        jobs: {}\n"
                                           "        jobs: {}\n")),
                         "t.yaml:6:9: ", {"queue 'jobs'", "twice"}));
}

TEST(engine_config, queue_timeouts_must_be_positive) {
  EXPECT_TRUE(fails_with(parse(with_queues("        j: { timeout_ms: 0 }\n")),
                         "t.yaml:5:26: ", {"'timeout_ms'", ">= 1", "'0'"}));
  EXPECT_TRUE(
    fails_with(parse(with_queues("        j: { max_backoff_ms: 0 }\n")),
               "t.yaml:5:30: ", {"'max_backoff_ms'", ">= 1"}));
}

TEST(engine_config, unknown_queue_field_is_an_error) {
  EXPECT_TRUE(fails_with(parse(with_queues("        j: { retries: 3 }\n")),
                         "t.yaml:5:14: ",
                         {"unknown key 'retries'", "queue 'j'", "max_retries",
                          "message_group_field", "max_backoff_ms"}));
}

TEST(engine_config, queue_configs_must_be_a_map) {
  EXPECT_TRUE(fails_with(parse(with_queues("        - a\n")),
                         "t.yaml:5:9: ", {"'queue_configs'", "map", "a list"}));
}

// -- integers -----------------------------------------------------------------

TEST(engine_config, integers_must_be_plain_non_negative_numbers) {
  auto http = [](const std::string& port) {
    return parse(
      "workers:\n  - name: iii-http\n    config:\n      port: " + port + "\n");
  };
  for (auto bad : {"-1", "1.5", "abc", "true", "0x10", "70000", "1e3"})
    EXPECT_TRUE(fails_with(http(bad), "t.yaml:4:13: ",
                           {"'port' must be an integer from 0 to 65535",
                            std::string{"got '"} + bad + "'"}));
  EXPECT_TRUE(fails_with(http("\"3111\""),
                         "t.yaml:4:13: ", {"'port'", "'3111' (quoted)"}));
  EXPECT_TRUE(fails_with(http("[1]"), "t.yaml:4:13: ", {"'port'", "a list"}));
  // An empty value points at its key.
  EXPECT_TRUE(fails_with(http(""), "t.yaml:4:7: ", {"'port'", "no value"}));
  EXPECT_TRUE(
    fails_with(parse(with_queues("        j: { backoff_ms: "
                                 "99999999999999999999999 }\n")),
               "t.yaml:5:26: ", {"'backoff_ms'", "non-negative integer"}));
  EXPECT_TRUE(
    fails_with(parse(with_queues("        j: { max_retries: 4294967296 }\n")),
               "t.yaml:5:27: ",
               {"'max_retries'", "from 0 to 4294967295", "'4294967296'"}));
}

TEST(engine_config, byte_limits_and_timeouts_must_be_positive) {
  EXPECT_TRUE(fails_with(parse("workers:\n  - name: iii-http\n"
                               "    config: { default_timeout: 0 }\n"),
                         "t.yaml:3:32: ", {"'default_timeout'", ">= 1"}));
  EXPECT_TRUE(fails_with(parse("workers:\n  - name: iii-worker-manager\n"
                               "    config: { max_frame_bytes: 0 }\n"),
                         "t.yaml:3:32: ", {"'max_frame_bytes'", "from 1 to"}));
  EXPECT_TRUE(
    fails_with(parse("workers:\n  - name: iii-queue\n"
                     "    config: { max_payload_bytes: 0 }\n"),
               "t.yaml:3:34: ", {"'max_payload_bytes'", "from 1 to"}));
}

// -- structure ----------------------------------------------------------------

TEST(engine_config, unknown_top_level_key_is_an_error) {
  EXPECT_TRUE(fails_with(parse("workers: []\nmodules: []\n"), "t.yaml:2:1: ",
                         {"unknown key 'modules'", "the top level",
                          "allowed keys: workers"}));
}

TEST(engine_config, top_level_must_be_a_map) {
  EXPECT_TRUE(fails_with(parse("\n- workers\n"), "t.yaml:2:1: ",
                         {"the top level must be a map", "a list"}));
  EXPECT_TRUE(fails_with(parse("hello\n"), "t.yaml:1:1: ",
                         {"the top level must be a map", "'hello'"}));
}

TEST(engine_config, workers_must_be_a_list_of_maps) {
  EXPECT_TRUE(
    fails_with(parse("workers: { name: iii-http }\n"),
               "t.yaml:1:10: ", {"'workers' must be a list", "a map"}));
  EXPECT_TRUE(fails_with(parse("workers:\n  - iii-http\n"), "t.yaml:2:5: ",
                         {"a worker entry must be a map", "'iii-http'"}));
  EXPECT_TRUE(fails_with(parse("workers:\n  - config: {}\n"),
                         "t.yaml:2:5: ", {"needs a 'name'", "iii-http"}));
  EXPECT_TRUE(fails_with(
    parse("workers:\n  - name: iii-http\n    port: 1\n"),
    "t.yaml:3:5: ", {"unknown key 'port'", "worker entry", "name, config"}));
  EXPECT_TRUE(
    fails_with(parse("workers:\n  - name: iii-http\n    config: 5\n"),
               "t.yaml:3:13: ", {"the iii-http config must be a map", "'5'"}));
}

TEST(engine_config, unknown_worker_is_an_error) {
  EXPECT_TRUE(fails_with(parse("workers:\n  - name: iii-stream\n"),
                         "t.yaml:2:11: ",
                         {"unknown worker 'iii-stream'", "iii-worker-manager",
                          "iii-http", "iii-queue", "troupe-cluster",
                          "troupe-admin"}));
}

TEST(engine_config, duplicate_worker_is_an_error) {
  EXPECT_TRUE(fails_with(
    parse("workers:\n  - name: iii-http\n"
          "  - name: iii-queue\n  - name: iii-http\n"),
    "t.yaml:4:11: ", {"worker 'iii-http' is listed twice", "first at 2:11"}));
}

TEST(engine_config, duplicate_key_is_an_error) {
  EXPECT_TRUE(fails_with(
    parse("workers:\n  - name: iii-http\n"
          "    config: { port: 1, port: 2 }\n"),
    "t.yaml:3:24: ", {"key 'port' appears twice", "iii-http config"}));
}

TEST(engine_config, unknown_worker_config_key_is_an_error) {
  EXPECT_TRUE(fails_with(parse("workers:\n  - name: iii-http\n"
                               "    config: { host: 0.0.0.0, cors: yes }\n"),
                         "t.yaml:3:30: ",
                         {"unknown key 'cors'", "the iii-http config",
                          "host, port, default_timeout, max_body_bytes"}));
}

TEST(engine_config, strings_must_be_non_empty_scalars) {
  EXPECT_TRUE(fails_with(
    parse("workers:\n  - name: iii-http\n"
          "    config: { host: [a] }\n"),
    "t.yaml:3:21: ", {"'host' must be a non-empty string", "a list"}));
  EXPECT_TRUE(fails_with(parse("workers:\n  - name: ''\n"), "t.yaml:2:11: ",
                         {"'name' must be a non-empty string"}));
}

// -- adapter ------------------------------------------------------------------

std::string with_adapter(const std::string& adapter) {
  return "workers:\n"
         "  - name: iii-queue\n"
         "    config:\n"
         "      adapter:\n"
         + adapter;
}

TEST(engine_config, file_based_store_needs_a_file_path) {
  EXPECT_TRUE(
    fails_with(parse(with_adapter("        name: builtin\n"
                                  "        config:\n"
                                  "          store_method: "
                                  "file_based\n")),
               "t.yaml:7:25: ", {"store_method 'file_based'", "'file_path'"}));
  EXPECT_TRUE(
    fails_with(parse(with_adapter("        name: builtin\n"
                                  "        config: { store_method: file_based, "
                                  "file_path: '' }\n")),
               "t.yaml:6:56: ", {"'file_path' must be a non-empty string"}));
}

TEST(engine_config, only_the_builtin_adapter_is_supported) {
  EXPECT_TRUE(fails_with(
    parse(with_adapter("        name: redis\n")), "t.yaml:5:15: ",
    {"adapter 'redis' is not supported", "only 'builtin' is supported"}));
  EXPECT_TRUE(fails_with(parse(with_adapter("        config: {}\n")),
                         "t.yaml:5:9: ", {"needs a 'name'", "only 'builtin'"}));
}

TEST(engine_config, bad_store_method_and_adapter_keys_are_errors) {
  EXPECT_TRUE(fails_with(parse(with_adapter("        name: builtin\n"
                                            "        config: { store_method: "
                                            "sqlite }\n")),
                         "t.yaml:6:33: ",
                         {"'store_method' must be 'in_memory' or "
                          "'file_based'",
                          "'sqlite'"}));
  EXPECT_TRUE(fails_with(parse(with_adapter("        name: builtin\n"
                                            "        config: { url: x }\n")),
                         "t.yaml:6:19: ",
                         {"unknown key 'url'", "adapter config",
                          "store_method, file_path"}));
  EXPECT_TRUE(fails_with(
    parse(with_adapter("        name: builtin\n"
                       "        store: x\n")),
    "t.yaml:6:9: ", {"unknown key 'store'", "the iii-queue adapter"}));
}

// -- cluster ------------------------------------------------------------------

TEST(engine_config, seeds_must_be_host_port_strings) {
  auto seeds = [](const std::string& list) {
    return parse("workers:\n  - name: troupe-cluster\n    config:\n"
                 "      seeds: "
                 + list + "\n");
  };
  for (auto bad : {"host", ":1", "h:0", "h:70000", "h:x"})
    EXPECT_TRUE(fails_with(seeds(std::string{"[\""} + bad + "\"]"),
                           "t.yaml:4:15: ",
                           {"'seeds' must be a list of 'host:port' strings",
                            "1 to 65535", std::string{"got '"} + bad + "'"}));
  EXPECT_TRUE(fails_with(seeds("[a:1, [x]]"), "t.yaml:4:20: ",
                         {"'seeds' must be a list", "got a list"}));
  EXPECT_TRUE(fails_with(
    seeds("a:1"), "t.yaml:4:14: ", {"'seeds' must be a list", "got 'a:1'"}));
}

namespace {

/// A file with one troupe-cluster worker whose config is `body`: lines
/// indented 6, the first of them on line 4.
caf::expected<engine_config> cluster_with(const std::string& body) {
  return parse("workers:\n  - name: troupe-cluster\n    config:\n" + body);
}

} // namespace

TEST(engine_config, cluster_defaults_name_and_advertise_to_host_port) {
  auto cfg = cluster_with("      port: 4000\n");
  ASSERT_TRUE(cfg) << message_of(cfg.error());
  const auto& c = cfg->cluster;
  EXPECT_EQ(c.host, "127.0.0.1");
  EXPECT_EQ(c.name, "127.0.0.1:4000");
  EXPECT_EQ(c.advertise, "127.0.0.1:4000");
  EXPECT_EQ(c.heartbeat_ms, 1000u);
  EXPECT_EQ(c.peer_timeout_ms, 5000u);
  EXPECT_EQ(c.cookie, "");
  EXPECT_TRUE(c.seeds.empty());
}

TEST(engine_config, cluster_defaults_bracket_an_ipv6_host) {
  auto cfg = cluster_with("      host: ::1\n      port: 4000\n");
  ASSERT_TRUE(cfg) << message_of(cfg.error());
  EXPECT_EQ(cfg->cluster.name, "[::1]:4000");
  EXPECT_EQ(cfg->cluster.advertise, "[::1]:4000");
}

TEST(engine_config, cluster_port_zero_leaves_name_and_advertise_to_the_node) {
  auto cfg = cluster_with("      port: 0\n");
  ASSERT_TRUE(cfg) << message_of(cfg.error());
  EXPECT_EQ(cfg->cluster.port, 0);
  EXPECT_EQ(cfg->cluster.name, "");
  EXPECT_EQ(cfg->cluster.advertise, "");
  auto named = cluster_with("      name: n1\n      advertise: h:9\n");
  ASSERT_TRUE(named) << message_of(named.error());
  EXPECT_EQ(named->cluster.name, "n1");
  EXPECT_EQ(named->cluster.advertise, "h:9");
}

TEST(engine_config, every_cluster_field_is_read) {
  auto cfg = cluster_with("      host: 10.0.0.1\n"
                          "      port: 4000\n"
                          "      name: node-a\n"
                          "      advertise: a.example:4100\n"
                          "      seeds: [\"b:1\"]\n"
                          "      heartbeat_ms: 50\n"
                          "      peer_timeout_ms: 100\n"
                          "      cookie: s3cret\n");
  ASSERT_TRUE(cfg) << message_of(cfg.error());
  const auto& c = cfg->cluster;
  EXPECT_EQ(c.name, "node-a");
  EXPECT_EQ(c.advertise, "a.example:4100");
  EXPECT_EQ(c.seeds, std::vector<std::string>{"b:1"});
  EXPECT_EQ(c.heartbeat_ms, 50u);
  EXPECT_EQ(c.peer_timeout_ms, 100u);
  EXPECT_EQ(c.cookie, "s3cret");
}

TEST(engine_config, wildcard_cluster_host_needs_name_and_advertise) {
  for (auto host : {"0.0.0.0", "'::'"}) {
    auto base = std::string{"      host: "} + host + "\n      port: 4000\n";
    EXPECT_TRUE(fails_with(
      cluster_with(base),
      "t.yaml:4:13: ", {"listens on every interface", "'name' is required"}));
    EXPECT_TRUE(
      fails_with(cluster_with(base + "      name: a\n"), "t.yaml:4:13: ",
                 {"listens on every interface", "'advertise' is required"}));
    auto cfg = cluster_with(base + "      name: a\n      advertise: h:1\n");
    ASSERT_TRUE(cfg) << message_of(cfg.error());
    EXPECT_EQ(cfg->cluster.name, "a");
    EXPECT_EQ(cfg->cluster.advertise, "h:1");
  }
}

TEST(engine_config, cluster_name_must_be_printable_without_spaces) {
  EXPECT_TRUE(
    fails_with(cluster_with("      name: \"a b\"\n"), "t.yaml:4:13: ",
               {"'name' must be 1 to 255 printable characters", "got 'a b'"}));
  EXPECT_TRUE(fails_with(cluster_with("      name: \"\"\n"),
                         "t.yaml:4:13: ", {"'name' must be", "got ''"}));
  EXPECT_TRUE(fails_with(cluster_with("      name: [a]\n"),
                         "t.yaml:4:13: ", {"'name' must be", "got a list"}));
  EXPECT_TRUE(
    fails_with(cluster_with("      name: " + std::string(256, 'x') + "\n"),
               "t.yaml:4:13: ", {"'name' must be 1 to 255"}));
}

TEST(engine_config, cluster_advertise_must_be_a_dialable_host_port) {
  for (auto bad : {"host", ":1", "h:0", "h:70000", "h:x"})
    EXPECT_TRUE(fails_with(
      cluster_with(std::string{"      advertise: \""} + bad + "\"\n"),
      "t.yaml:4:18: ",
      {"'advertise' must be a 'host:port' string", "1 to 65535",
       std::string{"got '"} + bad + "'"}));
  EXPECT_TRUE(fails_with(cluster_with("      advertise: 0.0.0.0:4000\n"),
                         "t.yaml:4:18: ",
                         {"'advertise' must name an address other nodes can "
                          "dial",
                          "'0.0.0.0:4000'"}));
  EXPECT_TRUE(fails_with(cluster_with("      advertise: \"[::]:4000\"\n"),
                         "t.yaml:4:18: ", {"not the wildcard"}));
  auto v6 = cluster_with("      advertise: \"[fe80::1]:4000\"\n");
  ASSERT_TRUE(v6) << message_of(v6.error());
  EXPECT_EQ(v6->cluster.advertise, "[fe80::1]:4000");
}

TEST(engine_config, cluster_heartbeat_is_at_least_50_ms) {
  EXPECT_TRUE(fails_with(cluster_with("      heartbeat_ms: 49\n"),
                         "t.yaml:4:21: ",
                         {"'heartbeat_ms' must be an integer from 50 to "
                          "4294967295",
                          "got '49'"}));
  EXPECT_TRUE(fails_with(cluster_with("      heartbeat_ms: 4294967296\n"),
                         "t.yaml:4:21: ", {"'heartbeat_ms' must be"}));
}

TEST(engine_config, cluster_peer_timeout_is_at_least_twice_the_heartbeat) {
  EXPECT_TRUE(fails_with(cluster_with("      heartbeat_ms: 1000\n"
                                      "      peer_timeout_ms: 1999\n"),
                         "t.yaml:5:24: ",
                         {"'peer_timeout_ms' must be at least 2 * "
                          "'heartbeat_ms' (2 * 1000 = 2000), got 1999"}));
  // The default timeout is too short for this heartbeat: point at it.
  EXPECT_TRUE(fails_with(cluster_with("      heartbeat_ms: 3000\n"),
                         "t.yaml:4:21: ",
                         {"at least 2 * 'heartbeat_ms' (2 * 3000 = 6000)",
                          "got 5000 (the default)"}));
  // Large values do not overflow the check.
  EXPECT_TRUE(fails_with(cluster_with("      heartbeat_ms: 4294967295\n"
                                      "      peer_timeout_ms: 4294967295\n"),
                         "t.yaml:5:24: ", {"= 8589934590)"}));
  auto edge = cluster_with("      heartbeat_ms: 3000\n"
                           "      peer_timeout_ms: 6000\n");
  ASSERT_TRUE(edge) << message_of(edge.error());
  EXPECT_EQ(edge->cluster.peer_timeout_ms, 6000u);
  EXPECT_TRUE(fails_with(cluster_with("      peer_timeout_ms: 0\n"),
                         "t.yaml:4:24: ", {"'peer_timeout_ms' must be"}));
}

TEST(engine_config, cluster_cookie_must_be_a_non_empty_string) {
  EXPECT_TRUE(fails_with(cluster_with("      cookie: \"\"\n"), "t.yaml:4:15: ",
                         {"'cookie' must be a non-empty string"}));
  EXPECT_TRUE(fails_with(cluster_with("      cookie: {a: 1}\n"),
                         "t.yaml:4:15: ", {"'cookie' must be", "got a map"}));
  auto env = parse("workers:\n  - name: troupe-cluster\n    config:\n"
                   "      cookie: ${COOKIE}\n",
                   fake_env({{"COOKIE", "from-env"}}));
  ASSERT_TRUE(env) << message_of(env.error());
  EXPECT_EQ(env->cluster.cookie, "from-env");
}

TEST(engine_config, unknown_cluster_key_lists_the_new_fields) {
  EXPECT_TRUE(fails_with(
    cluster_with("      heartbeat: 1000\n"), "t.yaml:4:7: ",
    {"unknown key 'heartbeat'", "the troupe-cluster config",
     "host, port, name, advertise, seeds, heartbeat_ms, peer_timeout_ms, "
     "cookie"}));
}

// -- YAML errors and files ----------------------------------------------------

TEST(engine_config, yaml_syntax_error_has_line_and_column) {
  EXPECT_TRUE(fails_with(parse("workers:\n  - name: [iii-http\n"),
                         "t.yaml:3:1: ", {"end of sequence flow not found"}));
  EXPECT_TRUE(fails_with(parse("workers: []\n  bad: 1\n"),
                         "t.yaml:2:3: ", {"end of map not found"}));
}

TEST(engine_config, more_than_one_document_is_an_error) {
  EXPECT_TRUE(fails_with(parse("workers: []\n---\nworkers: []\n"),
                         "t.yaml:3:1: ", {"one YAML document"}));
}

// Found by fuzz_config: yaml-cpp 0.7's LoadAll never returned on a ','
// outside a flow collection, filling memory with empty documents.
TEST(engine_config, stray_comma_is_an_error_not_a_hang) {
  EXPECT_TRUE(fails_with(parse(","), "t.yaml:1:1: ",
                         {"not valid YAML", "unexpected ','"}));
  EXPECT_TRUE(fails_with(parse(", a: [[x\n"), "t.yaml:1:1: ",
                         {"not valid YAML"}));
  EXPECT_TRUE(fails_with(parse("workers: []\n,\n"), "t.yaml:", {}));
  EXPECT_TRUE(fails_with(parse("workers:\n  - name: iii-http\n,[x\n"),
                         "t.yaml:", {}));
}

// Found by fuzz_config: yaml-cpp read such text as UTF-16 and its error
// positions pointed past the end of the file.
TEST(engine_config, nul_bytes_and_utf16_are_errors) {
  using namespace std::string_literals;
  EXPECT_TRUE(fails_with(parse("\x0e\0workers: []\n"s), "t.yaml:1:2: ",
                         {"NUL byte"}));
  EXPECT_TRUE(fails_with(parse("workers: []\n  # a\0b\n"s), "t.yaml:2:6: ",
                         {"NUL byte"}));
  EXPECT_TRUE(fails_with(parse("\xFF\xFEw\0o\0"s), "t.yaml:1:1: ",
                         {"UTF-16"}));
  EXPECT_TRUE(fails_with(parse("\xFE\xFF\0w"s), "t.yaml:1:1: ",
                         {"UTF-16"}));
}

TEST(engine_config, byte_order_mark_is_ignored) {
  EXPECT_TRUE(fails_with(parse("\xEF\xBB\xBFnope: 1\n"),
                         "t.yaml:1:1: ", {"unknown key 'nope'"}));
}

TEST(engine_config, unreadable_file_is_an_error) {
  EXPECT_TRUE(fails_with(load_engine_config("/nonexistent/iii-config.yaml"),
                         "/nonexistent/iii-config.yaml: ",
                         {"cannot read file: No such file or directory"}));
  EXPECT_TRUE(fails_with(load_engine_config("/"),
                         "/: ", {"cannot read file: Is a directory"}));
}

TEST(engine_config, load_reads_the_file_and_names_it) {
  char path[] = "/tmp/engine_config_testXXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::ofstream{path} << seed_config << "bogus: 1\n";
  EXPECT_TRUE(
    fails_with(load_engine_config(path),
               std::string{path} + ":15:1: ", {"unknown key 'bogus'"}));
  std::ofstream{path} << seed_config;
  auto cfg = load_engine_config(path);
  std::remove(path);
  ASSERT_TRUE(cfg) << message_of(cfg.error());
  EXPECT_EQ(cfg->source, path);
  EXPECT_EQ(cfg->queue.queues.size(), 3u);
}

TEST(engine_config, process_env_reads_the_environment) {
  setenv("TROUPE_CONFIG_TEST_VAR", "x1", 1);
  EXPECT_EQ(process_env()("TROUPE_CONFIG_TEST_VAR"), "x1");
  unsetenv("TROUPE_CONFIG_TEST_VAR");
  EXPECT_EQ(process_env()("TROUPE_CONFIG_TEST_VAR"), std::nullopt);
}

// -- retries ------------------------------------------------------------------

TEST(engine_config, retry_delay_doubles_per_failure) {
  auto q = queue_with(1000);
  EXPECT_EQ(retry_delay_ms(q, 1), 1000u);
  EXPECT_EQ(retry_delay_ms(q, 2), 2000u);
  EXPECT_EQ(retry_delay_ms(q, 3), 4000u);
  EXPECT_EQ(retry_delay_ms(q, 4), 8000u);
  EXPECT_EQ(retry_delay_ms(queue_with(0), 30), 0u);
}

TEST(engine_config, retry_delay_is_capped_by_max_backoff) {
  auto q = queue_with(2000, 5000);
  EXPECT_EQ(retry_delay_ms(q, 1), 2000u);
  EXPECT_EQ(retry_delay_ms(q, 2), 4000u);
  EXPECT_EQ(retry_delay_ms(q, 3), 5000u);
  EXPECT_EQ(retry_delay_ms(q, 200), 5000u);
}

TEST(engine_config, retry_delay_saturates_instead_of_overflowing) {
  EXPECT_EQ(retry_delay_ms(queue_with(1), 64), uint64_t{1} << 63);
  EXPECT_EQ(retry_delay_ms(queue_with(1), 65), max_u64);
  EXPECT_EQ(retry_delay_ms(queue_with(3), 64), max_u64);
  EXPECT_EQ(retry_delay_ms(queue_with(1000), 200), max_u64);
  EXPECT_EQ(retry_delay_ms(queue_with(1000),
                           std::numeric_limits<uint32_t>::max()),
            max_u64);
}

TEST(engine_config, max_attempts_treats_zero_as_one) {
  queue_config q;
  q.max_retries = 0;
  EXPECT_EQ(max_attempts(q), 1u);
  q.max_retries = 5;
  EXPECT_EQ(max_attempts(q), 5u);
}

TEST(engine_config, size_limits_and_concurrency_have_maxima) {
  // A limit of 2^63 let one frame header reserve that much memory.
  auto manager = [](const std::string& field) {
    return "workers:\n  - name: iii-worker-manager\n    config: { " + field
           + " }\n";
  };
  EXPECT_TRUE(
    fails_with(parse(manager("max_frame_bytes: 9223372036854775808")),
               "t.yaml:3:32: ", {"'max_frame_bytes'", "from 1 to 1073741824"}));
  EXPECT_TRUE(parse(manager("max_frame_bytes: 1073741824")));
  EXPECT_TRUE(fails_with(parse("workers:\n  - name: iii-http\n    config: { "
                               "max_body_bytes: 1073741825 }\n"),
                         "t.yaml:3:31: ", {"'max_body_bytes'"}));
  EXPECT_TRUE(fails_with(parse("workers:\n  - name: iii-queue\n    config: { "
                               "max_payload_bytes: 1073741825 }\n"),
                         "t.yaml:3:34: ", {"'max_payload_bytes'"}));
  // One actor per slot made 1,000,000 never start.
  EXPECT_TRUE(
    fails_with(parse(with_queues("        j: { concurrency: 1000000 }\n")),
               "t.yaml:5:27: ", {"'concurrency' 1000000", "at most 10000"}));
  EXPECT_TRUE(parse(with_queues("        j: { concurrency: 10000 }\n")));
}

TEST(engine_config, a_listener_host_must_be_an_ip_address) {
  // An unparsable host used to pass here and exit 1 at listen time.
  auto manager = [](const std::string& host) {
    return "workers:\n  - name: iii-worker-manager\n    config: { host: " + host
           + " }\n";
  };
  EXPECT_TRUE(fails_with(parse(manager("not-an-address")), "t.yaml:3:21: ",
                         {"'host' must be an IP address", "'not-an-address'"}));
  EXPECT_TRUE(fails_with(parse("workers:\n  - name: iii-http\n    config: { "
                               "host: 127.0.0.300 }\n"),
                         "t.yaml:3:21: ", {"'host'", "'127.0.0.300'"}));
  for (auto ok : {"127.0.0.1", "0.0.0.0", "'::1'", "'::'"})
    EXPECT_TRUE(parse(manager(ok))) << ok;
}

TEST(engine_config, http_functions_read_iii_names_and_troupe_limits) {
  auto off = parse("workers:\n  - name: iii-queue\n");
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->http_functions.enabled);
  auto plain = parse("workers:\n  - name: iii-http-functions\n");
  ASSERT_TRUE(plain);
  EXPECT_TRUE(plain->http_functions.enabled);
  EXPECT_TRUE(plain->http_functions.block_private_ips);
  EXPECT_TRUE(plain->http_functions.url_allowlist.empty());
  EXPECT_EQ(plain->http_functions.default_timeout_ms, 30000u);
  EXPECT_EQ(plain->http_functions.max_response_bytes, 1048576u);
  auto cfg = parse("workers:\n"
                   "  - name: iii-http-functions\n"
                   "    config:\n"
                   "      security:\n"
                   "        url_allowlist: ['127.0.0.1', '*.example.com']\n"
                   "        block_private_ips: false\n"
                   "        require_https: false\n"
                   "      default_timeout_ms: 500\n"
                   "      max_response_bytes: 64\n");
  ASSERT_TRUE(cfg) << message_of(cfg.error());
  const auto& hf = cfg->http_functions;
  EXPECT_EQ(hf.url_allowlist,
            (std::vector<std::string>{"127.0.0.1", "*.example.com"}));
  EXPECT_FALSE(hf.block_private_ips);
  EXPECT_EQ(hf.default_timeout_ms, 500u);
  EXPECT_EQ(hf.max_response_bytes, 64u);
}

TEST(engine_config, bad_http_functions_values_are_refused) {
  auto with = [](const std::string& body) {
    return parse("workers:\n  - name: iii-http-functions\n    config:\n"
                 + body);
  };
  EXPECT_TRUE(fails_with(with("      security: { require_https: true }\n"),
                         "t.yaml:4:", {"require_https", "no TLS"}));
  EXPECT_TRUE(fails_with(with("      security: { block_private_ips: 3 }\n"),
                         "t.yaml:4:", {"block_private_ips", "true or false"}));
  EXPECT_TRUE(fails_with(with("      security: { url_allowlist: h }\n"),
                         "t.yaml:4:", {"url_allowlist", "list"}));
  EXPECT_TRUE(fails_with(with("      security: { allow: [] }\n"),
                         "t.yaml:4:", {"unknown key", "url_allowlist"}));
  EXPECT_TRUE(fails_with(with("      default_timeout_ms: 0\n"),
                         "t.yaml:4:", {"default_timeout_ms"}));
  EXPECT_TRUE(fails_with(with("      max_response_bytes: -1\n"),
                         "t.yaml:4:", {"max_response_bytes"}));
  EXPECT_TRUE(fails_with(with("      timeout: 5\n"),
                         "t.yaml:4:", {"unknown key", "default_timeout_ms"}));
}

TEST(engine_config, the_admin_listener_is_off_unless_configured) {
  auto none = parse("workers:\n  - name: iii-queue\n");
  ASSERT_TRUE(none) << message_of(none.error());
  EXPECT_FALSE(none->admin.enabled);
  EXPECT_EQ(none->admin.port, 3113u);
  auto bare = parse("workers:\n  - name: troupe-admin\n");
  ASSERT_TRUE(bare) << message_of(bare.error());
  EXPECT_TRUE(bare->admin.enabled);
  EXPECT_EQ(bare->admin.host, "127.0.0.1");
  EXPECT_EQ(bare->admin.port, 3113u);
  EXPECT_EQ(bare->admin.token, "");
  EXPECT_FALSE(bare->admin.read_only);
  auto cfg = parse("workers:\n  - name: troupe-admin\n    config:\n"
                   "      host: ::1\n      port: 0\n      token: \"s3cr3t\"\n"
                   "      read_only: true\n");
  ASSERT_TRUE(cfg) << message_of(cfg.error());
  EXPECT_EQ(cfg->admin.host, "::1");
  EXPECT_EQ(cfg->admin.port, 0u);
  EXPECT_EQ(cfg->admin.token, "s3cr3t");
  EXPECT_TRUE(cfg->admin.read_only);
  auto empty = parse("workers:\n  - name: troupe-admin\n    config:\n"
                     "      token: \"\"\n");
  ASSERT_TRUE(empty) << message_of(empty.error());
  EXPECT_EQ(empty->admin.token, "");
}

TEST(engine_config, bad_admin_values_are_refused) {
  auto with = [](const std::string& body) {
    return parse("workers:\n  - name: troupe-admin\n    config:\n" + body);
  };
  EXPECT_TRUE(fails_with(with("      port: 70000\n"), "t.yaml:4:13:",
                         {"'port'", "65535"}));
  EXPECT_TRUE(fails_with(with("      host: localhost\n"), "t.yaml:4:13:",
                         {"'host'", "IP address"}));
  EXPECT_TRUE(fails_with(with("      read_only: yes\n"), "t.yaml:4:18:",
                         {"read_only", "true or false"}));
  EXPECT_TRUE(fails_with(with("      token: \"a b\"\n"), "t.yaml:4:14:",
                         {"token", "without spaces"}));
  EXPECT_TRUE(fails_with(with("      token: [a]\n"), "t.yaml:4:14:",
                         {"token", "string"}));
  EXPECT_TRUE(fails_with(with("      tokens: x\n"), "t.yaml:4:7:",
                         {"unknown key", "read_only"}));
}

// -- worker authentication, connection cap, crash recoveries ---------------

namespace {

/// A file with one iii-worker-manager whose config is `body` (indented 6).
std::string with_manager(const std::string& body) {
  return "workers:\n"
         "  - name: iii-worker-manager\n"
         "    config:\n"
         + body;
}

} // namespace

TEST(engine_config, authentication_is_off_by_default) {
  auto cfg = parse("");
  ASSERT_TRUE(cfg) << message_of(cfg.error());
  const auto& a = cfg->worker_manager.auth;
  EXPECT_TRUE(a.token.empty());
  EXPECT_FALSE(a.rbac);
  EXPECT_TRUE(a.auth_function_id.empty());
  EXPECT_TRUE(a.expose_functions.empty());
  EXPECT_EQ(cfg->worker_manager.max_connections, 1024u);
}

TEST(engine_config, auth_token_and_rbac_are_read) {
  auto cfg = parse(with_manager("      max_connections: 50\n"
                                "      auth: { token: '${TOKEN}' }\n"
                                "      rbac:\n"
                                "        auth_function_id: my::auth\n"
                                "        auth_timeout_ms: 250\n"
                                "        expose_functions:\n"
                                "          - match(\"api::*\")\n"
                                "          - \"match('pub::echo')\"\n"),
                   fake_env({{"TOKEN", "s3cret"}}));
  ASSERT_TRUE(cfg) << message_of(cfg.error());
  const auto& wm = cfg->worker_manager;
  EXPECT_EQ(wm.max_connections, 50u);
  EXPECT_EQ(wm.auth.token, "s3cret");
  EXPECT_TRUE(wm.auth.rbac);
  EXPECT_EQ(wm.auth.auth_function_id, "my::auth");
  EXPECT_EQ(wm.auth.auth_timeout_ms, 250u);
  EXPECT_EQ(wm.auth.expose_functions,
            (std::vector<std::string>{"api::*", "pub::echo"}));
}

TEST(engine_config, an_empty_rbac_map_turns_rbac_on) {
  auto cfg = parse(with_manager("      rbac: {}\n"));
  ASSERT_TRUE(cfg) << message_of(cfg.error());
  EXPECT_TRUE(cfg->worker_manager.auth.rbac);
  EXPECT_TRUE(cfg->worker_manager.auth.expose_functions.empty());
}

TEST(engine_config, bad_auth_settings_are_errors) {
  EXPECT_TRUE(fails_with(parse(with_manager("      auth: { token: '' }\n")),
                         "t.yaml:4:22: ", {"'token'", "non-empty string"}));
  EXPECT_TRUE(fails_with(parse(with_manager("      auth: { key: x }\n")),
                         "t.yaml:4:15: ", {"unknown key 'key'", "token"}));
  EXPECT_TRUE(fails_with(
    parse(with_manager("      rbac: { expose_functions: ['api::*'] }\n")),
    "t.yaml:4:34: ", {"match(\"api::*\")", "'api::*'"}));
  EXPECT_TRUE(
    fails_with(parse(with_manager("      rbac:\n        expose_functions:\n"
                                  "          - metadata: { public: true }\n")),
               "t.yaml:6:13: ", {"metadata filters are not supported"}));
  EXPECT_TRUE(fails_with(
    parse(with_manager("      rbac: { on_function_registration_function_id: "
                       "x }\n")),
    "t.yaml:4:15: ",
    {"'on_function_registration_function_id' is not supported"}));
  EXPECT_TRUE(
    fails_with(parse(with_manager("      rbac: { auth_timeout_ms: 0 }\n")),
               "t.yaml:4:32: ", {"'auth_timeout_ms'"}));
}

TEST(engine_config, max_connections_has_bounds) {
  EXPECT_TRUE(fails_with(parse(with_manager("      max_connections: 0\n")),
                         "t.yaml:4:24: ", {"'max_connections'", "'0'"}));
  EXPECT_TRUE(fails_with(parse(with_manager("      max_connections: 100001\n")),
                         "t.yaml:4:24: ", {"'max_connections'", "100000"}));
}

TEST(engine_config, max_crash_recoveries_is_read_and_bounded) {
  auto cfg = parse(with_queues("        j: { max_crash_recoveries: 5 }\n"));
  ASSERT_TRUE(cfg) << message_of(cfg.error());
  ASSERT_TRUE(cfg->find_queue("j"));
  EXPECT_EQ(cfg->find_queue("j")->max_crash_recoveries, 5u);
  EXPECT_EQ(cfg->find_queue("default")->max_crash_recoveries, 3u);
  EXPECT_TRUE(
    fails_with(parse(with_queues("        j: { max_crash_recoveries: 0 }\n")),
               "t.yaml:5:36: ", {"'max_crash_recoveries'", "from 1 to 1000"}));
  EXPECT_TRUE(fails_with(
    parse(with_queues("        j: { max_crash_recoveries: 1001 }\n")),
    "t.yaml:5:36: ", {"'max_crash_recoveries'", "1000"}));
}

TEST(worker_access, wildcards_match_as_in_iii) {
  EXPECT_TRUE(wildcard_match("hello::world", "hello::world"));
  EXPECT_FALSE(wildcard_match("hello::world", "hello::worl"));
  EXPECT_FALSE(wildcard_match("hello::world", "hello::worldx"));
  EXPECT_TRUE(wildcard_match("engine::*", "engine::bar::baz"));
  EXPECT_FALSE(wildcard_match("engine::*", "other::foo"));
  EXPECT_TRUE(wildcard_match("*::public", "x::y::public"));
  EXPECT_FALSE(wildcard_match("*::public", "api::private"));
  EXPECT_TRUE(wildcard_match("*public*", "mypublicfn"));
  EXPECT_TRUE(wildcard_match("*", ""));
  EXPECT_TRUE(wildcard_match("api::*::read", "api::users::read"));
  EXPECT_FALSE(wildcard_match("api::*::read", "api::users::write"));
  EXPECT_TRUE(wildcard_match("a*a*a", "aaaa"));
  EXPECT_FALSE(wildcard_match("a*a*a", "aa"));
  EXPECT_FALSE(wildcard_match("", "x"));
}

TEST(worker_access, match_filters_parse_both_quotes_only) {
  EXPECT_EQ(parse_match_filter("match(\"engine::*\")"), "engine::*");
  EXPECT_EQ(parse_match_filter("  match('engine::*') "), "engine::*");
  EXPECT_FALSE(parse_match_filter("engine::*"));
  EXPECT_FALSE(parse_match_filter("match(engine::*)"));
  EXPECT_FALSE(parse_match_filter("match(\"x')"));
  EXPECT_FALSE(parse_match_filter("match(\""));
}

TEST(worker_access, calls_follow_iii_rbac_order) {
  access_rules none;
  access_rules rbac{true, {"api::*"}};
  access_grant open;
  EXPECT_TRUE(function_allowed(none, open, "internal::fn"))
    << "no rbac: every call";
  EXPECT_TRUE(function_allowed(rbac, open, "api::list"));
  EXPECT_FALSE(function_allowed(rbac, open, "internal::fn"))
    << "deny by default";
  EXPECT_FALSE(function_allowed(rbac, open, "engine::functions::list"));
  for (const auto& id : infrastructure_functions())
    EXPECT_TRUE(function_allowed(rbac, open, id)) << id;
  access_grant g;
  g.allowed_functions = {"internal::fn", "api::both"};
  g.forbidden_functions = {"api::users::delete", "api::both",
                           "engine::log::info"};
  EXPECT_TRUE(function_allowed(rbac, g, "internal::fn"));
  EXPECT_FALSE(function_allowed(rbac, g, "api::users::delete"));
  EXPECT_FALSE(function_allowed(rbac, g, "api::both")) << "forbidden wins";
  EXPECT_FALSE(function_allowed(rbac, g, "engine::log::info"));
  EXPECT_FALSE(function_allowed(none, g, "api::users::delete"));
  access_grant trusted;
  trusted.unrestricted = true;
  EXPECT_TRUE(function_allowed(rbac, trusted, "internal::fn"))
    << "the engine's token: no rbac limits";
  EXPECT_TRUE(explicitly_forbidden(g, "api::both"));
  EXPECT_FALSE(explicitly_forbidden(g, "other"));
}

TEST(worker_access, trigger_types_and_secrets) {
  access_grant g;
  EXPECT_TRUE(trigger_type_allowed(g, "cron"));
  g.allowed_trigger_types = std::vector<std::string>{"http"};
  EXPECT_TRUE(trigger_type_allowed(g, "http"));
  EXPECT_FALSE(trigger_type_allowed(g, "cron"));
  EXPECT_TRUE(secrets_equal("abc", "abc"));
  EXPECT_FALSE(secrets_equal("abc", "abd"));
  EXPECT_FALSE(secrets_equal("abc", "abcd"));
  EXPECT_FALSE(secrets_equal("", "a"));
  EXPECT_TRUE(secrets_equal("", ""));
}
