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

#include <caf/replies_to.hpp>
#include <caf/response_promise.hpp>
#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/metrics.hpp"
#include "actors/type_ids.hpp"
#include "store/job_store.hpp"

namespace troupe {

/// The store actor's interface: (persist, write), as a request (answered
/// after the commit) or a plain send; (flush), answered once everything
/// sent before it is committed; (metrics), its commit counters.
using store_handle = caf::typed_actor<
  caf::replies_to<atom::persist, store::store_write>::with<void>,
  caf::replies_to<atom::flush>::with<void>,
  caf::replies_to<atom::metrics>::with<metrics::store_metrics>>;

struct store_state {
  store_handle::pointer self = nullptr;
  std::shared_ptr<store::job_store> db;
  std::vector<store::store_write> batch;
  /// Requests among the writes in `batch`, answered after the commit.
  std::vector<caf::response_promise> waiters;
  /// A (flush) to itself is in the mailbox.
  bool flush_scheduled = false;
  /// Batches and writes applied so far, committed or not.
  uint64_t commits = 0;
  uint64_t writes = 0;
  /// Commits, writes per commit and commit time, for /metrics.
  metrics::store_metrics counters;

  static inline const char* name = "troupe.store";

  /// Adds `w` to the batch. Reply (to a request): after the commit.
  caf::result<void> on_persist(store::store_write& w);
  /// Commits the batch, if any, and answers its requests.
  void on_flush();
};

store_handle::behavior_type
store_actor(store_handle::stateful_pointer<store_state> self,
            std::shared_ptr<store::job_store> db);

} // namespace troupe
