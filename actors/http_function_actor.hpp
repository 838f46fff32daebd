// One actor per HTTP-invoked function registration (a worker's
// `registerfunction` with an `invocation` object): it registers itself in
// the registry as the provider of its function id, and answers each
// `invoke` by calling the function's URL through the engine's shared HTTP
// client (protocol/http_client.hpp, its own I/O thread), so no actor ever
// waits for the network. The client's answer comes back as
// (httpdone, call, invoke_result) and completes the caller's promise.
//
// The registering session spawns it and stops it (exit message) on the
// worker's unregisterfunction or a new registration of the same id
// (exit_reason::normal): it unregisters at once and quits when its calls in
// flight have answered (each is bounded by its timeout). It monitors that
// session: when the worker goes, the function goes with it and its calls in
// flight fail with invocation_stopped, as for the worker's own functions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/response_promise.hpp>
#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>

#include "protocol/http_client.hpp"
#include "protocol/http_function.hpp"
#include "troupe/config.hpp"
#include "troupe/messages.hpp"

namespace troupe {

/// What every HTTP-invoked function shares; null in session_context when
/// `iii-http-functions` is not configured.
struct http_functions_context {
  http_functions_config cfg = {};
  std::shared_ptr<protocol::http_client> client = {};
};

/// One HTTP-invoked function as registered.
struct http_function_spec {
  std::string id = {};
  std::string description = {};
  std::string metadata = {};
  protocol::http_invocation invocation = {};
};

struct http_function_state {
  caf::event_based_actor* self = nullptr;
  http_function_spec spec;
  std::shared_ptr<const http_functions_context> ctx;
  caf::actor registry;
  std::string log_name;
  /// Calls in flight, by a number of this actor's.
  std::unordered_map<uint64_t, caf::response_promise> pending;
  uint64_t next_call = 0;
  bool stopping = false;

  static inline const char* name = "troupe.http_function";

  void init(caf::event_based_actor* self_ptr, http_function_spec s,
            std::shared_ptr<const http_functions_context> c, caf::actor reg,
            caf::actor session);
  /// Sends the request; the reply comes with its httpdone.
  caf::result<invoke_result> on_invoke(invoke& x);
  void on_done(uint64_t call, invoke_result& r);
  /// Unregisters; quits once nothing is in flight.
  void stop();
  /// Fails the calls in flight with invocation_stopped, unregisters, quits.
  void abort();
};

/// REQUIRES: `c` and its client are set; `session` is the registering
/// worker's session.
caf::behavior
http_function_actor(caf::stateful_actor<http_function_state>* self,
                    http_function_spec spec,
                    std::shared_ptr<const http_functions_context> c,
                    caf::actor registry, caf::actor session);

} // namespace troupe
