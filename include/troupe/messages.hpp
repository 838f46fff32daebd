// The messages an application exchanges with the engine's actors: calls of
// functions, their answers, registrations, enqueues and queue statistics.
// Plain structs with inspect(), so they serialise when they cross nodes.
// JSON values travel as raw text, exactly as the caller wrote them: the
// engine never reformats a payload or a result. Every field has a default,
// so `troupe::invoke{"fn", payload}` may leave the trailing ones out
// (without -Wmissing-field-initializers warnings).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/type_id.hpp>

namespace troupe {

/// One call of a function. Sent to the registry, which delegates it to the
/// function's owner (a worker's connection, a C++ handler or a remote
/// node). Reply: invoke_result.
struct invoke {
  std::string function_id = {};
  /// The payload: JSON text ("null" when the caller sent none).
  std::string data = "null";
  /// JSON text, or empty when the caller sent none. Handed to the function
  /// as the call's metadata; never merged into `data`.
  std::string metadata = {};
  /// W3C trace context, passed along unchanged (empty when absent).
  std::string traceparent = {};
  std::string baggage = {};
  /// How long the caller waits; the owner forgets the call after that. 0
  /// means the owner's default.
  uint64_t timeout_ms = 0;
};

/// The answer to an invoke: when `ok`, `body` is the function's result
/// (JSON text); otherwise it is the error object `{"code":...,
/// "message":...}`, passed through from the worker as it was.
struct invoke_result {
  bool ok = true;
  std::string body = "null";

  /// A successful result. REQUIRES: `json` is valid JSON text.
  static invoke_result value(std::string json);

  /// An error `{"code":code,"message":message}`, in the shape the iii SDK
  /// turns into an InvocationError.
  static invoke_result error(std::string_view code, std::string_view message);

  /// The error's `code` and `message`; empty when ok, or when the body has
  /// no such string member.
  std::string error_code() const;
  std::string error_message() const;
};

/// `owner` serves function `id` from now on, beside any other provider of
/// `id`: the registry spreads the invokes for `id` over its providers, local
/// ones first. The same owner registering `id` again only updates its
/// description and metadata. When `owner` terminates, everything it
/// registered is removed.
struct register_function {
  std::string id = {};
  caf::actor owner = {};
  /// Shown by introspection; free text.
  std::string description = {};
  /// JSON text or empty.
  std::string metadata = {};
  /// Empty for a provider on this node; else the name of the remote node
  /// `owner` stands for.
  std::string node = {};
};

/// Removes `owner` as a provider of function `id`; other providers stay.
struct unregister_function {
  std::string id = {};
  caf::actor owner = {};
};

/// Asks a queue supervisor to accept a job for `function_id` with
/// `payload` (JSON text). Reply: the receipt id, which is also the job's
/// id. With the `file_based` store the reply comes once the job is on disk.
/// Errors: errc::enqueue_rejected with the text a worker would get as its
/// `enqueue_error` (payload too large, FIFO group field missing or null),
/// errc::shutting_down, errc::store_failure.
struct enqueue {
  std::string function_id = {};
  std::string payload = "null";
};

/// What `engine::queue::stats` reports for one queue. Counters start at 0
/// when the engine starts.
struct queue_stats {
  std::string queue = {};
  /// Ready to run, not yet started.
  uint64_t waiting = 0;
  uint64_t in_flight = 0;
  /// Waiting for a retry.
  uint64_t delayed = 0;
  /// In the dead-letter queue.
  uint64_t dlq = 0;
  uint64_t enqueued_total = 0;
  uint64_t succeeded_total = 0;
  uint64_t failed_attempts_total = 0;
  uint64_t dead_total = 0;
  /// FIFO queues in a cluster: jobs kept on this node for groups whose
  /// owner is away (down or left), not counted in `waiting`.
  uint64_t held = 0;
  /// Per node that is away: the number of its groups whose jobs wait here.
  std::map<std::string, uint64_t> waiting_on = {};
  /// Dispatch is paused (engine::queue::pause): no attempt starts.
  bool paused = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, invoke& x) {
  return f(caf::meta::type_name("troupe::invoke"), x.function_id, x.data,
           x.metadata, x.traceparent, x.baggage, x.timeout_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, invoke_result& x) {
  return f(caf::meta::type_name("troupe::invoke_result"), x.ok, x.body);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, register_function& x) {
  return f(caf::meta::type_name("troupe::register_function"), x.id, x.owner,
           x.description, x.metadata, x.node);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unregister_function& x) {
  return f(caf::meta::type_name("troupe::unregister_function"), x.id, x.owner);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, enqueue& x) {
  return f(caf::meta::type_name("troupe::enqueue"), x.function_id, x.payload);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, queue_stats& x) {
  return f(caf::meta::type_name("troupe::queue_stats"), x.queue, x.waiting,
           x.in_flight, x.delayed, x.dlq, x.enqueued_total, x.succeeded_total,
           x.failed_attempts_total, x.dead_total, x.held, x.waiting_on,
           x.paused);
}

} // namespace troupe

// Atoms of the public actor interfaces (troupe/handles.hpp). In CAF 0.17
// an atom is its text (at most 10 characters), unique project-wide.

/// Lists: the registry's function ids, a queue's dead jobs.
CAF_ADD_ATOM(troupe, troupe::atom, list, "list")
/// A queue's counters (engine::queue::stats).
CAF_ADD_ATOM(troupe, troupe::atom, stats, "stats")
/// Dead jobs go back to their queue with attempts reset.
CAF_ADD_ATOM(troupe, troupe::atom, redrive, "redrive")
/// A dead job is dropped for good.
CAF_ADD_ATOM(troupe, troupe::atom, discard, "discard")
/// A job in any state, by id (engine::queue::job).
CAF_ADD_ATOM(troupe, troupe::atom, lookup, "lookup")
/// One page of a queue's jobs in one state (engine::queue::jobs).
CAF_ADD_ATOM(troupe, troupe::atom, jobs, "jobs")
/// One page of a FIFO queue's groups (engine::queue::groups).
CAF_ADD_ATOM(troupe, troupe::atom, groups, "groups")
/// A queue stops starting attempts (engine::queue::pause).
CAF_ADD_ATOM(troupe, troupe::atom, pause, "pause")
/// A paused queue starts attempts again (engine::queue::resume).
CAF_ADD_ATOM(troupe, troupe::atom, resume, "resume")
/// A delayed job runs now instead of at its retry time
/// (engine::queue::retry_now).
CAF_ADD_ATOM(troupe, troupe::atom, retrynow, "retrynow")
