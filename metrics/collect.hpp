// One scrape: asks every actor that counts something for its snapshot
// (atom::metrics), all at once with a short timeout, and puts the answers
// together. Runs on the caller's thread (the admin listener's, or an
// embedding application's) with a scoped actor; an actor that does not
// answer in time is left out of this scrape and logged.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/metrics.hpp"
#include "actors/store_actor.hpp"

namespace troupe::metrics {

/// Who is asked. Invalid handles and a null `sessions` are skipped.
struct targets {
  /// The queue supervisors, in the order they are rendered.
  std::vector<caf::actor> queues;
  store_handle store;
  caf::actor http_router;
  std::shared_ptr<session_metrics> sessions;
};

/// Asks everyone in `t` and waits at most `timeout` in all.
snapshot collect(caf::actor_system& sys, const targets& t,
                 std::chrono::milliseconds timeout);

} // namespace troupe::metrics
