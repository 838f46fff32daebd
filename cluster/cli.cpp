#include "cluster/cli.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <optional>
#include <utility>

#include <unistd.h>

#include "base/uuid.hpp"
#include "protocol/ws_client.hpp"
#include "troupe/config.hpp"
#include "troupe/error.hpp"

namespace troupe::cli {

namespace {

using protocol::cli_action;
using protocol::cli_view;

constexpr auto default_config_file = "iii-config.yaml";
constexpr long max_timeout_ms = 24L * 3600 * 1000;
/// After the answer, how long the close handshake may take.
constexpr auto close_grace = std::chrono::seconds(2);

/// The options after the command: client-wide ones and a command's own.
struct flags {
  options opts;
  std::optional<std::string> state;
  std::optional<std::string> queue;
  std::optional<std::string> offset;
  std::optional<std::string> limit;
  bool void_call = false;
  bool help = false;
  std::vector<std::string> positional;
};

/// One command: its words, its usage, what it calls.
struct command_spec {
  const char* name;
  const char* args;
  const char* summary;
  const char* details;
  /// Its own options (besides --address, --token, --timeout, --json).
  std::vector<std::string> own;
  size_t min_args;
  size_t max_args;
  /// Whether it needs an engine.
  bool remote = true;
};

const std::vector<command_spec>& commands() {
  static const std::vector<command_spec> specs{
    {"queues",
     "",
     "every queue's counts",
     "Calls engine::queue::stats {}.\n\n"
     "Columns: queue, waiting, in_flight, delayed, dlq, and the enqueued,\n"
     "succeeded, failed (attempts) and dead totals since the engine started;\n"
     "held and paused when the engine reports them.\n",
     {},
     0,
     0},
    {"jobs",
     "QUEUE [--state S] [--offset N] [--limit N]",
     "a queue's jobs",
     "Calls engine::queue::jobs {queue, state, offset?, limit?}.\n\n"
     "Lists the jobs of QUEUE in state S (waiting, in_flight, delayed,\n"
     "dead or held; default waiting), from --offset on, at most --limit\n"
     "of them (the engine caps it at 500).\n",
     {"--state", "--offset", "--limit"},
     1,
     1},
    {"job",
     "ID [--queue Q]",
     "one job by its receipt id",
     "Calls engine::queue::job {id, queue?}.\n\n"
     "Shows the job whose receipt id (messageReceiptId) is ID; --queue\n"
     "narrows the search to one queue.\n",
     {"--queue"},
     1,
     1},
    {"dlq list",
     "QUEUE [--offset N] [--limit N]",
     "a queue's dead jobs, newest first",
     "Calls engine::queue::dlq_messages {queue, offset?, limit?}.\n\n"
     "Columns: id, function_id, payload, error, enqueued_at, failed_at,\n"
     "retries, size_bytes (and node in a cluster). The engine's defaults are\n"
     "offset 0 and limit 50.\n",
     {"--offset", "--limit"},
     1,
     1},
    {"dlq redrive",
     "QUEUE [ID]",
     "dead jobs back to their queue",
     "Without ID every dead job of QUEUE runs again with its attempts reset\n"
     "(iii::queue::redrive); with ID only that one\n"
     "(iii::queue::redrive_message). Prints how many were redriven.\n",
     {},
     1,
     2},
    {"dlq discard",
     "QUEUE ID",
     "drops one dead job",
     "Calls iii::queue::discard_message {queue, message_id}.\n\n"
     "Prints how many were discarded (0 when QUEUE's DLQ has no job ID).\n",
     {},
     2,
     2},
    {"pause",
     "QUEUE",
     "stops dispatching QUEUE's jobs",
     "Calls engine::queue::pause {queue}.\n\n"
     "Enqueues are still accepted; running attempts finish.\n",
     {},
     1,
     1},
    {"resume",
     "QUEUE",
     "dispatches QUEUE's jobs again",
     "Calls engine::queue::resume {queue}.\n",
     {},
     1,
     1},
    {"trigger",
     "FUNCTION [JSON] [--queue Q | --void]",
     "calls a function, as trigger() does",
     "JSON is the payload (default {}). Without an option the call waits for\n"
     "the function's result and prints it; --void sends the call and exits 0\n"
     "without waiting (nobody answers a Void call); --queue Q enqueues it on\n"
     "queue Q and prints the job's messageReceiptId.\n",
     {"--queue", "--void"},
     1,
     2},
    {"workers",
     "",
     "the connected workers",
     "Calls engine::workers::list {}.\n\n"
     "Columns: name, id, runtime, version, status, functions (registered),\n"
     "invocations (running) and address. The engine's own workers are\n"
     "listed with runtime \"engine\", and this client as troupe-cli.\n",
     {},
     0,
     0},
    {"check-config",
     "[PATH]",
     "validates an iii-config.yaml locally",
     "Loads PATH (default ./iii-config.yaml) with the engine's own loader and\n"
     "prints \"ok\", or the first error as FILE:LINE:COL: what is wrong (exit\n"
     "status 2). Needs no engine; --address, --token and --timeout are\n"
     "ignored.\n",
     {},
     0,
     1,
     false},
  };
  return specs;
}

const command_spec* find_command(const std::string& name) {
  for (auto& c : commands())
    if (name == c.name) return &c;
  return nullptr;
}

std::string options_help() {
  return "options:\n"
         "  --address URL  the engine's worker port (default "
         "ws://127.0.0.1:49134)\n"
         "  --token T      sent as 'Authorization: Bearer T' when connecting\n"
         "  --timeout MS   for connecting and the answer together (default "
         "10000)\n"
         "  --json         print the result as JSON instead of a table\n"
         "  -h, --help     this help\n";
}

std::string exit_help() {
  return "Exit status: 0 ok, 1 the engine answered with an error (its code "
         "and\nmessage on stderr), 2 bad arguments, 3 cannot connect, the "
         "connection\ndropped before the answer, or no answer within "
         "--timeout.\n";
}

std::string command_help(const command_spec& c) {
  std::string out = std::string{"usage: troupe "} + c.name;
  if (*c.args) out += std::string{" "} + c.args;
  out += c.remote ? " [options]\n\n" : "\n\n";
  out += std::string{c.summary} + ".\n";
  if (*c.details) out += std::string{"\n"} + c.details;
  if (c.remote) out += "\n" + options_help() + "\n" + exit_help();
  return out;
}

bool takes_value(const std::string& opt) {
  return opt == "--address" || opt == "--token" || opt == "--timeout"
         || opt == "--state" || opt == "--queue" || opt == "--offset"
         || opt == "--limit";
}

/// Splits the words after the command into options and positionals.
/// Returns an error text, or empty.
std::string read_flags(const command_spec& c,
                       const std::vector<std::string>& words, flags& out) {
  bool only_positional = false;
  for (size_t i = 0; i < words.size(); ++i) {
    const auto& w = words[i];
    if (only_positional || w.size() < 2 || w[0] != '-'
        || (w[1] != '-' && w != "-h")) {
      // "-" alone, or "-1" as a JSON payload, is an argument.
      out.positional.push_back(w);
      continue;
    }
    if (w == "--") {
      only_positional = true;
      continue;
    }
    if (w == "-h" || w == "--help") {
      out.help = true;
      continue;
    }
    auto eq = w.find('=');
    auto name = w.substr(0, eq);
    bool global = name == "--address" || name == "--token"
                  || name == "--timeout" || name == "--json";
    bool own = std::find(c.own.begin(), c.own.end(), name) != c.own.end();
    if (!global && !own)
      return "unknown option '" + name + "' for '" + c.name + "'";
    std::string value;
    if (takes_value(name)) {
      if (eq != std::string::npos) {
        value = w.substr(eq + 1);
      } else if (i + 1 < words.size()) {
        value = words[++i];
      } else {
        return name + " needs a value";
      }
    } else if (eq != std::string::npos) {
      return name + " takes no value";
    }
    if (name == "--address") {
      out.opts.address = value;
    } else if (name == "--token") {
      out.opts.token = value;
    } else if (name == "--timeout") {
      char* end = nullptr;
      errno = 0;
      long n = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || errno != 0 || n < 1
          || n > max_timeout_ms)
        return "--timeout takes milliseconds, from 1 to "
               + std::to_string(max_timeout_ms);
      out.opts.timeout_ms = n;
    } else if (name == "--json") {
      out.opts.json = true;
    } else if (name == "--state") {
      out.state = value;
    } else if (name == "--queue") {
      out.queue = value;
    } else if (name == "--offset") {
      out.offset = value;
    } else if (name == "--limit") {
      out.limit = value;
    } else if (name == "--void") {
      out.void_call = true;
    }
  }
  return {};
}

/// A count argument as JSON text, or nullopt.
std::optional<std::string> count_arg(const std::string& s) {
  if (s.empty() || s.size() > 15) return std::nullopt;
  if (!std::all_of(s.begin(), s.end(),
                   [](char c) { return c >= '0' && c <= '9'; }))
    return std::nullopt;
  return std::to_string(std::stoull(s));
}

/// Fills `req.invoke` and `req.view` from the command's arguments;
/// returns an error text, or empty.
std::string build(const command_spec& c, const flags& f, request& req) {
  using members = std::vector<std::pair<std::string, std::string>>;
  const auto& args = f.positional;
  auto q = [](const std::string& s) { return protocol::json_quote(s); };
  for (size_t i = 0; i < args.size(); ++i)
    if (args[i].empty() && !(req.command == "trigger" && i == 1))
      return "an empty argument";
  if (f.queue && f.queue->empty()) return "--queue needs a queue name";
  if (f.state && f.state->empty()) return "--state needs a state";
  members data;
  for (auto* opt : {&f.offset, &f.limit}) {
    if (!*opt) continue;
    if (!count_arg(**opt))
      return std::string{opt == &f.offset ? "--offset" : "--limit"}
             + " takes a non-negative integer";
  }
  auto add_paging = [&] {
    if (f.offset) data.emplace_back("offset", *count_arg(*f.offset));
    if (f.limit) data.emplace_back("limit", *count_arg(*f.limit));
  };
  auto& inv = req.invoke;
  std::string name = c.name;
  if (name == "queues") {
    inv.function_id = "engine::queue::stats";
    req.view = cli_view::queue_stats;
  } else if (name == "jobs") {
    inv.function_id = "engine::queue::jobs";
    data.emplace_back("queue", q(args[0]));
    data.emplace_back("state", q(f.state ? *f.state : "waiting"));
    add_paging();
  } else if (name == "job") {
    inv.function_id = "engine::queue::job";
    data.emplace_back("id", q(args[0]));
    if (f.queue) data.emplace_back("queue", q(*f.queue));
  } else if (name == "dlq list") {
    inv.function_id = "engine::queue::dlq_messages";
    data.emplace_back("queue", q(args[0]));
    add_paging();
  } else if (name == "dlq redrive") {
    data.emplace_back("queue", q(args[0]));
    if (args.size() == 2) {
      inv.function_id = "iii::queue::redrive_message";
      data.emplace_back("message_id", q(args[1]));
    } else {
      inv.function_id = "iii::queue::redrive";
    }
  } else if (name == "dlq discard") {
    inv.function_id = "iii::queue::discard_message";
    data.emplace_back("queue", q(args[0]));
    data.emplace_back("message_id", q(args[1]));
  } else if (name == "pause" || name == "resume") {
    inv.function_id = "engine::queue::" + name;
    data.emplace_back("queue", q(args[0]));
  } else if (name == "workers") {
    inv.function_id = "engine::workers::list";
    req.view = cli_view::workers;
    req.view = cli_view::workers;
  } else if (name == "trigger") {
    if (f.queue && f.void_call) return "--queue and --void exclude each other";
    inv.function_id = args[0];
    if (args.size() == 2) {
      std::string why;
      if (!protocol::check_json(args[1], why))
        return "the payload is not valid JSON: " + why;
      req.invoke.data = args[1];
    }
    if (f.void_call) {
      inv.action = cli_action::void_call;
    } else if (f.queue) {
      inv.action = cli_action::enqueue;
      inv.queue = *f.queue;
      req.view = cli_view::receipt;
    } else {
      req.view = cli_view::value;
    }
    return {};
  } else if (name == "check-config") {
    req.config_path = args.empty() ? default_config_file : args[0];
    return {};
  }
  inv.data = protocol::json_object(data);
  return {};
}

parse_outcome usage(std::string text) {
  parse_outcome out;
  out.kind = parse_outcome::usage;
  out.text = std::move(text);
  return out;
}

parse_outcome help(std::string text) {
  parse_outcome out;
  out.kind = parse_outcome::help;
  out.text = std::move(text);
  return out;
}

/// The command named by words[0] (and words[1] for dlq), or nullptr; `used`
/// is how many words the name took.
const command_spec* lookup(const std::vector<std::string>& words,
                           size_t& used) {
  if (words.empty()) return nullptr;
  if (words[0] == "dlq") {
    if (words.size() < 2) return nullptr;
    used = 2;
    return find_command("dlq " + words[1]);
  }
  used = 1;
  return find_command(words[0]);
}

std::string dlq_usage() {
  return "usage: troupe dlq list|redrive|discard QUEUE ... (see troupe help "
         "dlq list)";
}

std::string remote_error(const std::string& code, const std::string& message) {
  return "troupe: " + code + (message.empty() ? "" : ": " + message);
}

} // namespace

