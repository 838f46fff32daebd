// The dead-letter actor of one queue: it keeps the jobs that used up their
// attempts, with their last error, and serves the DLQ operations that its
// queue supervisor forwards (list, redrive all, redrive one, discard, count).
// Redriven jobs go back to the supervisor as (requeue, job).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/job.hpp"

namespace troupe {

struct dead_letter_state {
  caf::event_based_actor* self = nullptr;
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
};

caf::behavior dead_letter_actor(caf::stateful_actor<dead_letter_state>* self,
                                std::string queue, caf::actor supervisor);

} // namespace troupe
