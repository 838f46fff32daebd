// Running one engine node until it is told to stop: the path the `troupe`
// binary takes (and tests and examples can take) after the configuration is
// loaded.
#pragma once

#include <caf/actor_system.hpp>

#include "config/engine_config.hpp"

namespace troupe {

/// Blocks SIGINT and SIGTERM in the calling thread. Call it first in main,
/// before any thread starts, so that every thread inherits the mask and
/// run_node() alone receives them.
void block_stop_signals();

/// Starts the engine in `sys` from `cfg`, serves until SIGINT or SIGTERM,
/// then stops gracefully. Returns the process exit status: 0 after a clean
/// stop, 1 when a listener cannot be opened, 3 when the job store cannot be
/// opened or read (corrupted, newer schema, in use by another engine).
int run_node(caf::actor_system& sys, const engine_config& cfg);

} // namespace troupe