bool is_command(std::string_view word) {
  if (word == "help" || word == "dlq") return true;
  for (auto& c : commands())
    if (word == c.name && word.find(' ') == std::string_view::npos) return true;
  return false;
}

std::string commands_help() {
  std::string out = "commands (troupe help COMMAND for one):\n";
  std::vector<std::vector<std::string>> rows;
  for (auto& c : commands()) {
    std::string usage = std::string{c.name} + (*c.args ? " " : "") + c.args;
    rows.push_back({"  " + usage, c.summary});
  }
  size_t w = 0;
  for (auto& r : rows) w = std::max(w, r[0].size());
  for (auto& r : rows)
    out += r[0] + std::string(w - r[0].size() + 2, ' ') + r[1] + "\n";
  out += "\nAll but check-config talk to a running engine as a worker. "
         "They take\n--address URL (default ws://127.0.0.1:49134), --token T, "
         "--timeout MS\n(default 10000) and --json, after the command.\n";
  return out;
}

parse_outcome parse_command_line(const std::vector<std::string>& args) {
  if (args.empty()) return usage("troupe: no command (see troupe --help)");
  // `troupe help [COMMAND...]`.
  if (args[0] == "help") {
    std::vector<std::string> rest(args.begin() + 1, args.end());
    if (rest.empty())
      return help("usage: troupe COMMAND [ARGS] [options]\n\n"
                  + commands_help());
    size_t used = 0;
    auto* c = lookup(rest, used);
    if (!c) {
      if (rest[0] == "dlq" && rest.size() == 1)
        return help(command_help(*find_command("dlq list"))
                    + "\nAlso: troupe help dlq redrive, troupe help dlq "
                      "discard.\n");
      return usage("troupe: no command '" + rest[0] + "' (see troupe --help)");
    }
    return help(command_help(*c));
  }
  size_t used = 0;
  auto* c = lookup(args, used);
  if (!c) {
    if (args[0] == "dlq") {
      if (args.size() >= 2 && (args[1] == "--help" || args[1] == "-h"))
        return help(command_help(*find_command("dlq list"))
                    + "\nAlso: troupe help dlq redrive, troupe help dlq "
                      "discard.\n");
      if (args.size() < 2 || args[1].rfind('-', 0) == 0)
        return usage("troupe dlq: missing command (list, redrive or "
                     "discard)\n"
                     + dlq_usage());
      return usage("troupe: unknown dlq command '" + args[1] + "'\n"
                   + dlq_usage());
    }
    return usage("troupe: unknown command '" + args[0]
                 + "' (see troupe --help)");
  }
  flags f;
  std::vector<std::string> words(args.begin() + used, args.end());
  auto err = read_flags(*c, words, f);
  if (f.help) return help(command_help(*c));
  auto fail = [c](const std::string& why) {
    return usage("troupe " + std::string{c->name} + ": " + why
                 + "\nusage: troupe " + c->name + (*c->args ? " " : "")
                 + c->args + " (see troupe help " + c->name + ")");
  };
  if (!err.empty()) return fail(err);
  if (f.positional.size() < c->min_args)
    return fail("missing argument" + std::string{c->max_args > 1 ? "s" : ""});
  if (f.positional.size() > c->max_args)
    return fail("unexpected argument '" + f.positional[c->max_args] + "'");
  parse_outcome out;
  out.kind = parse_outcome::run;
  out.req.command = c->name;
  out.req.opts = f.opts;
  err = build(*c, f, out.req);
  if (!err.empty()) return fail(err);
  if (c->remote) {
    protocol::ws_address addr;
    std::string why;
    if (!protocol::parse_ws_address(out.req.opts.address, addr, why))
      return fail("--address: " + why);
  }
  return out;
}

