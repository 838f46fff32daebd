// Running one engine node until it is told to stop: the path the `troupe`
// binary takes (and tests and examples can take) after the configuration is
// loaded.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "troupe/config.hpp"

namespace troupe {

/// Scheduler settings for an engine node: `threads` workers, and no sleepy
/// polling when idle. CAF 0.17's work-stealing workers otherwise poll 500
/// times with 50 us sleeps before blocking, a stream of context switches
/// under the engine's bursty load; measured through the W1 workload this
/// halved the engine's CPU time per job.
void tune_scheduler(caf::actor_system_config& cfg, int threads);

/// Blocks SIGINT and SIGTERM in the calling thread. Call it first in main,
/// before any thread starts, so that every thread inherits the mask and
/// run_node() alone receives them.
void block_stop_signals();

/// Starts the engine in `sys` from `cfg` (the admin listener, with
/// `troupe-admin`, before the store is recovered), serves until SIGINT or
/// SIGTERM,
/// then stops gracefully. Returns the process exit status: 0 after a clean
/// stop, 1 when a listener cannot be opened, 3 when the job store cannot be
/// opened or read (corrupted, newer schema, in use by another engine).
int run_node(caf::actor_system& sys, const engine_config& cfg);

} // namespace troupe
