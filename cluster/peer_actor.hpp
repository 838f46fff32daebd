// One peer actor per remote node that is up: the local owner of that node's
// functions. The registry delegates calls of them here; the peer forwards
// each to the remote node actor as (localcall, invoke) and keeps the
// caller's response promise, so that when the node is lost (its node actor
// goes down: a dead process in milliseconds, a frozen one after the link's
// peer timeout) every call in flight fails at once with
// invocation_stopped. CAF 0.17 itself would leave them waiting for their
// timeouts. The node actor spawns it on a join, feeds it the remote node's
// function updates, and stops it when the node goes down; the registry
// then drops everything the peer registered.
//
// It also owns the remote node's HTTP routes on this node: it keeps them
// (http_update from the node actor) and registers them with the local HTTP
// router once the node actor names one ((httprouter, router)); the router
// monitors it, so they vanish when it stops.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>

#include "cluster/cluster_messages.hpp"
#include "troupe/job.hpp"
#include "troupe/messages.hpp"

namespace troupe {

struct peer_state {
  caf::event_based_actor* self = nullptr;
  /// The remote node's name.
  std::string node;
  /// The remote node actor (a proxy).
  caf::actor remote;
  caf::actor registry;
  /// Function ids this peer registered for its node.
  std::unordered_set<std::string> functions;
  /// Calls forwarded and not answered yet.
  std::unordered_map<uint64_t, caf::response_promise> pending;
  /// FIFO jobs forwarded to their owner and not receipted yet.
  std::unordered_map<uint64_t, caf::response_promise> pending_jobs;
  uint64_t next_call = 0;
  std::string log_name;
  /// The remote node's HTTP routes by trigger id.
  std::map<std::string, http_route_msg> routes;
  /// The local HTTP router (null on a node without iii-http).
  caf::actor router;

  static inline const char* name = "troupe.peer";

  /// Forwards a call to the remote node. Reply: its answer, or
  /// invocation_stopped when the node is lost first.
  caf::result<invoke_result> on_invoke(invoke& x);
  /// Forwards a FIFO job to the remote node, which owns its group, as a
  /// new job or (`handover`) as one this node kept for it. Reply: the
  /// receipt after the owner stored it, or enqueue_rejected when the node
  /// is lost first. Jobs, handovers and (settled) keep their order.
  caf::result<std::string> on_forward(job& x, bool handover);
  /// The remote node's functions changed: registers and unregisters them.
  void on_update(fn_update& u);
  /// The remote node's HTTP routes changed: passes them on to the router.
  void on_routes(http_update& u);
  /// The HTTP router to serve the remote node's routes (all of them now).
  void on_router(caf::actor r);
  /// The remote node leaves on purpose: withdraws its functions and HTTP
  /// routes now; calls in flight still get their answers.
  void on_withdraw();
  /// The remote node is gone: fails every call in flight and quits.
  void on_node_down(const caf::error& reason);
};

/// REQUIRES: `remote` is the node actor of node `node`; `registry` is the
/// local registry.
caf::behavior peer_actor(caf::stateful_actor<peer_state>* self,
                         std::string node, caf::actor remote,
                         caf::actor registry);

} // namespace troupe
