#include "actors/delivery_actor.hpp"

#include <chrono>

#include "actors/call_error.hpp"
#include "actors/type_ids.hpp"

namespace troupe {

void delivery_state::on_attempt(attempt& x) {
  auto timeout_ms = x.timeout_ms;
  auto id = x.job_id;
  auto number = x.number;
  auto fn = x.function_id;
  auto report = [this, id, number](invoke_result r) {
    self->send(supervisor, attempt_done{id, number, r.ok, std::move(r.body)});
  };
  // No request timeout here: the supervisor's sweep fails overdue attempts
  // (one timer per queue instead of one per attempt), and a late answer is
  // recognised by its attempt number and dropped.
  auto dest = routes.pick(fn);
  self
    ->request(
      dest ? dest : registry, caf::infinite,
      invoke{
        std::move(x.function_id), std::move(x.payload), {}, {}, {}, timeout_ms})
    .then([report](invoke_result& r) { report(std::move(r)); },
          [report, fn, timeout_ms](caf::error& err) {
            report(request_failure(err, fn, timeout_ms));
          });
}

caf::behavior delivery_actor(caf::stateful_actor<delivery_state>* self,
                             caf::actor supervisor, caf::actor registry,
                             std::shared_ptr<const route_cache> routes,
                             std::string group) {
  auto& st = self->state;
  st.self = self;
  st.supervisor = std::move(supervisor);
  st.registry = std::move(registry);
  st.routes = route_cache::reader{std::move(routes)};
  st.group = std::move(group);
  return {
    [self](attempt& x) { self->state.on_attempt(x); },
  };
}

} // namespace troupe
