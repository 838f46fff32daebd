// The command-line client in the troupe binary (`troupe queues`, `troupe
// dlq list QUEUE`, `troupe trigger FN JSON`, ...): it talks to a running
// engine as a worker over its WebSocket port, calls one engine function
// and prints the answer as a table or, with --json, as the raw JSON.
// `check-config` runs locally. main() hands argv over when argv[1] is one
// of these commands; everything runs on the calling thread, without an
// actor system.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "protocol/cli_json.hpp"

namespace troupe::cli {

/// Exit statuses of a client command.
constexpr int exit_ok = 0;
/// The engine answered with an error (its code and message on stderr).
constexpr int exit_remote = 1;
/// Bad or missing arguments, an unknown command, a bad JSON argument; for
/// check-config, a configuration that does not load.
constexpr int exit_usage = 2;
/// No connection, the connection dropped before the answer, or no answer
/// within --timeout.
constexpr int exit_unreachable = 3;

/// True when `word` (argv[1]) is a client command or `help`.
bool is_command(std::string_view word);

/// The options every remote command takes.
struct options {
  std::string address = "ws://127.0.0.1:49134";
  /// Sent as `Authorization: Bearer TOKEN` on the WebSocket upgrade.
  std::string token;
  /// For connecting and the answer together.
  long timeout_ms = 10000;
  bool json = false;
};

/// One parsed command line.
struct request {
  /// "queues", "dlq list", "check-config", ...
  std::string command;
  options opts;
  /// What to call (not for check-config).
  protocol::cli_invoke invoke;
  protocol::cli_view view = protocol::cli_view::generic;
  /// check-config's file.
  std::string config_path;
};

struct parse_outcome {
  enum kind_t {
    /// `req` is ready to run.
    run,
    /// Print `text` to stdout and exit 0.
    help,
    /// Print `text` to stderr and exit 2.
    usage,
  };
  kind_t kind = usage;
  request req;
  std::string text;
};

/// Parses argv[1..] (the command first). Never throws.
parse_outcome parse_command_line(const std::vector<std::string>& args);

/// The list of commands, for `troupe --help` and `troupe help`.
std::string commands_help();

/// Runs a parsed request: prints its output and returns the exit status.
/// `version` names the client in the engine's log.
int run_request(const request& req, const std::string& version);

/// parse_command_line + run_request, for main().
int run(int argc, char** argv, const std::string& version);

} // namespace troupe::cli
