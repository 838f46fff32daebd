#include "actors/function_actor.hpp"

#include <exception>

namespace troupe {

namespace {

/// The error body for a callable that threw.
invoke_result thrown(const std::string& id, std::exception_ptr ep) {
  try {
    std::rethrow_exception(ep);
  } catch (const std::exception& e) {
    return invoke_result::error("invocation_failed", e.what());
  } catch (...) {
    return invoke_result::error(
      "invocation_failed", "function " + id + " threw an unknown exception");
  }
}

} // namespace

caf::behavior function_actor(caf::stateful_actor<function_state>* self,
                             std::string id, function_fn fn) {
  self->state.id = std::move(id);
  return {
    [self, fn](const invoke& x) -> invoke_result {
      try {
        return fn(x);
      } catch (...) {
        return thrown(self->state.id, std::current_exception());
      }
    },
  };
}

caf::behavior async_function_actor(caf::stateful_actor<function_state>* self,
                                   std::string id, async_function_fn fn) {
  self->state.id = std::move(id);
  return {
    [self, fn](invoke& x) -> caf::result<invoke_result> {
      try {
        return fn(self, x);
      } catch (...) {
        return thrown(self->state.id, std::current_exception());
      }
    },
  };
}

} // namespace troupe
