// The admin listener's JSON API (README: Operating troupe, Admin
// listener): the actor that answers the /api/ requests which need the
// engine. It gets each as an `http_call` from the listener's I/O thread,
// which has already applied every rule of admin_routes.hpp, and answers
// through the engine's own functions (engine::queue::*, iii::queue::*,
// engine::functions::list, engine::workers::list), called through the
// registry like a worker's call, so that in a cluster the answer covers
// every node. Only an enqueue goes to the queue's supervisor directly, as
// a worker's enqueue does. Never an exception: every failure is a JSON
// error with its status.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/messages.hpp"
#include "actors/queue_directory.hpp"
#include "admin/admin_routes.hpp"

namespace troupe::admin {

/// How long one call of an engine function may take before the request
/// gets 504.
constexpr auto admin_call_timeout = std::chrono::seconds(10);

/// The HTTP status for an engine function's error code: 404 for an
/// unknown queue or job, 400 for a bad argument, 503 when the function is
/// not there, 504 for a timeout, else 500.
unsigned status_for_code(const std::string& code);

struct admin_state {
  caf::event_based_actor* self = nullptr;
  admin_policy policy;
  caf::actor registry;
  std::shared_ptr<const queue_directory> queues;

  static inline const char* name = "troupe.admin";

  void serve(http_call& call);

private:
  using responder = std::shared_ptr<protocol::http_responder>;
  /// Calls `function_id` with `data`, then `done(result)`; a failed
  /// request becomes an error result (timeout, ...).
  template <class F>
  void call(const std::string& function_id, std::string data, F done);
  /// Calls `function_id` and answers with its result as it is (200), or
  /// with its error (status_for_code).
  void pass_through(const std::string& function_id, std::string data,
                    responder out);
  void queue_list(responder out);
  /// redrive or discard of each of `ids`, summed into `{queue, what: n}`.
  void per_id(const std::string& function_id, const std::string& queue,
              std::vector<std::string> ids, const char* what, responder out);
  void enqueue(const std::string& queue, const std::string& body,
               responder out);
};

caf::behavior admin_actor(caf::stateful_actor<admin_state>* self,
                          admin_policy policy, caf::actor registry,
                          std::shared_ptr<const queue_directory> queues);

} // namespace troupe::admin
