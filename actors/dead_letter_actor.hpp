// The dead-letter actor of one queue: it keeps the jobs that used up their
// attempts, with their last error, and serves the DLQ operations that its
// queue supervisor forwards (list, redrive all, redrive one, discard, count).
// Redriven jobs go back to the supervisor as (requeue, job).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/replies_to.hpp>
#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/job.hpp"
#include "actors/type_ids.hpp"

namespace troupe {

/// The dead-letter actor's interface, for its queue supervisor:
///  - (park, job): keep a job that used up its attempts;
///  - (list, offset, limit): dead jobs, newest first;
///  - (redrive) / (redrive, id): jobs back to the supervisor, attempts
///    reset; reply: how many;
///  - (discard, id): drop one; reply: 1 or 0;
///  - (count): how many it keeps;
///  - (lookup, id): the dead job `id`, or errc::job_not_found;
///  - (jobs, offset, limit): a page of dead jobs, newest first, without
///    payloads (max_attempts left 0 for the supervisor to fill).
using dead_letter_handle = caf::typed_actor<
  caf::reacts_to<atom::park, job>,
  caf::replies_to<atom::list, uint64_t, uint64_t>::with<std::vector<job>>,
  caf::replies_to<atom::redrive>::with<uint64_t>,
  caf::replies_to<atom::redrive, std::string>::with<uint64_t>,
  caf::replies_to<atom::discard, std::string>::with<uint64_t>,
  caf::replies_to<atom::count>::with<uint64_t>,
  caf::replies_to<atom::lookup, std::string>::with<job>,
  caf::replies_to<atom::jobs, uint64_t, uint64_t>::with<job_page>>;

struct dead_letter_state {
  dead_letter_handle::pointer self = nullptr;
  std::string queue;
  caf::actor supervisor;
  /// Oldest first.
  std::vector<job> jobs;

  static inline const char* name = "troupe.dead_letters";

  void on_park(job& x);
  /// Newest first, from `offset`, at most `limit`.
  std::vector<job> on_list(uint64_t offset, uint64_t limit) const;
  /// Returns how many jobs went back to the queue.
  uint64_t on_redrive_all();
  uint64_t on_redrive(const std::string& id);
  uint64_t on_discard(const std::string& id);
  caf::result<job> on_lookup(const std::string& id) const;
  job_page on_jobs(uint64_t offset, uint64_t limit) const;
};

/// REQUIRES: `supervisor` handles (requeue, job).
dead_letter_handle::behavior_type
dead_letter_actor(dead_letter_handle::stateful_pointer<dead_letter_state> self,
                  std::string queue, caf::actor supervisor);

} // namespace troupe
