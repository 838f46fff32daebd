// The JSON of iii's introspection functions (README: Introspection):
// engine::functions::list / info, engine::workers::list / info,
// engine::triggers::list, engine::registered-triggers::list / info, the
// payload of an engine::functions-available trigger, the worker metadata
// of engine::workers::register, and the input of engine::log::*. Results
// have the shapes of iii 0.22.1 (engine/src/workers/engine_fn/mod.rs).
//
// The registry hands the introspection actor a `catalog` (what it knows of
// functions, trigger types, triggers and workers); these pure functions
// filter and render it. They never throw. This header does not include
// nlohmann/json.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "troupe/messages.hpp"

namespace troupe::protocol {

/// What a session knows of its worker: its id and address from the
/// connection, the rest from `engine::workers::register` (empty strings and
/// pid -1 when the worker did not send them).
struct worker_meta {
  std::string worker_id = {};
  /// The worker sent engine::workers::register.
  bool registered = false;
  std::string name = {};
  std::string description = {};
  std::string runtime = {};
  std::string version = {};
  std::string os = {};
  std::string isolation = {};
  int64_t pid = -1;
  /// Raw JSON object or empty.
  std::string telemetry = {};
  /// The peer's IP address.
  std::string ip_address = {};
  /// Wall clock, milliseconds since the epoch.
  uint64_t connected_at_ms = 0;
};

/// Reads `data` of an engine::workers::register call into `x`: name,
/// description, runtime (default "unknown", as iii), version, os,
/// isolation, pid, telemetry. Members of the wrong type are ignored (the
/// call is Void: nobody hears of an error). Sets `registered`.
void read_worker_metadata(std::string_view data, worker_meta& x);

/// One function id as the registry knows it.
struct catalog_function {
  std::string id = {};
  /// Of the first provider that registered it with one; empty: none.
  std::string description = {};
  /// Raw JSON or empty.
  std::string metadata = {};
  /// The worker ids of the sessions on this node that provide it, in
  /// registration order.
  std::vector<std::string> worker_ids = {};
  /// Some actor on this node provides it (a session, an engine or C++
  /// function actor).
  bool local = false;
  /// The other nodes of the cluster that provide it, sorted.
  std::vector<std::string> nodes = {};
};

struct catalog_trigger_type {
  std::string id = {};
  /// The providing session's worker id; empty when the engine provides it.
  std::string worker_id = {};
};

struct catalog_trigger {
  std::string id = {};
  std::string type = {};
  std::string function_id = {};
  /// Raw JSON.
  std::string config = {};
  /// Raw JSON or empty.
  std::string metadata = {};
};

/// A snapshot of the registry. Functions are sorted by id, trigger types
/// and triggers by id, workers by id.
struct catalog {
  std::vector<catalog_function> functions = {};
  std::vector<catalog_trigger_type> trigger_types = {};
  std::vector<catalog_trigger> triggers = {};
  std::vector<worker_meta> workers = {};
  /// When the registry started (the engine's own workers' connected_at_ms).
  uint64_t started_at_ms = 0;
};

/// The ids answer_introspection serves.
const std::vector<std::string>& introspection_function_ids();

/// The in-process worker iii names as the owner of an engine function
/// (`iii-engine-functions`, `iii-queue`, `iii-observability`,
/// `troupe-cluster`), or empty for an id that is not `engine::*` /
/// `iii::*`.
std::string engine_worker_of(std::string_view function_id);

/// Answers a call of one of introspection_function_ids() with `data` (the
/// call's raw JSON) from `c`: the iii result, or `{code, message}` with
/// code invalid_argument (data not an object, a member of the wrong type,
/// a required member missing) or NOT_FOUND (iii's code for an unknown id
/// or name).
invoke_result answer_introspection(std::string_view function_id,
                                   std::string_view data, const catalog& c);

/// `{"event":"functions_changed","functions":[FunctionSummary...]}`: every
/// function, engine ones included, sorted by id (what iii sends an
/// engine::functions-available trigger).
std::string functions_available_json(const catalog& c);

/// An engine::log::* call: `{message, data?, trace_id?, span_id?,
/// service_name?}`.
struct log_call {
  std::string message = {};
  /// ` key=value` for each member of an object `data` (values as compact
  /// JSON, strings unquoted), or ` data=<json>` for any other `data`, then
  /// trace_id, span_id and service_name when set. Control characters are
  /// escaped, so one call is one log line.
  std::string fields = {};
  /// `_caller_worker_id`, which the session adds to a worker's calls.
  std::string caller_worker_id = {};
  std::string service_name = {};
  /// Empty when the call is fine, else the invalid_argument message.
  std::string error = {};
};

/// Parses an engine::log::* call; never throws. The message and each field
/// are cut at 4096 bytes.
log_call parse_log_call(std::string_view data);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_meta& x) {
  return f(caf::meta::type_name("troupe::worker_meta"), x.worker_id,
           x.registered, x.name, x.description, x.runtime, x.version, x.os,
           x.isolation, x.pid, x.telemetry, x.ip_address, x.connected_at_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, catalog_function& x) {
  return f(caf::meta::type_name("troupe::catalog_function"), x.id,
           x.description, x.metadata, x.worker_ids, x.local, x.nodes);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, catalog_trigger_type& x) {
  return f(caf::meta::type_name("troupe::catalog_trigger_type"), x.id,
           x.worker_id);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, catalog_trigger& x) {
  return f(caf::meta::type_name("troupe::catalog_trigger"), x.id, x.type,
           x.function_id, x.config, x.metadata);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, catalog& x) {
  return f(caf::meta::type_name("troupe::catalog"), x.functions,
           x.trigger_types, x.triggers, x.workers, x.started_at_ms);
}

} // namespace troupe::protocol
