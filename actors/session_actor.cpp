#include "actors/session_actor.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/sec.hpp>
#include <caf/send.hpp>

#include "actors/call_error.hpp"
#include "actors/job.hpp"
#include "actors/registry_actor.hpp"
#include "actors/type_ids.hpp"
#include "base/errc.hpp"
#include "base/log.hpp"
#include "base/uuid.hpp"
#include "protocol/json_member.hpp"

namespace troupe {

namespace {

constexpr auto sweep_interval = std::chrono::seconds(5);

/// Calls answered by the engine itself on the worker's connection.
constexpr std::string_view workers_register_fn = "engine::workers::register";

/// Feeds a session actor from the I/O thread, one actor message per read.
/// Order is kept: messages from one thread to one actor arrive in the order
/// they were sent.
class session_bridge : public protocol::ws_handler {
public:
  explicit session_bridge(caf::actor session) : session_(std::move(session)) {}

  void on_frames(std::vector<std::string> texts) override {
    caf::anon_send(session_, atom::frame_v, std::move(texts));
  }

  void on_close(std::string reason) override {
    caf::anon_send(session_, atom::closed_v, std::move(reason));
  }

private:
  caf::actor session_;
};

} // namespace

std::unique_ptr<protocol::ws_handler> make_session_bridge(caf::actor session) {
  return std::make_unique<session_bridge>(std::move(session));
}

// -- lifecycle ----------------------------------------------------------------

void session_state::init(caf::event_based_actor* self_ptr,
                         std::shared_ptr<protocol::ws_peer> peer_ptr,
                         session_context c,
                         std::shared_ptr<const access_grant> granted) {
  self = self_ptr;
  peer = std::move(peer_ptr);
  ctx = std::move(c);
  routes = route_cache::reader{ctx.routes};
  if (granted) grant = *granted;
  if (ctx.metrics) {
    ctx.metrics->connected.fetch_add(1, std::memory_order_relaxed);
    ctx.metrics->connections.fetch_add(1, std::memory_order_relaxed);
    mark.counters = ctx.metrics;
  }
  worker_id = make_uuid();
  worker_name = peer->remote();
  log_name = "session " + std::to_string(peer->id());
  send_frame(protocol::workerregistered_json(worker_id, make_uuid()));
  // So that this worker's reconnect can replace what this session holds.
  self->send(ctx.registry, atom::worker_v, worker_id);
  meta.worker_id = worker_id;
  meta.ip_address = peer->remote().substr(0, peer->remote().rfind(':'));
  meta.connected_at_ms = wall_clock_ms();
  self->send(ctx.registry, meta);
  log::info(log_name, "worker connected from ", peer->remote());
}

void session_state::on_closed(const std::string& reason) {
  log::info(log_name, "worker ", worker_name, " disconnected: ", reason);
  auto stopped = engine_error("invocation_stopped", "Invocation stopped");
  for (auto& kvp : pending) kvp.second.promise.deliver(stopped);
  pending.clear();
  self->quit();
}

// -- frames to the worker -----------------------------------------------------

void session_state::send_frame(std::string text) {
  peer->queue(std::move(text));
  if (write_armed) return;
  // Behind whatever is in the mailbox now: everything the session answers
  // to it goes out in one write.
  write_armed = true;
  self->send(self, atom::write_out_v);
}

void session_state::on_write_out() {
  write_armed = false;
  peer->flush();
}

// -- frames from the worker ---------------------------------------------------

void session_state::on_frame(std::string& text) {
  auto f = protocol::parse_frame(text);
  std::visit([this](auto& x) { handle(x); }, f);
}

namespace {

/// Function ids and trigger types only the engine provides: a worker that
/// took one over would get the engine's calls (and could forge the
/// answers), or every later HTTP route, and they would be gone with it.
bool reserved(std::string_view id) {
  return id.rfind("engine::", 0) == 0 || id.rfind("iii::", 0) == 0;
}

} // namespace

bool session_state::refuse_reserved(const std::string& what,
                                    const std::string& id) {
  if (!reserved(id) && !(what == "trigger type" && id == "http")) return false;
  auto msg = "the " + what + " '" + id
             + "' belongs to the engine (engine::*, iii::* and http are "
               "reserved); not registered";
  log::warn(log_name, "worker ", worker_name, ": ", msg);
  send_frame(protocol::error_frame_json("reserved_id", msg));
  return true;
}

bool session_state::refuse_ungranted(const std::string& what,
                                     const std::string& id, bool allowed) {
  if (allowed) return false;
  auto msg = what + " '" + id
             + "' refused: this connection's authentication does not "
               "allow it";
  log::warn(log_name, "worker ", worker_name, ": ", msg);
  send_frame(protocol::error_frame_json("forbidden", msg));
  return true;
}

bool session_state::refuse_call(const protocol::invoke_frame& x) {
  static const access_rules no_rules{};
  const auto& rules = ctx.access ? *ctx.access : no_rules;
  if (function_allowed(rules, grant, x.function_id)) return false;
  auto fix = explicitly_forbidden(grant, x.function_id)
               ? "the auth function's forbidden_functions name it"
               : "add it to rbac.expose_functions";
  auto msg = "function '" + x.function_id + "' not allowed (" + fix + ")";
  log::debug(log_name, "worker ", worker_name, ": ", msg);
  if (!x.invocation_id.empty())
    reply(x.invocation_id, x.function_id,
          invoke_result::error("FORBIDDEN", msg));
  return true;
}

void session_state::handle(protocol::register_function_frame& x) {
  if (refuse_reserved("function id", x.id)) return;
  if (refuse_ungranted("registration of function", x.id,
                       grant.allow_function_registration))
    return;
  if (x.invocation) return register_http_function(x);
  drop_http_function(x.id);
  log::debug(log_name, "registers function ", x.id);
  self->send(ctx.registry, register_function{std::move(x.id), caf::actor{self},
                                             std::move(x.description),
                                             std::move(x.metadata)});
}

void session_state::handle(protocol::unregister_function_frame& x) {
  drop_http_function(x.id);
  self->send(ctx.registry,
             unregister_function{std::move(x.id), caf::actor{self}});
}

void session_state::handle(protocol::register_trigger_frame& x) {
  if (!trigger_type_allowed(grant, x.trigger_type)) {
    auto msg = "trigger " + x.id + " of type '" + x.trigger_type
               + "' refused: this connection's authentication does not "
                 "allow that trigger type";
    log::warn(log_name, "worker ", worker_name, ": ", msg);
    send_frame(protocol::trigger_registration_error_json(
      x.id, x.trigger_type, x.function_id, "forbidden", msg));
    return;
  }
  auto id = x.id;
  auto type = x.trigger_type;
  auto fn = x.function_id;
  self
    ->request(ctx.registry, caf::infinite,
              register_trigger{std::move(x.id),
                               std::move(x.trigger_type),
                               std::move(x.function_id),
                               std::move(x.config),
                               std::move(x.metadata),
                               caf::actor{self},
                               {}})
    .then([] {},
          [this, id, type, fn](caf::error& err) {
            auto msg = error_text(err);
            log::warn(log_name, "trigger ", id, " (", type, ") for ", fn,
                      " rejected: ", msg);
            send_frame(protocol::trigger_registration_error_json(
              id, type, fn, "trigger_registration_failed", msg));
          });
}

void session_state::handle(protocol::unregister_trigger_frame& x) {
  self->send(ctx.registry,
             unregister_trigger{std::move(x.id), caf::actor{self}, {}});
}

void session_state::handle(protocol::register_trigger_type_frame& x) {
  if (refuse_reserved("trigger type", x.id)) return;
  if (refuse_ungranted("registration of trigger type", x.id,
                       grant.allow_trigger_type_registration))
    return;
  log::info(log_name, "worker ", worker_name, " provides trigger type ", x.id);
  self->send(ctx.registry, atom::provide_v, std::move(x.id), caf::actor{self});
}

void session_state::handle(protocol::unregister_trigger_type_frame& x) {
  log::debug(log_name, "unregisters trigger type ", x.id,
             " (kept until the connection closes)");
}

void session_state::handle(protocol::invoke_frame& x) {
  if (refuse_call(x)) return;
  if (x.function_id == workers_register_fn) {
    on_worker_metadata(x);
    return;
  }
  switch (x.action) {
    case protocol::invoke_action::sync: call_sync(x); break;
    case protocol::invoke_action::void_call: call_void(x); break;
    case protocol::invoke_action::enqueue: call_enqueue(x); break;
  }
}

void session_state::handle(protocol::result_frame& x) {
  auto i = pending.find(x.invocation_id);
  if (i == pending.end()) return; // late, unknown or for a Void call
  i->second.promise.deliver(invoke_result{!x.is_error, std::move(x.body)});
  pending.erase(i);
}

void session_state::handle(protocol::reattach_frame& x) {
  log::debug(log_name, "reattach from previous worker ", x.previous_worker_id);
  // Before the replay that follows: the registry drops what the old
  // connection still holds, so these registrations replace it.
  self->send(ctx.registry, atom::reattach_v, std::move(x.previous_worker_id));
}

void session_state::handle(protocol::trigger_result_frame& x) {
  if (x.is_error)
    log::debug(log_name, "worker ", worker_name, " refused trigger ", x.id,
               ": ", x.error_code, ": ", x.error_message);
  // The registry checks that this worker provides the trigger's type.
  self->send(ctx.registry,
             trigger_result{std::move(x.id), std::move(x.trigger_type),
                            std::move(x.function_id), x.is_error,
                            std::move(x.error_code),
                            std::move(x.error_message)});
}

void session_state::handle(protocol::bad_frame& x) {
  log::warn(log_name, "bad frame from worker ", worker_name, ": ", x.code, ": ",
            x.message);
  if (!x.invocation_id.empty())
    send_frame(protocol::to_json(
      protocol::result_frame{x.invocation_id, x.function_id, true,
                             protocol::error_body_json(x.code, x.message)}));
  else
    send_frame(protocol::error_frame_json(x.code, x.message));
}

// -- calls made by this worker ------------------------------------------------

void session_state::call_sync(protocol::invoke_frame& x) {
  auto timeout = ctx.invocation_timeout;
  auto timeout_ms = static_cast<uint64_t>(timeout.count());
  auto id = std::move(x.invocation_id);
  auto fn = x.function_id;
  x.data = protocol::with_member(x.data, "_caller_worker_id",
                                 protocol::quote(worker_id));
  auto dest = routes.pick(x.function_id);
  self
    ->request(dest ? dest : ctx.registry, timeout,
              invoke{std::move(x.function_id), std::move(x.data),
                     std::move(x.metadata), std::move(x.traceparent),
                     std::move(x.baggage), timeout_ms})
    .then(
      [this, id, fn](invoke_result& r) {
        count_call(metrics::call_kind::sync, r);
        reply(id, fn, std::move(r));
      },
      [this, id, fn, timeout_ms](caf::error& err) {
        auto r = request_failure(err, fn, timeout_ms);
        count_call(metrics::call_kind::sync, r);
        reply(id, fn, std::move(r));
      });
}

void session_state::call_void(protocol::invoke_frame& x) {
  x.data = protocol::with_member(x.data, "_caller_worker_id",
                                 protocol::quote(worker_id));
  auto dest = routes.pick(x.function_id);
  caf::anon_send(dest ? dest : ctx.registry,
                 invoke{std::move(x.function_id), std::move(x.data),
                        std::move(x.metadata), std::move(x.traceparent),
                        std::move(x.baggage), 0});
  if (ctx.metrics)
    ctx.metrics->count_call(metrics::call_kind::void_call,
                            metrics::call_outcome::sent);
}

void session_state::call_enqueue(protocol::invoke_frame& x) {
  auto id = std::move(x.invocation_id);
  auto fn = x.function_id;
  auto q = ctx.queues ? ctx.queues->find(x.queue) : nullptr;
  if (!q) {
    auto r = engine_error("enqueue_error",
                          "Queue '" + x.queue + "' not found");
    count_call(metrics::call_kind::enqueue, r);
    reply(id, fn, std::move(r));
    return;
  }
  auto made = make_job(q->spec, ctx.queues->max_payload_bytes,
                       std::move(x.function_id), std::move(x.data));
  if (!made) {
    auto r = engine_error("enqueue_error", error_text(made.error()));
    count_call(metrics::call_kind::enqueue, r);
    reply(id, fn, std::move(r));
    return;
  }
  self->request(q->supervisor, caf::infinite, std::move(*made))
    .then(
      [this, id, fn](const std::string& receipt) {
        invoke_result r{true, R"({"messageReceiptId":)"
                                + protocol::quote(receipt) + "}"};
        count_call(metrics::call_kind::enqueue, r);
        reply(id, fn, std::move(r));
      },
      [this, id, fn](caf::error& err) {
        auto r = engine_error("enqueue_error", error_text(err));
        count_call(metrics::call_kind::enqueue, r);
        reply(id, fn, std::move(r));
      });
}

void session_state::reply(const std::string& invocation_id,
                          const std::string& function_id, invoke_result r) {
  send_frame(protocol::to_json(protocol::result_frame{
    invocation_id, function_id, !r.ok, std::move(r.body)}));
}

void session_state::count_call(metrics::call_kind kind,
                               const invoke_result& r) {
  if (!ctx.metrics) return;
  auto outcome = r.ok ? metrics::call_outcome::ok
                      : metrics::classify_call(
                        protocol::find_member(r.body, "code").value);
  ctx.metrics->count_call(kind, outcome);
}

void session_state::on_worker_metadata(const protocol::invoke_frame& x) {
  auto name = protocol::find_member(x.data, "name");
  if (name.state == protocol::member_state::found && name.is_string
      && !name.value.empty()) {
    worker_name = name.value;
    log::info(log_name, "worker ", worker_name, " registered (", peer->remote(),
              ")");
  }
  protocol::read_worker_metadata(x.data, meta);
  self->send(ctx.registry, meta);
  if (!x.invocation_id.empty())
    reply(x.invocation_id, x.function_id,
          invoke_result{true, R"({"success":true})"});
}

// -- calls this worker runs ---------------------------------------------------

caf::result<invoke_result> session_state::on_invoke(invoke& x) {
  auto id = make_uuid();
  auto timeout = x.timeout_ms > 0 ? std::chrono::milliseconds(x.timeout_ms)
                                  : ctx.invocation_timeout;
  protocol::invoke_frame out;
  out.invocation_id = id;
  out.function_id = x.function_id;
  out.data = std::move(x.data);
  out.metadata = std::move(x.metadata);
  out.traceparent = std::move(x.traceparent);
  out.baggage = std::move(x.baggage);
  send_frame(protocol::to_json(out));
  auto rp = self->make_response_promise();
  if (!rp.pending()) return rp; // a Void call: nobody waits
  pending.emplace(std::move(id), pending_call{rp, std::move(x.function_id),
                                              self->clock().now() + timeout});
  arm_sweep();
  return rp;
}

void session_state::arm_sweep() {
  if (sweep_armed) return;
  sweep_armed = true;
  self->delayed_send(self, sweep_interval, atom::sweep_v);
}

void session_state::on_sweep() {
  sweep_armed = false;
  auto now = self->clock().now();
  for (auto i = pending.begin(); i != pending.end();) {
    if (i->second.deadline + sweep_interval < now) {
      i->second.promise.deliver(engine_error(
        "timeout", "Invocation of " + i->second.function_id + " timed out"));
      i = pending.erase(i);
    } else {
      ++i;
    }
  }
  if (!pending.empty()) arm_sweep();
}

// -- triggers served by this worker (registertriggertype) --------------------

caf::result<void>
session_state::on_register_trigger(const register_trigger& x) {
  send_frame(protocol::to_json(protocol::register_trigger_frame{
    x.id, x.type, x.function_id, x.config, x.metadata}));
  return caf::unit;
}

void session_state::on_unregister_trigger(const unregister_trigger& x) {
  send_frame(
    protocol::to_json(protocol::unregister_trigger_frame{x.id, x.type}));
}

// -- this worker's triggers ---------------------------------------------------

void session_state::on_trigger_refused(const trigger_result& x) {
  log::warn(log_name, "trigger ", x.id, " (", x.type, ") for ", x.function_id,
            " refused by its provider: ", x.code, ": ", x.message);
  send_frame(protocol::trigger_registration_error_json(
    x.id, x.type, x.function_id, x.code, x.message));
}

caf::behavior session_actor(caf::stateful_actor<session_state>* self,
                            std::shared_ptr<protocol::ws_peer> peer,
                            session_context ctx,
                            std::shared_ptr<const access_grant> granted) {
  self->state.init(self, std::move(peer), std::move(ctx), std::move(granted));
  return {
    [self](atom::frame, std::vector<std::string>& texts) {
      for (auto& text : texts) self->state.on_frame(text);
    },
    [self](atom::write_out) { self->state.on_write_out(); },
    [self](atom::closed, const std::string& reason) {
      self->state.on_closed(reason);
    },
    [self](invoke& x) { return self->state.on_invoke(x); },
    [self](const register_trigger& x) {
      return self->state.on_register_trigger(x);
    },
    [self](const unregister_trigger& x) {
      self->state.on_unregister_trigger(x);
    },
    [self](const trigger_result& x) { self->state.on_trigger_refused(x); },
    [self](atom::sweep) { self->state.on_sweep(); },
  };
}

} // namespace troupe
