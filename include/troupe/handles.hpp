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
#include "troupe/job_info.hpp"
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
///    dropped; reply: 1, or 0 when no dead job has that id;
///  - (lookup, id): job `id` in any state, with the attempts this process
///    saw (troupe/job_info.hpp); errc::job_not_found when the queue has no
///    job with that id (it succeeded, was discarded, or never was here);
///  - (jobs, state, offset, limit): one page of the jobs in `state`, without
///    their payloads; the supervisor does not cap `limit`;
///  - (groups, offset, limit): one page of a FIFO queue's groups;
///    errc::invalid_argument for a standard queue;
///  - (pause) / (resume): stop or restart starting attempts (running ones
///    finish, enqueues are still accepted, retry timers that fire make
///    their jobs waiting); with `file_based` the reply comes once the state
///    is on disk, so it survives a restart. Reply: whether the queue is
///    paused now; errc::store_failure if it could not be stored (the queue
///    is paused or resumed anyway);
///  - (retrynow, id): a delayed job (standard, or the head of a FIFO group
///    waiting for its retry) becomes waiting at once, keeping its attempts;
///    reply: 1, or 0 when no delayed job has that id.
using queue_handle = caf::typed_actor<
  caf::replies_to<enqueue>::with<std::string>,
  caf::replies_to<atom::stats>::with<queue_stats>,
  caf::replies_to<atom::list, uint64_t, uint64_t>::with<std::vector<job>>,
  caf::replies_to<atom::redrive>::with<uint64_t>,
  caf::replies_to<atom::redrive, std::string>::with<uint64_t>,
  caf::replies_to<atom::discard, std::string>::with<uint64_t>,
  caf::replies_to<atom::lookup, std::string>::with<job_info>,
  caf::replies_to<atom::jobs, job_status, uint64_t, uint64_t>::with<job_page>,
  caf::replies_to<atom::groups, uint64_t, uint64_t>::with<group_page>,
  caf::replies_to<atom::pause>::with<bool>,
  caf::replies_to<atom::resume>::with<bool>,
  caf::replies_to<atom::retrynow, std::string>::with<uint64_t>>;

} // namespace troupe
