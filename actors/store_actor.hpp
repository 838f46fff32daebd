// The store actor: the only writer of the durable job store, spawned by the
// engine for `file_based` queues only. Queues send it (persist, store_write);
// it collects the writes of all queues that arrive while it is busy and
// commits them as one transaction with one fsync (group commit), then
// answers each write that was a request: unit, or errc::store_failure if the
// commit failed (all writes of that batch are lost; the failure is logged).
// It runs on its own thread (spawned detached), because a commit blocks on
// the disk. A (flush) request is answered once everything that arrived
// before it is committed, also when that commit failed; the engine asks it
// before it stops the actor.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>

#include "store/job_store.hpp"

namespace troupe {

struct store_state {
  caf::event_based_actor* self = nullptr;
  std::shared_ptr<store::job_store> db;
  std::vector<store::store_write> batch;
  /// Requests among the writes in `batch`, answered after the commit.
  std::vector<caf::response_promise> waiters;
  /// A (flush) to itself is in the mailbox.
  bool flush_scheduled = false;
  /// Batches and writes applied so far, committed or not.
  uint64_t commits = 0;
  uint64_t writes = 0;

  static inline const char* name = "troupe.store";

  /// Adds `w` to the batch. Reply (to a request): after the commit.
  caf::result<void> on_persist(store::store_write& w);
  /// Commits the batch, if any, and answers its requests.
  void on_flush();
};

caf::behavior store_actor(caf::stateful_actor<store_state>* self,
                          std::shared_ptr<store::job_store> db);

} // namespace troupe
