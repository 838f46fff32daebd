// The engine's type-ID block: every message type and atom that actors
// exchange, reviewed in one place. Register on every node with
// `cfg.add_message_types<caf::id_block::troupe>()`. Atom texts are at most
// 10 characters and unique project-wide.
#pragma once

#include <caf/atom.hpp>
#include <caf/type_id.hpp>

#include "actors/messages.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(troupe, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(troupe, (troupe::invoke))
  CAF_ADD_TYPE_ID(troupe, (troupe::invoke_result))
  CAF_ADD_TYPE_ID(troupe, (troupe::register_function))
  CAF_ADD_TYPE_ID(troupe, (troupe::unregister_function))
  CAF_ADD_TYPE_ID(troupe, (troupe::register_trigger))
  CAF_ADD_TYPE_ID(troupe, (troupe::unregister_trigger))
  CAF_ADD_TYPE_ID(troupe, (troupe::enqueue))

  /// A whole WebSocket message for a session actor.
  CAF_ADD_ATOM(troupe, troupe::atom, frame, "frame")
  /// The session's connection closed (with a reason).
  CAF_ADD_ATOM(troupe, troupe::atom, closed, "closed")
  /// A session drops calls whose caller gave up long ago.
  CAF_ADD_ATOM(troupe, troupe::atom, sweep, "sweep")
  /// Asks the registry who owns a function.
  CAF_ADD_ATOM(troupe, troupe::atom, owner, "owner")
  /// Asks the registry for every registered function id.
  CAF_ADD_ATOM(troupe, troupe::atom, list, "list")
  /// An actor provides a trigger type (registertriggertype).
  CAF_ADD_ATOM(troupe, troupe::atom, provide, "provide")

CAF_END_TYPE_ID_BLOCK(troupe)
