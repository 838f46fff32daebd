// Tests for cluster/cli: what each command line calls (function id, data,
// action, view), the options, and the usage errors (exit status 2) for bad
// or missing arguments.
#include "cluster/cli.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

using namespace troupe;
using protocol::cli_action;
using protocol::cli_view;

namespace {

cli::parse_outcome parse(std::vector<std::string> args) {
  return cli::parse_command_line(args);
}

/// Parses a command line that must be runnable.
cli::request ok(std::vector<std::string> args) {
  auto r = parse(args);
  EXPECT_EQ(r.kind, cli::parse_outcome::run) << r.text;
  return r.req;
}

/// The usage error of a command line that must be refused.
std::string refused(std::vector<std::string> args) {
  auto r = parse(args);
  EXPECT_EQ(r.kind, cli::parse_outcome::usage) << args[0];
  return r.text;
}

} // namespace

TEST(cli, knows_its_commands) {
  for (auto w : {"queues", "jobs", "job", "dlq", "pause", "resume", "trigger",
                 "workers", "check-config", "help"})
    EXPECT_TRUE(cli::is_command(w)) << w;
  for (auto w : {"--config", "-c", "", "queue", "dlq list", "frob"})
    EXPECT_FALSE(cli::is_command(w)) << w;
}

TEST(cli, queues_calls_stats_with_defaults) {
  auto r = ok({"queues"});
  EXPECT_EQ(r.invoke.function_id, "engine::queue::stats");
  EXPECT_EQ(r.invoke.data, "{}");
  EXPECT_EQ(r.invoke.action, cli_action::sync);
  EXPECT_EQ(r.view, cli_view::queue_stats);
  EXPECT_EQ(r.opts.address, "ws://127.0.0.1:49134");
  EXPECT_EQ(r.opts.timeout_ms, 10000);
  EXPECT_FALSE(r.opts.json);
  EXPECT_TRUE(r.opts.token.empty());
}

TEST(cli, options_in_both_spellings) {
  auto r = ok({"queues", "--address", "ws://h:1", "--token=t0k", "--json",
               "--timeout", "250"});
  EXPECT_EQ(r.opts.address, "ws://h:1");
  EXPECT_EQ(r.opts.token, "t0k");
  EXPECT_TRUE(r.opts.json);
  EXPECT_EQ(r.opts.timeout_ms, 250);
}

TEST(cli, jobs_and_job_pass_only_what_is_given) {
  EXPECT_EQ(ok({"jobs", "q"}).invoke.data,
            R"({"queue":"q","state":"waiting"})");
  auto r = ok({"jobs", "q", "--state", "dead", "--offset", "5", "--limit=2"});
  EXPECT_EQ(r.invoke.function_id, "engine::queue::jobs");
  EXPECT_EQ(r.invoke.data,
            R"({"queue":"q","state":"dead","offset":5,"limit":2})");
  r = ok({"job", "abc"});
  EXPECT_EQ(r.invoke.function_id, "engine::queue::job");
  EXPECT_EQ(r.invoke.data, R"({"id":"abc"})");
  EXPECT_EQ(ok({"job", "abc", "--queue", "q"}).invoke.data,
            R"({"id":"abc","queue":"q"})");
}

TEST(cli, dlq_commands) {
  auto r = ok({"dlq", "list", "q", "--limit", "10"});
  EXPECT_EQ(r.command, "dlq list");
  EXPECT_EQ(r.invoke.function_id, "engine::queue::dlq_messages");
  EXPECT_EQ(r.invoke.data, R"({"queue":"q","limit":10})");
  r = ok({"dlq", "redrive", "q"});
  EXPECT_EQ(r.invoke.function_id, "iii::queue::redrive");
  EXPECT_EQ(r.invoke.data, R"({"queue":"q"})");
  r = ok({"dlq", "redrive", "q", "id-1"});
  EXPECT_EQ(r.invoke.function_id, "iii::queue::redrive_message");
  EXPECT_EQ(r.invoke.data, R"({"queue":"q","message_id":"id-1"})");
  r = ok({"dlq", "discard", "q", "id-1"});
  EXPECT_EQ(r.invoke.function_id, "iii::queue::discard_message");
  EXPECT_EQ(r.invoke.data, R"({"queue":"q","message_id":"id-1"})");
}

TEST(cli, pause_resume_workers) {
  EXPECT_EQ(ok({"pause", "q"}).invoke.function_id, "engine::queue::pause");
  EXPECT_EQ(ok({"resume", "q"}).invoke.function_id, "engine::queue::resume");
  EXPECT_EQ(ok({"resume", "q"}).invoke.data, R"({"queue":"q"})");
  EXPECT_EQ(ok({"workers"}).invoke.function_id, "engine::workers::list");
  EXPECT_EQ(ok({"workers"}).view, cli_view::workers);
}

