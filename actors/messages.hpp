// Messages between troupe's own actors, besides the public ones in
// troupe/messages.hpp. Plain structs with inspect(), so they serialise for
// free when they cross nodes. JSON values travel as raw text.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/meta/type_name.hpp>

#include "actors/job.hpp"
#include "protocol/http_server.hpp"
#include "troupe/messages.hpp"

namespace troupe {

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
  /// Empty for a trigger of this node's workers; else the remote node whose
  /// worker registered it (HTTP routes mirrored across a cluster, which a
  /// peer actor owns here).
  std::string node;
};

/// Removes trigger `id` if `owner` registered it. `node`: as in
/// register_trigger. `type`: the trigger's type, set by the registry when it
/// tells a provider (a worker's SDK ignores an unregistertrigger without
/// it); senders may leave it empty.
struct unregister_trigger {
  std::string id;
  caf::actor owner;
  std::string node;
  std::string type = {};
};

/// A `triggerregistrationresult`: from the session of a trigger type's
/// provider to the registry (how the provider took binding `id`), and from
/// the registry to the session of the worker that registered the trigger
/// when its provider refused it (the session tells its worker). `code` and
/// `message` are set only when `failed`.
struct trigger_result {
  std::string id;
  std::string type;
  std::string function_id;
  bool failed = false;
  std::string code;
  std::string message;
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
typename Inspector::result_type inspect(Inspector& f, register_trigger& x) {
  return f(caf::meta::type_name("troupe::register_trigger"), x.id, x.type,
           x.function_id, x.config, x.metadata, x.owner, x.node);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unregister_trigger& x) {
  return f(caf::meta::type_name("troupe::unregister_trigger"), x.id, x.owner,
           x.node, x.type);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, trigger_result& x) {
  return f(caf::meta::type_name("troupe::trigger_result"), x.id, x.type,
           x.function_id, x.failed, x.code, x.message);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_call& x) {
  auto& r = x.request;
  return f(caf::meta::type_name("troupe::http_call"), r.method, r.path, r.query,
           r.headers, r.body);
}

} // namespace troupe
