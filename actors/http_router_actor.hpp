// The HTTP router: the provider of trigger type "http" (it announces itself
// to the registry on start). Workers' `http` triggers reach it from the
// registry as register_trigger / unregister_trigger; the HTTP server's I/O
// thread sends it one http_call per request. It matches (method, path) to a
// route, calls the route's function through the registry with iii's
// request object (README: HTTP triggers), and answers through the
// responder:
//  - the function's result, mapped to a response as iii does;
//  - 404 without a route, 400 for a JSON content type with a malformed body;
//  - 500 with an error_id when the call fails, 504 after default_timeout.
// Routes: last writer wins per (method, path); `a/:x` and `a/:y` conflict.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/messages.hpp"
#include "protocol/http_mapping.hpp"

namespace troupe {

struct http_router_state {
  struct route_entry {
    protocol::http_route route;
    std::string trigger_id;
    caf::actor owner;
    std::string function_id;
    /// The trigger's metadata (raw JSON or empty), sent with every call.
    std::string metadata;
  };

  caf::event_based_actor* self = nullptr;
  caf::actor registry;
  std::chrono::milliseconds timeout{30000};
  /// protocol::route_key -> route.
  std::unordered_map<std::string, route_entry> routes;
  /// Trigger id -> the key of the route it registered.
  std::unordered_map<std::string, std::string> by_trigger;

  static inline const char* name = "troupe.http_router";

  void init(caf::event_based_actor* self_ptr, caf::actor registry_hdl,
            std::chrono::milliseconds default_timeout);
  /// Adds or replaces the trigger's route. Reply: unit, or an error saying
  /// why the config is refused (missing api_path, bad method, conflict).
  caf::result<void> on_register_trigger(const register_trigger& x);
  /// Removes the trigger's route unless another trigger took it over since.
  void on_unregister_trigger(const unregister_trigger& x);
  /// Answers one request through its responder (always exactly once).
  void on_http_call(http_call& x);

private:
  /// The best route for `req` (HEAD falls back to GET), or nullptr.
  const route_entry* find(const protocol::http_request& req,
                          protocol::http_params& params) const;
  const route_entry* find(const std::string& method,
                          const std::vector<std::string_view>& segments,
                          protocol::http_params& params) const;
};

/// REQUIRES: `registry` is the engine's registry.
caf::behavior http_router_actor(caf::stateful_actor<http_router_state>* self,
                                caf::actor registry,
                                std::chrono::milliseconds default_timeout);

} // namespace troupe