namespace {

int check_config(const request& req) {
  auto loaded = load_engine_config(req.config_path);
  std::string error;
  if (!loaded) error = error_text(loaded.error());
  if (req.opts.json)
    std::cout << protocol::check_config_json(req.config_path, !!loaded, error)
              << "\n";
  else if (loaded)
    std::cout << "ok\n";
  if (!loaded) {
    if (!req.opts.json) std::cerr << error << "\n";
    return exit_usage;
  }
  return exit_ok;
}

int call_engine(const request& req, const std::string& version) {
  using clock = protocol::ws_client::clock;
  auto& opts = req.opts;
  auto deadline = clock::now() + std::chrono::milliseconds(opts.timeout_ms);
  protocol::ws_address addr;
  std::string why;
  protocol::parse_ws_address(opts.address, addr, why); // checked when parsed
  protocol::ws_client ws;
  auto unreachable = [&](const std::string& what) {
    std::cerr << "troupe: " << what << "\n";
    ws.close(clock::now());
    return exit_unreachable;
  };
  auto timed_out = [&] {
    return "no answer from " + opts.address + " within "
           + std::to_string(opts.timeout_ms) + " ms";
  };
  auto st = ws.connect(addr, opts.token, deadline);
  if (st == protocol::ws_client_status::timeout)
    return unreachable("cannot connect to " + opts.address + " within "
                       + std::to_string(opts.timeout_ms) + " ms");
  if (st != protocol::ws_client_status::ok)
    return unreachable("cannot connect to " + opts.address + ": " + ws.error());
  // Like the SDK: a Void register names this connection in the engine's log.
  auto id = make_uuid();
  std::vector<std::string> out{
    protocol::worker_register_frame("troupe-cli", version,
                                    static_cast<long>(::getpid())),
    protocol::invoke_frame(req.invoke, id)};
  for (auto& frame : out) {
    st = ws.send(frame, deadline);
    if (st == protocol::ws_client_status::timeout)
      return unreachable(timed_out());
    if (st != protocol::ws_client_status::ok)
      return unreachable("connection to " + opts.address
                         + " lost: " + ws.error());
  }
  if (req.invoke.action == cli_action::void_call) {
    ws.close(std::min(deadline, clock::now() + close_grace));
    return exit_ok;
  }
  for (;;) {
    std::string text;
    st = ws.read(text, deadline);
    if (st == protocol::ws_client_status::timeout)
      return unreachable(timed_out());
    if (st != protocol::ws_client_status::ok)
      return unreachable("connection to " + opts.address
                         + " lost before an answer: " + ws.error());
    auto reply = protocol::parse_reply(text, id);
    if (reply.kind == protocol::cli_reply::unrelated) continue;
    ws.close(clock::now() + close_grace);
    if (reply.kind == protocol::cli_reply::failed) {
      std::cerr << remote_error(reply.code, reply.message) << "\n";
      return exit_remote;
    }
    if (opts.json)
      std::cout << reply.result << "\n";
    else
      std::cout << protocol::render_result(reply.result, req.view);
    std::cout.flush();
    return exit_ok;
  }
}

} // namespace

int run_request(const request& req, const std::string& version) {
  try {
    if (req.command == "check-config") return check_config(req);
    return call_engine(req, version);
  } catch (const std::exception& e) {
    // Nothing above should throw; a bug must still not look like a crash.
    std::cerr << "troupe: " << e.what() << "\n";
    return exit_unreachable;
  }
}

int run(int argc, char** argv, const std::string& version) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = parse_command_line(args);
  switch (parsed.kind) {
    case parse_outcome::help: std::cout << parsed.text; return exit_ok;
    case parse_outcome::usage:
      std::cerr << parsed.text << "\n";
      return exit_usage;
    case parse_outcome::run: break;
  }
  return run_request(parsed.req, version);
}

} // namespace troupe::cli