TEST(cli, trigger_sync_void_and_enqueue) {
  auto r = ok({"trigger", "math::add", R"({"a":1})"});
  EXPECT_EQ(r.invoke.function_id, "math::add");
  EXPECT_EQ(r.invoke.data, R"({"a":1})");
  EXPECT_EQ(r.invoke.action, cli_action::sync);
  EXPECT_EQ(r.view, cli_view::value);
  EXPECT_EQ(ok({"trigger", "f"}).invoke.data, "{}");
  r = ok({"trigger", "f", "--void"});
  EXPECT_EQ(r.invoke.action, cli_action::void_call);
  r = ok({"trigger", "f", "[1]", "--queue", "payment"});
  EXPECT_EQ(r.invoke.action, cli_action::enqueue);
  EXPECT_EQ(r.invoke.queue, "payment");
  EXPECT_EQ(r.view, cli_view::receipt);
  // Negative numbers are payloads, not options; "--" ends the options.
  EXPECT_EQ(ok({"trigger", "f", "-1"}).invoke.data, "-1");
  EXPECT_EQ(ok({"trigger", "f", "--", "\"--void\""}).invoke.action,
            cli_action::sync);
}

TEST(cli, check_config_needs_no_address) {
  auto r = ok({"check-config"});
  EXPECT_EQ(r.config_path, "iii-config.yaml");
  EXPECT_EQ(ok({"check-config", "x.yaml", "--json"}).config_path, "x.yaml");
  EXPECT_TRUE(ok({"check-config", "--json"}).opts.json);
}

TEST(cli, help_forms) {
  for (auto args : std::vector<std::vector<std::string>>{
         {"help"},
         {"help", "jobs"},
         {"help", "dlq", "list"},
         {"help", "dlq"},
         {"jobs", "--help"},
         {"dlq", "redrive", "-h"},
         {"dlq", "--help"},
         {"trigger", "f", "{bad", "--help"}}) {
    auto r = parse(args);
    EXPECT_EQ(r.kind, cli::parse_outcome::help) << args[0];
    EXPECT_NE(r.text.find("usage: troupe"), std::string::npos) << r.text;
  }
  EXPECT_NE(parse({"help", "jobs"}).text.find("engine::queue::jobs"),
            std::string::npos);
  EXPECT_NE(parse({"help"}).text.find("check-config [PATH]"),
            std::string::npos);
  EXPECT_NE(cli::commands_help().find("dlq discard QUEUE ID"),
            std::string::npos);
}

TEST(cli, bad_command_lines_are_usage_errors) {
  EXPECT_NE(refused({"help", "frob"}).find("no command 'frob'"),
            std::string::npos);
  EXPECT_NE(refused({"dlq"}).find("missing command"), std::string::npos);
  EXPECT_NE(refused({"dlq", "--json"}).find("missing command"),
            std::string::npos);
  EXPECT_NE(refused({"dlq", "frob", "q"}).find("unknown dlq command 'frob'"),
            std::string::npos);
  EXPECT_NE(refused({"jobs"}).find("missing argument"), std::string::npos);
  EXPECT_NE(refused({"jobs", "a", "b"}).find("unexpected argument 'b'"),
            std::string::npos);
  EXPECT_NE(refused({"dlq", "discard", "q"}).find("missing arguments"),
            std::string::npos);
  EXPECT_NE(
    refused({"queues", "--state", "x"}).find("unknown option '--state'"),
    std::string::npos);
  EXPECT_NE(refused({"queues", "--frob"}).find("unknown option '--frob'"),
            std::string::npos);
  EXPECT_NE(refused({"queues", "--address"}).find("--address needs a value"),
            std::string::npos);
  EXPECT_NE(refused({"queues", "--json=1"}).find("takes no value"),
            std::string::npos);
  for (auto t : {"0", "-5", "abc", "10x", "", "99999999999999999999"})
    EXPECT_NE(refused({"queues", "--timeout", t}).find("--timeout"),
              std::string::npos)
      << t;
  for (auto n : {"-1", "x", "1.5", "", "1e3", "9999999999999999"})
    EXPECT_NE(refused({"jobs", "q", "--limit", n}).find("non-negative"),
              std::string::npos)
      << n;
  EXPECT_NE(refused({"dlq", "list", "q", "--offset", "-3"}).find("--offset"),
            std::string::npos);
  EXPECT_NE(refused({"queues", "--address", "http://h"}).find("bad address"),
            std::string::npos);
  EXPECT_NE(refused({"queues", "--address", "wss://h"}).find("not supported"),
            std::string::npos);
  EXPECT_NE(refused({"trigger", "f", "{bad"}).find("not valid JSON"),
            std::string::npos);
  EXPECT_NE(refused({"trigger", "f", ""}).find("not valid JSON"),
            std::string::npos);
  EXPECT_NE(refused({"trigger", "f", "1", "--void", "--queue", "q"})
              .find("exclude each other"),
            std::string::npos);
  EXPECT_NE(refused({"trigger", "f", "--queue", ""}).find("--queue needs"),
            std::string::npos);
  EXPECT_NE(refused({"jobs", ""}).find("empty argument"), std::string::npos);
  // Every usage error says how to get help.
  EXPECT_NE(refused({"jobs"}).find("troupe help jobs"), std::string::npos);
}
