// A delivery actor runs attempts of jobs for its queue supervisor: it invokes
// the job's function on the provider whose turn it is in the route cache, or
// asks the registry when the cache has none, and reports the outcome as
// attempt_done. The supervisor gives it one attempt at a time, and enforces
// the queue's timeout_ms itself. Standard
// queues keep a pool of `concurrency` of them; FIFO queues spawn one per
// message group (a group actor) and stop it when the group is empty.
#pragma once

#include <string>

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/messages.hpp"
#include "actors/route_cache.hpp"

namespace troupe {

struct delivery_state {
  caf::event_based_actor* self = nullptr;
  caf::actor supervisor;
  caf::actor registry;
  route_cache::reader routes;
  /// The FIFO group this actor serves; empty in a standard pool.
  std::string group;

  static inline const char* name = "troupe.delivery";

  void on_attempt(attempt& x);
};

caf::behavior delivery_actor(caf::stateful_actor<delivery_state>* self,
                             caf::actor supervisor, caf::actor registry,
                             std::shared_ptr<const route_cache> routes,
                             std::string group);

} // namespace troupe
