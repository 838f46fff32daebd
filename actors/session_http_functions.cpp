// The session's side of HTTP-invoked functions: a registerfunction with an
// `invocation` object is checked against `iii-http-functions` and served by
// an http_function_actor instead of the worker itself.
#include "actors/session_actor.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>

#include "base/log.hpp"

namespace troupe {

void session_state::register_http_function(
  protocol::register_function_frame& x) {
  auto refuse = [&](const std::string& code, const std::string& message) {
    log::warn(log_name, "HTTP function ", x.id, " of worker ", worker_name,
              " refused: ", message);
    send_frame(protocol::error_frame_json(
      code, "registerfunction " + protocol::quote(x.id) + ": " + message));
  };
  if (!ctx.http_functions)
    return refuse("http_functions_disabled",
                  "functions with an invocation need the iii-http-functions "
                  "worker in the engine's config");
  if (auto err = protocol::check_http_invocation(*x.invocation,
                                                 ctx.http_functions->cfg))
    return refuse(err->code, err->message);
  // Replaces this worker's earlier registration of the id, of either kind.
  drop_http_function(x.id);
  self->send(ctx.registry, unregister_function{x.id, caf::actor{self}});
  auto id = x.id;
  http_function_spec spec{std::move(x.id), std::move(x.description),
                          std::move(x.metadata), std::move(*x.invocation)};
  http_functions[id] = self->spawn(http_function_actor, std::move(spec),
                                   ctx.http_functions, ctx.registry,
                                   caf::actor{self});
}

void session_state::drop_http_function(const std::string& id) {
  auto i = http_functions.find(id);
  if (i == http_functions.end()) return;
  self->send_exit(i->second, caf::exit_reason::normal);
  http_functions.erase(i);
}

} // namespace troupe
