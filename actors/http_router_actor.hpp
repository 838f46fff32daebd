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
//
// In a cluster the router also serves the routes of other nodes' workers:
// a peer actor (the local stand-in of one remote node) sends them as
// (httproute, register_trigger / unregister_trigger) with `node` set, and
// the router monitors that peer, so a node's routes vanish with it. The
// node actor subscribes with (watch, node_actor): it gets (httprouter,
// router), then hears of this node's own routes only (never remote ones)
// as the same httproute messages with `node` empty: first every current
// one, then each addition and removal. Rule
// between nodes: local wins. A remote route never replaces, refuses or
// evicts anything; a request goes to the most specific matching route, and
// on a tie (the same method and path) a local route wins over a remote
// one, and among remote ones the latest registration. When the winner goes
// away the next one serves again. Conflicting parameter names are only
// checked among this node's own routes (a remote route cannot be refused).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/system_messages.hpp>

#include "actors/metrics.hpp"
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
    /// The trigger's config as registered (for the watchers).
    std::string config;
    /// Empty for a local route, else the node whose worker registered it.
    std::string node;
    /// Registration order: among remote routes of one path the latest wins.
    uint64_t seq = 0;
  };

  caf::event_based_actor* self = nullptr;
  caf::actor registry;
  std::chrono::milliseconds timeout{30000};
  /// protocol::route_key -> route.
  std::unordered_map<std::string, route_entry> routes;
  /// Trigger id -> the key of the route it registered.
  std::unordered_map<std::string, std::string> by_trigger;
  /// Other nodes' routes by (node, trigger id); several may share a path.
  std::map<std::pair<std::string, std::string>, route_entry> remote_routes;
  /// The peer actors owning remote routes (monitored) -> their node.
  std::unordered_map<caf::actor_addr, std::string> remote_owners;
  /// Who hears of the local routes (the node actor).
  std::vector<caf::actor> watchers;
  uint64_t next_seq = 0;
  /// For /metrics: routes (api_path patterns, capped; "" for no route) and
  /// the answers per (method, route slot, status).
  metrics::label_cap route_slots;
  std::map<std::tuple<std::string, size_t, unsigned>, uint64_t> answers;

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
  /// A route of another node (`x.node` set, `x.owner` its peer actor):
  /// added, or replaced when the same (node, id) comes again. A config
  /// that does not parse is logged and ignored; nothing is answered.
  void on_remote_route(register_trigger& x);
  /// Removes a remote route if `x.owner` still owns it.
  void on_remote_unroute(const unregister_trigger& x);
  /// `watcher` gets (httprouter, this router), every local route now, then
  /// each change.
  void on_watch(caf::actor watcher);
  /// A watcher or a peer owning remote routes is gone.
  void on_down(const caf::down_msg& dm);
  /// The answers so far, for /metrics.
  std::vector<metrics::http_count> on_metrics() const;

private:
  /// Counts an answer with `status` to a `method` request for `route`.
  void count_answer(const std::string& method, const std::string& route,
                    unsigned status);
  /// Tells the watchers that local route `e` was added (or removed).
  void announce(const route_entry& e, bool added);
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
