// Embedding troupe in a CAF application. An `engine` runs inside the
// application's own caf::actor_system: it spawns the registry and queue
// actors from an engine_config and, on request, opens the worker WebSocket
// listener and the REST API for `http` triggers. The `troupe` binary is a
// thin main over this class.
//
//   caf::actor_system_config cfg;
//   troupe::engine::configure(cfg);          // message types, error category
//   caf::actor_system sys{cfg};
//   auto eng = troupe::engine::start(sys, troupe::default_engine_config());
//   if (!eng) ...                            // e.g. the store cannot open
//   auto port = (*eng)->listen_workers();    // caf::expected<uint16_t>
//   auto http = (*eng)->listen_http();       // optional: iii-http
//   ...
//   (*eng)->stop();                          // before sys goes away
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <memory>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/expected.hpp>

#include "troupe/config.hpp"


namespace troupe {

class engine {
public:
  /// Adds troupe's message types and error category to `cfg`. Call it before
  /// constructing the actor_system the engine will run in.
  static void configure(caf::actor_system_config& cfg);

  /// Opens the job store the configuration names (the SQLite store for
  /// `file_based`), recovers its jobs and starts the engine. Fails when the
  /// store cannot be opened (unreadable, corrupted, newer schema, in use).
  /// REQUIRES: `sys` was configured with configure() and outlives the engine.
  static caf::expected<std::unique_ptr<engine>>
  start(caf::actor_system& sys, engine_config cfg);

  /// What start() opened and recovered; only start() can make one.
  struct boot;

  /// Used by start(), which is the way to make an engine.
  engine(caf::actor_system& sys, engine_config cfg, std::unique_ptr<boot> b);

  ~engine();

  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  /// Opens the worker WebSocket listener (`iii-worker-manager`). Returns the
  /// bound port.
  caf::expected<uint16_t> listen_workers();

  /// Opens the REST API listener (`iii-http`) and serves workers' `http`
  /// triggers on it. Returns the bound port.
  caf::expected<uint16_t> listen_http();

  /// The registry: send it `invoke` to call any registered function, or
  /// `register_function` to serve one from an actor of your own.
  caf::actor registry() const;

  /// The supervisor of queue `name` (send it a job made with make_job() to
  /// enqueue; the reply is the receipt id), or an invalid handle.
  caf::actor queue(const std::string& name) const;

  /// The configuration the engine runs with.
  const engine_config& config() const;

  /// Stops gracefully: queues take no new jobs and dispatch no more, running
  /// attempts get up to `grace` to finish (an unfinished one is not charged),
  /// then the listeners close and every actor of the engine stops.
  /// Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace troupe
