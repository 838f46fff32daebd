#include "actors/http_function_actor.hpp"

#include <chrono>

#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include "actors/type_ids.hpp"
#include "base/log.hpp"
#include "base/uuid.hpp"

namespace troupe {

void http_function_state::init(caf::event_based_actor* self_ptr,
                               http_function_spec s,
                               std::shared_ptr<const http_functions_context> c,
                               caf::actor reg, caf::actor session) {
  self = self_ptr;
  spec = std::move(s);
  ctx = std::move(c);
  registry = std::move(reg);
  log_name = "http function " + spec.id;
  self->monitor(session);
  self->send(registry, register_function{spec.id, caf::actor{self},
                                         spec.description, spec.metadata});
  log::info(log_name, "registered: ", spec.invocation.method, " ",
            spec.invocation.url);
}

caf::result<invoke_result> http_function_state::on_invoke(invoke& x) {
  const auto& inv = spec.invocation;
  auto now = std::chrono::system_clock::now().time_since_epoch();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(now).count();
  auto req = protocol::make_outbound_request(inv, ctx->cfg, spec.id,
                                             std::move(x.data), make_uuid(),
                                             static_cast<uint64_t>(secs));
  auto call = next_call++;
  auto promise = self->make_response_promise<invoke_result>();
  pending.emplace(call, promise);
  auto timeout = req.timeout;
  auto what = inv.method + " " + inv.url;
  auto max_bytes = ctx->cfg.max_response_bytes;
  caf::actor me{self};
  // Runs on the client's I/O thread: map, then hand off.
  ctx->client->send(std::move(req), [me, call, what, timeout, max_bytes](
                                      protocol::outbound_response res) {
    auto out = protocol::map_outbound_response(res, what, timeout, max_bytes);
    caf::anon_send(me, atom::httpdone_v, call,
                   invoke_result{out.ok, std::move(out.body)});
  });
  return promise;
}

void http_function_state::on_done(uint64_t call, invoke_result& r) {
  auto i = pending.find(call);
  if (i == pending.end()) return;
  if (!r.ok) log::warn(log_name, "call failed: ", r.body);
  i->second.deliver(std::move(r));
  pending.erase(i);
  if (stopping && pending.empty()) self->quit();
}

void http_function_state::stop() {
  if (!stopping) {
    stopping = true;
    self->send(registry, unregister_function{spec.id, caf::actor{self}});
    log::info(log_name, "removed");
  }
  if (pending.empty()) self->quit();
}

void http_function_state::abort() {
  auto stopped = invoke_result::error("invocation_stopped",
                                      "Invocation stopped");
  for (auto& kvp : pending) kvp.second.deliver(stopped);
  pending.clear();
  stop();
}

caf::behavior
http_function_actor(caf::stateful_actor<http_function_state>* self,
                    http_function_spec spec,
                    std::shared_ptr<const http_functions_context> c,
                    caf::actor registry, caf::actor session) {
  self->state.init(self, std::move(spec), std::move(c), std::move(registry),
                   std::move(session));
  // The worker is gone: like its other functions, calls in flight stop.
  self->set_down_handler([self](caf::down_msg&) { self->state.abort(); });
  // exit_reason::normal from the session (unregister, replaced): calls in
  // flight finish first. Anything else (the engine stopping): at once.
  self->set_exit_handler([self](caf::exit_msg& x) {
    if (x.reason == caf::exit_reason::normal)
      self->state.stop();
    else
      self->state.abort();
  });
  return {
    [self](invoke& x) { return self->state.on_invoke(x); },
    [self](atom::httpdone, uint64_t call, invoke_result& r) {
      self->state.on_done(call, r);
    },
  };
}

} // namespace troupe
