// The engine's type-ID block: every message type and atom that actors
// exchange, reviewed in one place. Register on every node with
// `cfg.add_message_types<caf::id_block::troupe>()`. Atom texts are at most
// 10 characters and unique project-wide.
#pragma once

#include <caf/atom.hpp>
#include <caf/type_id.hpp>

#include <string>
#include <vector>

#include "actors/job.hpp"
#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "protocol/introspection_api.hpp"
#include "store/job_store.hpp"
#include "troupe/job_info.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(troupe, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(troupe, (troupe::invoke))
  CAF_ADD_TYPE_ID(troupe, (troupe::invoke_result))
  CAF_ADD_TYPE_ID(troupe, (troupe::register_function))
  CAF_ADD_TYPE_ID(troupe, (troupe::unregister_function))
  CAF_ADD_TYPE_ID(troupe, (troupe::register_trigger))
  CAF_ADD_TYPE_ID(troupe, (troupe::unregister_trigger))
  CAF_ADD_TYPE_ID(troupe, (troupe::job))
  CAF_ADD_TYPE_ID(troupe, (std::vector<troupe::job>))
  CAF_ADD_TYPE_ID(troupe, (troupe::attempt))
  CAF_ADD_TYPE_ID(troupe, (troupe::attempt_done))
  CAF_ADD_TYPE_ID(troupe, (troupe::queue_stats))
  CAF_ADD_TYPE_ID(troupe, (std::vector<troupe::queue_stats>))
  CAF_ADD_TYPE_ID(troupe, (troupe::store::store_write))
  CAF_ADD_TYPE_ID(troupe, (troupe::enqueue))

  /// The whole WebSocket messages of one read, for a session actor.
  CAF_ADD_ATOM(troupe, troupe::atom, frame, "frame")
  /// A session writes the frames it queued since the last write_out.
  CAF_ADD_ATOM(troupe, troupe::atom, write_out, "write_out")
  /// The session's connection closed (with a reason).
  CAF_ADD_ATOM(troupe, troupe::atom, closed, "closed")
  /// A session drops calls whose caller gave up long ago.
  CAF_ADD_ATOM(troupe, troupe::atom, sweep, "sweep")
  /// An actor provides a trigger type (registertriggertype).
  CAF_ADD_ATOM(troupe, troupe::atom, provide, "provide")
  /// A queue's retry timer fired (the job or group travels along).
  CAF_ADD_ATOM(troupe, troupe::atom, retry, "retry")
  /// A job enters its queue's dead-letter actor.
  CAF_ADD_ATOM(troupe, troupe::atom, park, "park")
  /// How many jobs a dead-letter actor holds.
  CAF_ADD_ATOM(troupe, troupe::atom, count, "count")
  /// A job re-enters its queue (redrive, recovery).
  CAF_ADD_ATOM(troupe, troupe::atom, requeue, "requeue")
  /// Stop dispatching; reply once nothing is in flight.
  CAF_ADD_ATOM(troupe, troupe::atom, drain, "drain")
  /// A supervisor's current child actors (for tests and diagnostics).
  CAF_ADD_ATOM(troupe, troupe::atom, children, "children")
  /// A queue's change for the durable store (reply after the commit).
  CAF_ADD_ATOM(troupe, troupe::atom, persist, "persist")
  /// The store actor commits what it has collected; the registry tells its
  /// watchers what changed.
  CAF_ADD_ATOM(troupe, troupe::atom, flush, "flush")
  /// (members, self, up, owners) from the node actor to a queue supervisor:
  /// the names of the nodes that are up and of those that own FIFO groups
  /// (self included in both); (members) to the node actor: its member
  /// table.
  CAF_ADD_ATOM(troupe, troupe::atom, members, "members")
  /// (fwdenq, owner, job) to the node actor: a FIFO enqueue for a group
  /// another node owns; (fwdenq, job) to the owner's supervisor: accept it
  /// here, never forward again. Reply: the receipt, after the owner's
  /// commit.
  CAF_ADD_ATOM(troupe, troupe::atom, fwdenq, "fwdenq")
  /// (handover, owner, job) to the node actor, (handover, job) to the
  /// owner's supervisor: a job this node kept for a group of another node,
  /// handed to that node now that it is up (it may have been handed over
  /// before: the owner stores it only once). Reply: the receipt.
  CAF_ADD_ATOM(troupe, troupe::atom, handover, "handover")
  /// (settled, queue, to, owners) from a FIFO supervisor to the node
  /// actor, which sends it on to member `to` as (settled, queue, owners,
  /// from); (settled, from, owners) to that member's supervisor: `from` has
  /// handed over every job it kept for the receiver's groups under
  /// `owners`. (settled) to itself: a supervisor's start-up hold is over.
  CAF_ADD_ATOM(troupe, troupe::atom, settled, "settled")
  /// (worker, worker_id) to the registry: the sending session serves that
  /// worker (its workerregistered id).
  CAF_ADD_ATOM(troupe, troupe::atom, worker, "worker")
  /// (reattach, previous_worker_id) to the registry: the sending session is
  /// that worker reconnected; the old connection's registrations go.
  CAF_ADD_ATOM(troupe, troupe::atom, reattach, "reattach")
  /// (localcall, invoke) to the registry: call a function of a local
  /// provider only, never a remote one (no multi-hop calls). Reply:
  /// invoke_result.
  CAF_ADD_ATOM(troupe, troupe::atom, localcall, "localcall")
  /// (watch, watcher) to the registry: send `watcher` the ids with a local
  /// provider, then every change, as fnupdate messages.
  CAF_ADD_ATOM(troupe, troupe::atom, watch, "watch")
  /// (fnupdate, added, removed) from the registry to a watcher: function ids
  /// that gained their first or lost their last local provider.
  CAF_ADD_ATOM(troupe, troupe::atom, fnupdate, "fnupdate")
  /// (providers, id) to the registry: the node of each provider of `id`
  /// ("" when local).
  CAF_ADD_ATOM(troupe, troupe::atom, providers, "providers")
  /// (qcluster, node) to the queue functions actor: the node actor of this
  /// engine's cluster, so a worker's queue call answers for every node;
  /// (qcluster, queue_functions) to the node actor: where the other nodes'
  /// queue calls go. Both from the engine once the node is started.
  CAF_ADD_ATOM(troupe, troupe::atom, qcluster, "qcluster")
  /// (fanout, invoke) from the queue functions actor to the node actor: ask
  /// every node that is up (this one too) for its own answer to a queue
  /// function. Reply: std::vector<protocol::node_answer>, this node first;
  /// a node that fails or times out gives an error entry.
  CAF_ADD_ATOM(troupe, troupe::atom, fanout, "fanout")
  /// An HTTP request for the HTTP router (local only).
  CAF_ADD_TYPE_ID(troupe, (troupe::http_call))
  /// HTTP routes across a cluster. (httproute, register_trigger) and
  /// (httproute, unregister_trigger): from the HTTP router to its watcher
  /// (the node actor), a route of this node's workers added or removed;
  /// from a peer actor to the HTTP router, a route of the peer's node
  /// (`node` set) added or removed. (httproute, http_update) between node
  /// actors and from the node actor to a peer: a node's routes changed.
  /// (watch, watcher) to the HTTP router subscribes `watcher` to its feed.
  CAF_ADD_ATOM(troupe, troupe::atom, httproute, "httproute")
  /// (httprouter, router) from the HTTP router to its watcher (the node
  /// actor), and from the node actor to each peer: the HTTP router that
  /// serves other nodes' routes on this node.
  CAF_ADD_ATOM(troupe, troupe::atom, httprouter, "httprouter")
  /// A trigger type's provider took or refused a binding, or a refusal for
  /// the worker that registered the trigger (triggerregistrationresult).
  CAF_ADD_TYPE_ID(troupe, (troupe::trigger_result))

  /// Introspection (README: Introspection). A session's worker_meta to the
  /// registry: what it knows of its worker (address, engine::workers::register
  /// metadata).
  CAF_ADD_TYPE_ID(troupe, (troupe::protocol::worker_meta))
  /// (catalog) to the registry: a snapshot of its functions, trigger types,
  /// triggers and workers. Reply: protocol::catalog.
  CAF_ADD_ATOM(troupe, troupe::atom, catalog, "catalog")
  CAF_ADD_TYPE_ID(troupe, (troupe::protocol::catalog))
  /// (fnwatch, watcher) to the registry: `watcher` receives (fnchanged)
  /// once per drain in which function ids appeared or went (any provider,
  /// local or remote, engine functions too); a dead watcher is forgotten.
  CAF_ADD_ATOM(troupe, troupe::atom, fnwatch, "fnwatch")
  CAF_ADD_ATOM(troupe, troupe::atom, fnchanged, "fnchanged")
  /// (wname, worker_id) to the registry: the worker's name from
  /// engine::workers::register ("" when unknown).
  CAF_ADD_ATOM(troupe, troupe::atom, wname, "wname")
  /// (httpdone, call, invoke_result) from the HTTP client's I/O thread to an
  /// HTTP-invoked function's actor: the outcome of its call `call`.
  CAF_ADD_ATOM(troupe, troupe::atom, httpdone, "httpdone")

  /// The queue operations of engine::queue::job, jobs and groups
  /// (troupe/job_info.hpp).
  CAF_ADD_TYPE_ID(troupe, (troupe::job_status))
  CAF_ADD_TYPE_ID(troupe, (troupe::attempt_record))
  CAF_ADD_TYPE_ID(troupe, (troupe::job_info))
  CAF_ADD_TYPE_ID(troupe, (troupe::job_page))
  CAF_ADD_TYPE_ID(troupe, (troupe::group_info))
  CAF_ADD_TYPE_ID(troupe, (troupe::group_page))

  /// (respawn) from a queue supervisor to itself: the pause after its
  /// children died too often (queue_state::restart_limit) is over.
  CAF_ADD_ATOM(troupe, troupe::atom, respawn, "respawn")

  /// (metrics) to a queue supervisor, the store actor or the HTTP router:
  /// a snapshot of its counters for /metrics (actors/metrics.hpp).
  CAF_ADD_ATOM(troupe, troupe::atom, metrics, "metrics")
  CAF_ADD_TYPE_ID(troupe, (troupe::metrics::queue_metrics))
  CAF_ADD_TYPE_ID(troupe, (troupe::metrics::store_metrics))
  CAF_ADD_TYPE_ID(troupe, (std::vector<troupe::metrics::http_count>))
CAF_END_TYPE_ID_BLOCK(troupe)
