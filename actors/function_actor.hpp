// The actors that serve C++ functions registered through the embedding API
// (engine::add_function): each holds one callable and answers every invoke
// of its function with it. An exception the callable throws becomes an
// `invocation_failed` error for that call; the actor lives on. The engine
// registers the actor in the registry as the function's owner and stops it
// when the function is removed or the engine stops.
#pragma once

#include <string>

#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "troupe/engine.hpp"

namespace troupe {

struct function_state {
  /// The function id, for error messages.
  std::string id;

  static inline const char* name = "troupe.function";
};

/// Serves `id` with a callable that answers at once.
caf::behavior function_actor(caf::stateful_actor<function_state>* self,
                             std::string id, function_fn fn);

/// Serves `id` with a callable that may answer later through a promise.
caf::behavior async_function_actor(caf::stateful_actor<function_state>* self,
                                   std::string id, async_function_fn fn);

} // namespace troupe
