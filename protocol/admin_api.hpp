// The JSON of the admin listener (README: Operating troupe): its error
// body, /readyz and /api/status, the request bodies of its POST routes,
// and /api/queues, which joins what several engine functions answer
// (engine::queue::stats, engine::queue::jobs, engine::functions::list) with
// the queues' settings. Pure functions; they never throw.
// This header does not include nlohmann/json.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/config.hpp"

namespace troupe::protocol {

/// `{"error":{"code":...,"message":...}}`
std::string admin_error_json(std::string_view code, std::string_view message);

/// What /readyz and /api/status tell about the engine's phase.
struct admin_readiness {
  /// "starting", "recovering", "ready" or "stopping".
  std::string status;
  uint64_t loaded = 0;
  uint64_t total = 0;
};

/// `{"status":"ready"}`; `{"status":"recovering","loaded":N,"total":M}`;
/// `{"status":"starting"}`, `{"status":"stopping"}`.
std::string readyz_json(const admin_readiness& x);

struct admin_status_info {
  std::string version;
  admin_readiness readiness;
  bool read_only = false;
  bool auth = false;
  /// This node's cluster name; empty without a cluster (rendered null).
  std::string node;
  uint64_t uptime_seconds = 0;
};

/// `{version, ready, status, recovery: {loaded, total}, read_only, auth,
/// node, uptime_seconds}`
std::string status_json(const admin_status_info& x);

/// A POST body, parsed, or why it is refused (a message for a 400).
struct admin_body {
  /// Empty when the body is fine.
  std::string error;
  /// redrive and discard: the `ids` given (redrive: none means all dead).
  std::vector<std::string> ids;
  bool has_ids = false;
  /// retry_now: `id`.
  std::string id;
  /// enqueue: `function_id` and `payload` (raw JSON; "null" when absent).
  std::string function_id;
  std::string payload = "null";
};

/// `{}` or `{"ids":[non-empty strings, at least one]}`. Blank counts as
/// `{}`. With `ids_required`, `ids` must be there (discard).
admin_body parse_ids_body(std::string_view body, bool ids_required);

/// `{"id": non-empty string}`.
admin_body parse_id_body(std::string_view body);

/// `{"function_id": non-empty string, "payload"?: any JSON}`.
admin_body parse_enqueue_body(std::string_view body);

/// The `code` of an engine function's error body `{code, message}`;
/// empty when there is none.
std::string error_code_of(std::string_view body);

/// The unsigned integer member `key` of the object `body`; 0 when there is
/// none.
uint64_t uint_member(std::string_view body, std::string_view key);

/// One queue for /api/queues: its settings and the first page of its jobs
/// in each state (engine::queue::jobs answers, any order; waiting's first
/// entry is the oldest waiting job).
struct admin_queue_input {
  queue_config settings;
  std::vector<std::string> pages;
};

/// `{"queues":[{name, type, message_group_field, concurrency, max_retries,
/// backoff_ms, paused, waiting, in_flight, delayed, dead, oldest_waiting_at,
/// function_ids, unserved_functions}]}` from `stats` (the array
/// engine::queue::stats {} answers), `functions` (what
/// engine::functions::list answers) and `queues`, in the order of
/// `queues`. function_ids: the function ids of the jobs on those pages,
/// sorted; unserved_functions: those of the waiting page that no provider
/// serves (not in `functions`). A queue missing from `stats` counts 0.
std::string queues_json(std::string_view stats, std::string_view functions,
                        const std::vector<admin_queue_input>& queues);

/// `{"queue":q,"offset":o,"limit":l,"messages":<messages>}`, `messages`
/// being the array engine::queue::dlq_messages answers (embedded as is).
std::string dlq_page_json(std::string_view queue, uint64_t offset,
                          uint64_t limit, std::string_view messages);

/// `{"queue":q,"<what>":n}` for redrive (what = redriven) and discard
/// (what = discarded) of several ids.
std::string admin_count_json(std::string_view queue, std::string_view what,
                             uint64_t n);

/// /api/workers: what engine::workers::list answers (`{"workers":[...]}`)
/// with `functions`, the array engine::functions::list answers, added
/// (empty when `functions` has none).
std::string workers_json(std::string_view workers, std::string_view functions);

/// `{"messageReceiptId":id}`
std::string receipt_json(std::string_view id);

/// The JSON-escaped string literal of `s` (quotes included).
std::string json_string(std::string_view s);

} // namespace troupe::protocol
