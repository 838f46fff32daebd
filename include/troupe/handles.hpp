// Typed handles of the engine's actors that an application (or another
// folder of troupe) talks to. The compiler checks every message sent
// through them. Each engine actor may understand more messages than its
// handle names (troupe's own traffic); the handles list what is meant for
// others.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "troupe/job.hpp"
#include "troupe/messages.hpp"

namespace troupe {

/// Serves calls of functions: what an application's own actor implements
/// to serve a function through the engine (engine::add_function), and what
/// every function owner understands. The reply is the function's result or
/// its error body (invoke_result); answer every call, possibly later
/// through a response promise.
using function_handle
  = caf::typed_actor<caf::replies_to<invoke>::with<invoke_result>>;

/// The registry: which actor serves each function id.
///  - invoke: delegated to the function's owner, whose answer goes straight
///    back to the caller; `function_not_found` at once when nobody serves
///    the id;
///  - register_function / unregister_function: see troupe/messages.hpp;
///  - (list): every registered function id, sorted.
using registry_handle = caf::typed_actor<
  caf::replies_to<invoke>::with<invoke_result>,
  caf::reacts_to<register_function>, caf::reacts_to<unregister_function>,
  caf::replies_to<atom::list>::with<std::vector<std::string>>>;

/// The supervisor of one named queue.
///  - enqueue: accepts a job; reply: its receipt id (see troupe/messages.hpp
///    for the errors);
///  - (stats): the queue's counters, its dead-letter count included;
///  - (list, offset, limit): dead jobs, newest first;
///  - (redrive): every dead job back to the queue, attempts reset; reply:
///    how many;
///  - (redrive, id) / (discard, id): one dead job back to the queue or
///    dropped; reply: 1, or 0 when no dead job has that id.
using queue_handle = caf::typed_actor<
  caf::replies_to<enqueue>::with<std::string>,
  caf::replies_to<atom::stats>::with<queue_stats>,
  caf::replies_to<atom::list, uint64_t, uint64_t>::with<std::vector<job>>,
  caf::replies_to<atom::redrive>::with<uint64_t>,
  caf::replies_to<atom::redrive, std::string>::with<uint64_t>,
  caf::replies_to<atom::discard, std::string>::with<uint64_t>>;

} // namespace troupe
