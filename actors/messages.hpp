// Messages between troupe's actors. Plain structs with inspect(), so they
// serialise for free when they cross nodes. JSON values travel as raw text.
#pragma once

#include <cstdint>
#include <string>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>

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

/// Asks the queues to accept a job for `function_id` on `queue`.
/// Reply: invoke_result, `{"messageReceiptId":...}` or an enqueue_error body.
struct enqueue {
  std::string queue;
  std::string function_id;
  /// The payload (raw JSON).
  std::string data = "null";
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
typename Inspector::result_type inspect(Inspector& f, enqueue& x) {
  return f(caf::meta::type_name("troupe::enqueue"), x.queue, x.function_id,
           x.data);
}

} // namespace troupe
