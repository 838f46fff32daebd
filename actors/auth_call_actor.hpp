// One call of the `rbac.auth_function_id` function for one connection that
// asks to upgrade (README: Worker authentication). The worker listener's
// I/O thread spawns it through the engine's ws_admit_fn and goes on: the
// upgrade waits, other connections do not. It calls the function through
// the registry (a worker's function or a C++ one of an embedding
// application), turns the answer into the listener's decision and quits.
// Fails closed: an error, an unreadable answer, no such function or no
// answer within the timeout refuse the connection.
#pragma once

#include <chrono>
#include <string>

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/messages.hpp"
#include "protocol/ws_server.hpp"

namespace troupe {

struct auth_call_state {
  caf::event_based_actor* self = nullptr;
  std::string function_id;
  protocol::ws_decide_fn decide;
  bool decided = false;

  static inline const char* name = "troupe.auth_call";

  /// Delivers `a` unless a decision went out already, then quits.
  void finish(protocol::ws_admission a);
  /// The function's answer: an AuthResult admits, anything else refuses.
  void on_answer(invoke_result& r);
  /// The timer: no answer in time.
  void on_timeout(std::chrono::milliseconds timeout);
};

/// Calls `function_id` with `input` (iii's AuthInput JSON) and calls
/// `decide` once: 0 with the grant, 403 when the function refuses or its
/// answer is not an AuthResult, 503 when it is not registered, fails
/// otherwise or does not answer within `timeout`.
caf::behavior auth_call_actor(caf::stateful_actor<auth_call_state>* self,
                              caf::actor registry, std::string function_id,
                              std::string input,
                              std::chrono::milliseconds timeout,
                              protocol::ws_decide_fn decide);

} // namespace troupe
