// Messages between troupe's actors. Plain structs with inspect(), so they
// serialise for free when they cross nodes. JSON values travel as raw text.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>

#include "actors/job.hpp"
#include "protocol/http_server.hpp"

namespace troupe {

/// Asks for one call of a function. Sent to the registry, which delegates it
/// to the function's owner. Reply: invoke_result.
struct invoke {
  std::string function_id;
  /// The payload (raw JSON).
  std::string data = "null";
  /// Raw JSON, or empty when the caller sent none.
  std::string metadata;
  std::string traceparent;
  std::string baggage;
  /// How long the caller waits; the owner forgets the call after that.
  uint64_t timeout_ms = 0;
};

/// The answer to an invoke: the function's result, or an error body
/// `{"code":...,"message":...}` passed through from the worker as it was.
struct invoke_result {
  bool ok = true;
  std::string body = "null";
};

/// A connection (`owner`) registers function `id`. Last writer wins.
struct register_function {
  std::string id;
  caf::actor owner;
  std::string description;
  std::string metadata;
};

/// Removes function `id` if `owner` still owns it.
struct unregister_function {
  std::string id;
  caf::actor owner;
};

/// A connection registers a trigger. Reply: caf::unit, or an error whose
/// message goes back to the worker in a triggerregistrationresult.
struct register_trigger {
  std::string id;
  std::string type;
  std::string function_id;
  /// Raw JSON object.
  std::string config;
  std::string metadata;
  caf::actor owner;
};

/// Removes trigger `id` if `owner` registered it.
struct unregister_trigger {
  std::string id;
  caf::actor owner;
};

/// One HTTP request for the HTTP router, from the server's I/O thread; the
/// router answers through `responder`. Local only: the responder does not
/// serialise, so this never crosses nodes.
struct http_call {
  protocol::http_request request;
  std::shared_ptr<protocol::http_responder> responder;
};

/// A queue asks a delivery (or group) actor to run one attempt of a job.
struct attempt {
  std::string job_id;
  /// Attempts the job had made before this one; echoed in attempt_done so a
  /// late answer to an earlier attempt is recognised.
  uint32_t number = 0;
  std::string function_id;
  std::string payload;
  uint64_t timeout_ms = 0;
};

/// A delivery actor reports how an attempt ended. `body` is the result, or
/// the error body when `!ok`.
struct attempt_done {
  std::string job_id;
  uint32_t number = 0;
  bool ok = false;
  std::string body;
};

/// What `engine::queue::stats` reports for one queue.
struct queue_stats {
  std::string queue;
  uint64_t waiting = 0;
  uint64_t in_flight = 0;
  uint64_t delayed = 0;
  uint64_t dlq = 0;
  uint64_t enqueued_total = 0;
  uint64_t succeeded_total = 0;
  uint64_t failed_attempts_total = 0;
  uint64_t dead_total = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attempt& x) {
  return f(caf::meta::type_name("troupe::attempt"), x.job_id, x.number,
           x.function_id, x.payload, x.timeout_ms);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attempt_done& x) {
  return f(caf::meta::type_name("troupe::attempt_done"), x.job_id, x.number,
           x.ok, x.body);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, queue_stats& x) {
  return f(caf::meta::type_name("troupe::queue_stats"), x.queue, x.waiting,
           x.in_flight, x.delayed, x.dlq, x.enqueued_total, x.succeeded_total,
           x.failed_attempts_total, x.dead_total);
}

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
           x.description, x.metadata);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unregister_function& x) {
  return f(caf::meta::type_name("troupe::unregister_function"), x.id,
           x.owner);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, register_trigger& x) {
  return f(caf::meta::type_name("troupe::register_trigger"), x.id, x.type,
           x.function_id, x.config, x.metadata, x.owner);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unregister_trigger& x) {
  return f(caf::meta::type_name("troupe::unregister_trigger"), x.id, x.owner);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_call& x) {
  auto& r = x.request;
  return f(caf::meta::type_name("troupe::http_call"), r.method, r.path,
           r.query, r.headers, r.body);
}


} // namespace troupe
