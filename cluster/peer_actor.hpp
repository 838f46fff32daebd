// One peer actor per remote node that is up: the local owner of that node's
// functions. The registry delegates calls of them here; the peer forwards
// them to the remote node actor, all the calls of one mailbox drain in one
// call_batch (a (flush) to itself ends the drain), and keeps each caller's
// response promise until the call's answer comes back in a result_batch,
// so that when the node is lost (its node actor goes down: a dead process
// in milliseconds, a frozen one after the link's peer timeout) every call
// in flight, sent or not, fails at once with invocation_stopped. CAF 0.17
// itself would leave them waiting for their timeouts. A (sweep) timer,
// armed while calls are in flight, ends calls nobody answers a second
// after the caller's own timeout. The node actor spawns it on a join, feeds it the remote node's
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
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_clock.hpp>
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
  /// A call forwarded and not answered yet.
  struct pending_call {
    caf::response_promise promise;
    /// When the peer stops waiting: a second after the caller's own
    /// timeout, so that the caller's timer fires first.
    caf::actor_clock::time_point deadline;
    /// For the timeout's error text.
    std::string function_id;
    uint64_t timeout_ms = 0;
  };

  caf::event_based_actor* self = nullptr;
  /// The remote node's name.
  std::string node;
  /// The remote node actor (a proxy).
  caf::actor remote;
  caf::actor registry;
  /// Function ids this peer registered for its node.
  std::unordered_set<std::string> functions;
  /// Calls forwarded (or about to be) and not answered yet, by call id.
  std::unordered_map<uint64_t, pending_call> pending;
  /// Calls received since the last flush, for the next call_batch.
  std::vector<remote_call> outbox;
  bool sweep_armed = false;
  /// FIFO jobs forwarded to their owner and not receipted yet.
  std::unordered_map<uint64_t, caf::response_promise> pending_jobs;
  uint64_t next_call = 0;
  std::string log_name;
  /// The remote node's HTTP routes by trigger id.
  std::map<std::string, http_route_msg> routes;
  /// The local HTTP router (null on a node without iii-http).
  caf::actor router;

  static inline const char* name = "troupe.peer";

  /// Forwards a call to the remote node with the next call_batch. Reply:
  /// its answer, invocation_stopped when the node is lost first, or
  /// timeout a second after the caller's timeout (timeout_ms; none when
  /// 0) when nobody answered.
  caf::result<invoke_result> on_invoke(invoke& x);
  /// Sends the calls received since the last flush as one call_batch.
  void on_flush();
  /// Answers from the remote node: delivers each to its caller; calls the
  /// node refused because it is leaving go to another provider.
  void on_results(result_batch& b);
  /// Fails the calls past their deadline with timeout.
  void on_sweep();
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
