// The admin listener (`troupe-admin`; README: Operating troupe): one
// protocol::http_server with its own I/O thread. On that thread it applies
// admin_routes.hpp and answers, without any actor, what needs no engine:
// /healthz, /readyz, /api/status, /metrics (through the render hook) and
// the dashboard's files; everything else under /api/ goes to the admin
// actor (admin_actor.hpp) while the engine is ready, and gets 503 before.
// So the listener answers while the engine is still recovering its store.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "actors/queue_directory.hpp"
#include "troupe/config.hpp"
#include "troupe/engine.hpp"

namespace troupe::admin {

struct admin_server_options {
  admin_config config;
  /// Larger request bodies get 413.
  size_t max_body_bytes = 1024 * 1024;
  std::string version;
  /// This node's cluster name; empty without a cluster.
  std::string node;
  /// The engine's phase; called on the I/O thread, must be thread-safe.
  std::function<engine_status()> status;
  /// /metrics; unset: 404. Called on the I/O thread.
  std::function<std::string()> metrics;
  caf::actor registry;
  /// Read by the admin actor only once `status` says ready.
  std::shared_ptr<const queue_directory> queues;
};

class admin_server {
public:
  admin_server(caf::actor_system& sys, admin_server_options opts);
  ~admin_server();

  admin_server(const admin_server&) = delete;
  admin_server& operator=(const admin_server&) = delete;

  /// Binds, spawns the admin actor and starts serving. Returns the bound
  /// port.
  caf::expected<uint16_t> start();

  /// Closes the listener and stops the admin actor. Idempotent.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::admin
