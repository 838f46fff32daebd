// The JSON side of the command-line client (`troupe queues`, `troupe dlq
// list`, ...): the frames it sends as a worker, the engine's answers it
// reads, and the tables it prints. Pure functions on JSON text; they never
// throw. The client itself (cluster/cli.cpp) does the connection and the
// command line.
// This header does not include nlohmann/json.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace troupe::protocol {

/// True when `text` is one JSON value; otherwise says why in `error`
/// (nlohmann's position and reason, without its exception prefix).
bool check_json(const std::string& text, std::string& error);

/// `s` as a JSON string literal.
std::string json_quote(const std::string& s);

/// A JSON object from (name, JSON text) members, in that order.
/// REQUIRES: every value is valid JSON text.
std::string
json_object(const std::vector<std::pair<std::string, std::string>>& members);

enum class cli_action {
  /// Waits for the function's result.
  sync,
  /// No invocation_id, no answer.
  void_call,
  /// Through a queue: answers `{messageReceiptId}`.
  enqueue,
};

/// One `trigger()` as the client sends it.
struct cli_invoke {
  std::string function_id;
  /// JSON text.
  std::string data = "{}";
  cli_action action = cli_action::sync;
  /// For enqueue.
  std::string queue;
};

/// The `invokefunction` frame for `x`, as iii-sdk@0.22.1 writes it: with
/// `invocation_id` for sync and enqueue (ignored for Void), an `action` for
/// Void and enqueue. REQUIRES: `x.data` is valid JSON text.
std::string invoke_frame(const cli_invoke& x, const std::string& invocation_id);

/// The Void `engine::workers::register` the SDK sends, naming the client
/// in the engine's log.
std::string worker_register_frame(const std::string& name,
                                  const std::string& version, long pid);

/// What one frame from the engine means to a client waiting for
/// `invocation_id`.
struct cli_reply {
  enum kind_t {
    /// Anything else: workerregistered, results for other ids, junk.
    unrelated,
    /// The awaited result; `result` is its JSON text ("null" when absent).
    answered,
    /// The awaited call failed, or the engine refused a frame (an `error`
    /// frame): `code` and `message`.
    failed,
  };
  kind_t kind = unrelated;
  std::string result;
  std::string code;
  std::string message;
};

cli_reply parse_reply(const std::string& frame,
                      const std::string& invocation_id);

/// How a command's result reads as text.
enum class cli_view {
  /// Arrays of objects as a table (keys as columns), objects as key/value
  /// rows (an object whose only member is an array: that array), arrays of
  /// scalars one per line, scalars as they are.
  generic,
  /// `engine::queue::stats`: one row per queue with fixed columns (plus
  /// held and paused when any queue has them); else generic.
  queue_stats,
  /// `engine::workers::list`'s `{workers: [...]}`: one row per worker with
  /// name, id, runtime, version, status, functions, invocations and
  /// address; else generic.
  workers,
  /// An enqueue's answer: the messageReceiptId alone; else generic.
  receipt,
  /// A function's result: indented JSON.
  value,
};

/// `result` (JSON text) rendered for a terminal, ending in a newline.
/// Text that is not JSON is returned as it is.
std::string render_result(const std::string& result, cli_view view);

/// Rows under a header, columns padded to their widest cell (counted in
/// UTF-8 code points) and separated by two spaces; no trailing blanks.
std::string render_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows);

/// check-config's `--json` answer: `{"ok":true,"file":F}` or
/// `{"ok":false,"file":F,"errors":[E]}`.
std::string check_config_json(const std::string& file, bool ok,
                              const std::string& error);

} // namespace troupe::protocol
