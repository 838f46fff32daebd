// One session actor per worker WebSocket connection. The I/O thread hands it
// the whole messages of each read (atom::frame) and the close
// (atom::closed); it parses them, talks to the registry and the queues, and
// queues its answers in its ws_peer, writing them once its mailbox is
// drained (atom::write_out) with a send that never blocks.
//
// As a caller it turns a worker's trigger() into a request to the registry
// (sync), a fire-and-forget message (Void) or a request to the queues
// (Enqueue). As an owner it receives `invoke` for the worker's functions,
// sends the worker an invokefunction with a fresh invocation id and keeps the
// response promise until the worker's invocationresult arrives; when the
// connection closes, every open call fails with invocation_stopped.
//
// As the provider of a trigger type (registertriggertype) it writes the
// registertrigger / unregistertrigger frames the registry sends it and hands
// the worker's triggerregistrationresult back to the registry; a refusal of
// one of this worker's own triggers comes back from the registry and goes
// out as a triggerregistrationresult error.
//
// It tells the registry its worker id at start; a reattach frame (a
// reconnecting worker) makes the registry drop what that worker's old
// connection still holds, so the replay that follows replaces it.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/actor_clock.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/http_function_actor.hpp"
#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "actors/queue_directory.hpp"
#include "actors/route_cache.hpp"
#include "base/worker_access.hpp"
#include "protocol/frames.hpp"
#include "protocol/introspection_api.hpp"
#include "protocol/ws_server.hpp"

namespace troupe {

/// What every session needs to know about the engine.
struct session_context {
  caf::actor registry;
  /// The named queues; null when the engine runs none.
  std::shared_ptr<const queue_directory> queues;
  /// Engine-side limit for a worker's synchronous trigger().
  std::chrono::milliseconds invocation_timeout{300000};
  /// HTTP-invoked functions (`iii-http-functions`); null when not
  /// configured, and registrations with an `invocation` are refused.
  std::shared_ptr<const http_functions_context> http_functions;
  /// The listener's `rbac` rules (README: Worker authentication).
  std::shared_ptr<const access_rules> access;
  /// Connections and calls of every session, for /metrics; may be null.
  std::shared_ptr<metrics::session_metrics> metrics;
  /// The registry's providers, for sync and Void calls; may be null.
  std::shared_ptr<const route_cache> routes = {};
};

struct session_state {
  /// A call this worker is running for someone.
  struct pending_call {
    caf::response_promise promise;
    std::string function_id;
    /// On the actor system's clock, so a test's virtual time drives it.
    caf::actor_clock::time_point deadline;
  };

  /// Counts this connection in session_metrics::connected while the
  /// state lives.
  struct connection_mark {
    std::shared_ptr<metrics::session_metrics> counters;
    ~connection_mark() {
      if (counters)
        counters->connected.fetch_sub(1, std::memory_order_relaxed);
    }
  };

  caf::event_based_actor* self = nullptr;
  std::shared_ptr<protocol::ws_peer> peer;
  connection_mark mark;
  session_context ctx;
  route_cache::reader routes;
  std::string worker_id;
  /// The worker's name from engine::workers::register, or its address.
  std::string worker_name;
  /// What introspection shows of the worker; the registry gets a copy at
  /// start and after engine::workers::register.
  protocol::worker_meta meta;
  std::string log_name;
  std::unordered_map<std::string, pending_call> pending;
  bool sweep_armed = false;
  /// A write_out message is on its way (see send_frame).
  bool write_armed = false;
  /// This worker's HTTP-invoked functions: id -> the actor calling its URL.
  std::unordered_map<std::string, caf::actor> http_functions;
  /// What its admission granted the connection (all, without an auth
  /// function).
  access_grant grant;

  static inline const char* name = "troupe.session";

  void init(caf::event_based_actor* self_ptr,
            std::shared_ptr<protocol::ws_peer> peer_ptr, session_context c,
            std::shared_ptr<const access_grant> granted);
  void on_frame(std::string& text);
  void on_closed(const std::string& reason);
  caf::result<invoke_result> on_invoke(invoke& x);
  caf::result<void> on_register_trigger(const register_trigger& x);
  void on_unregister_trigger(const unregister_trigger& x);
  void on_trigger_refused(const trigger_result& x);
  void on_sweep();
  void on_write_out();

  // Frames from the worker.
  /// Refuses a worker's registration of a reserved id (an error frame and
  /// a log line); false if `id` is the worker's to take.
  bool refuse_reserved(const std::string& what, const std::string& id);
  /// Refuses what the connection's grant does not allow (an error frame
  /// and a log line); false if it is allowed.
  bool refuse_ungranted(const std::string& what, const std::string& id,
                        bool allowed);
  /// Answers a call of a function this connection may not call with
  /// iii's FORBIDDEN error; false if the call is allowed.
  bool refuse_call(const protocol::invoke_frame& x);
  void handle(protocol::register_function_frame& x);
  void handle(protocol::unregister_function_frame& x);
  void handle(protocol::register_trigger_frame& x);
  void handle(protocol::unregister_trigger_frame& x);
  void handle(protocol::register_trigger_type_frame& x);
  void handle(protocol::unregister_trigger_type_frame& x);
  void handle(protocol::invoke_frame& x);
  void handle(protocol::result_frame& x);
  void handle(protocol::reattach_frame& x);
  void handle(protocol::trigger_result_frame& x);
  void handle(protocol::bad_frame& x);

private:
  /// Queues a frame for the worker; it is written once the messages in the
  /// mailbox now are handled.
  void send_frame(std::string text);
  void call_sync(protocol::invoke_frame& x);
  void call_void(protocol::invoke_frame& x);
  void call_enqueue(protocol::invoke_frame& x);
  void reply(const std::string& invocation_id, const std::string& function_id,
             invoke_result r);
  /// Counts a call of this worker that ended with `r`.
  void count_call(metrics::call_kind kind, const invoke_result& r);
  void reply_error(const std::string& invocation_id,
                   const std::string& function_id, const caf::error& err);
  void on_worker_metadata(const protocol::invoke_frame& x);
  void arm_sweep();
  /// A registerfunction with an `invocation` (session_http_functions.cpp).
  void register_http_function(protocol::register_function_frame& x);
  /// Stops the HTTP-invoked function `id` of this worker, if any.
  void drop_http_function(const std::string& id);
};

/// `granted`: what the connection's admission allowed; null: everything
/// (no auth function).
caf::behavior session_actor(caf::stateful_actor<session_state>* self,
                            std::shared_ptr<protocol::ws_peer> peer,
                            session_context ctx,
                            std::shared_ptr<const access_grant> granted);

/// Makes the ws_handler that feeds a session actor from the I/O thread.
std::unique_ptr<protocol::ws_handler> make_session_bridge(caf::actor session);

} // namespace troupe
