// The node actor: one per engine in a cluster (troupe-cluster in the
// config), published by CAF's io middleman on the cluster port. It keeps
// the member table, dials its seeds and every member it learns of (forever,
// with backoff), runs the handshake, spawns one peer actor per remote node
// that is up, and mirrors the local registry's functions to every peer.
//
// Handshake: the dialer sends (hello, node_hello); the other side checks
// it (protocol, cookie, queue-config digest, heartbeat settings, a name of
// its own or of another live node) and answers with its own node_hello, or
// an error saying why it refuses; the dialer checks that answer the same
// way. Both log every refusal with its reason. Each hello carries the
// sender's member table, so any start order ends in a full mesh. Members
// are known by name; a new incarnation of a name that is down or left means
// its process restarted: the old peer's calls fail and a new peer takes
// over (a new incarnation while the old one is up is a duplicate name).
//
// Messages:
//  - (hello, node_hello) from a dialer; reply: our node_hello;
//  - (fnupdate, fn_update) from a remote node: its functions changed;
//  - (fnupdate, added, removed) from the local registry (its watch feed):
//    our functions changed, sent on to every member that is up;
//  - call_batch from a remote peer: calls for local providers, each
//    answered (a leaving node refuses them) in a result_batch to the peer,
//    the answers of one mailbox drain together ((flush) to itself);
//  - (bye) from a remote node: it leaves; its functions are withdrawn;
//  - hello_refusal from a node we accepted: its check of our answer failed,
//    so it is dropped again;
//  - (drain) from the engine: reply once no call of another node runs here;
//  - (members): the member table, this node first (for
//    engine::cluster::members, which this actor serves as an invoke);
//  - (bye) from the engine itself (no remote sender): leave: every member
//    is told to withdraw this node's functions;
//  - (fwdenq, owner, job) from a local FIFO supervisor: the job's group
//    belongs to `owner`; it goes there through the peer; (fwdenq, job) from
//    a remote node: a job for a group this node owns, for its supervisor;
//  - (handover, owner, job) and (handover, job): the same for a job the
//    supervisor kept while `owner` was away;
//  - (settled, queue, to, owners) from a local FIFO supervisor, sent on to
//    member `to` through its peer, arriving as (settled, queue, owners,
//    from) for that node's supervisor (see actors/queue_actor.hpp);
//  - (forgetnode, name, by) from member `by`: its operator declared `name`
//    gone; forgotten here too.
//  - (qcluster, queue_functions) from the engine: this node's queue
//    functions actor;
//  - (fanout, invoke) from the queue functions actor: a worker's queue
//    call; every node that is up answers for itself, this one through
//    (localcall, invoke) to the queue functions actor, each other one
//    through (qlocal, invoke) to its node actor, within a timeout each;
//    reply: one node_answer per node, this node first;
//  - (qlocal, invoke) from a remote node: this node's own answer, from the
//    queue functions actor;
//  - (httprouter, router) from the local HTTP router, which the engine
//    subscribed us to (it serves iii-http): every peer gets it, to register
//    its node's routes;
//  - (httproute, register_trigger / unregister_trigger) from the local HTTP
//    router (its watch feed): a route of our workers added or removed,
//    sent on to every member that is up as (httproute, http_update), and
//    all of them to a node that joins;
//  - (httproute, http_update) from a remote node: its routes changed, for
//    its peer actor.
//  Queue supervisors get (members, self, nodes up, group owners) on every
//  change of the view (FIFO ones route by it; all restart their start-up
//  grace period at the first join). The owners are this node and every
//  member known by name, up or not, that was not refused or declared gone.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/response_promise.hpp>
#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/messages.hpp"
#include "actors/queue_directory.hpp"
#include "base/membership.hpp"
#include "cluster/cluster_messages.hpp"
#include "protocol/queue_api.hpp"
#include "troupe/config.hpp"
#include "troupe/job.hpp"
#include "troupe/messages.hpp"

namespace troupe {

/// The engine functions the node actor serves: the member table, and an
/// operator's declaration that a lost member is gone for good
/// (`{"node": name}`: it is no longer redialled).
constexpr const char* members_function_id = "engine::cluster::members";
constexpr const char* forget_function_id = "engine::cluster::forget";

struct node_state {
  struct member {
    std::string name;
    std::string advertise;
    std::string incarnation;
    member_status status = member_status::connecting;
    /// The remote node actor (a proxy) while up.
    caf::actor node;
    /// Our peer actor for it while up.
    caf::actor peer;
    /// Why it was last refused or lost (for the member list).
    std::string reason;
  };

  /// An address to dial: a seed, or a member's advertised address.
  struct dial_state {
    uint32_t failures = 0;
    /// A dial, or the timer of the next one, is under way.
    bool pending = false;
    /// The name found there, once known.
    std::string name;
    /// The last failure, logged once until it changes.
    std::string last_error;
    /// Never dialled again: it is this node.
    bool is_self = false;
  };

  caf::event_based_actor* self = nullptr;
  cluster_config cfg;
  std::vector<queue_config> queues;
  std::string digest;
  std::string incarnation;
  caf::actor registry;
  /// Answers the queue functions for this node (qlocal, fanout).
  caf::actor queue_functions;
  /// The queues (FIFO supervisors get the view; forwarded jobs go to them).
  std::shared_ptr<const queue_directory> dir;
  /// By name; never holds this node.
  std::map<std::string, member> members;
  /// By address ("host:port").
  std::map<std::string, dial_state> dials;
  /// Functions with a local provider (the registry's watch feed).
  std::set<std::string> local_functions;
  bool leaving = false;
  /// The last refusal logged per "name address", so redials do not repeat
  /// it.
  std::map<std::string, std::string> refusals;
  /// Calls of other nodes this node is running for them.
  uint64_t serving = 0;
  /// Answers to send at the next (flush), by the peer that sent the calls.
  std::map<caf::actor, result_batch> answers;
  std::vector<caf::response_promise> drain_waiters;
  /// Addresses of members an operator declared gone: not redialled.
  std::set<std::string> forgotten;
  /// This node's HTTP router, when it serves iii-http.
  caf::actor http_router;
  /// The HTTP routes of this node's own workers (the router's watch feed),
  /// by trigger id.
  std::map<std::string, http_route_msg> local_routes;

  static inline const char* name = "troupe.node";

  void init(caf::event_based_actor* self_ptr, cluster_config c,
            std::shared_ptr<const queue_directory> queues,
            caf::actor registry_hdl);
  /// Starts dialling the seeds.
  void start();
  caf::result<node_hello> on_hello(node_hello& h);
  void on_remote_update(fn_update& u);
  void on_local_update(std::vector<std::string>& added,
                       std::vector<std::string>& removed);
  /// Runs each call of a remote peer on a local provider (Void calls as
  /// plain sends); a leaving node refuses the others at once.
  void on_calls(call_batch& b);
  /// Sends the answers collected since the last flush, one result_batch
  /// per peer.
  void on_flush();
  /// Reply once no call of another node is running here (a leaving node
  /// waits for them before it closes its worker connections).
  caf::result<void> on_drain();
  void on_bye();
  std::vector<member_info> on_members() const;
  caf::result<invoke_result> on_invoke(invoke& x);
  /// engine::cluster::forget: forgets the member here and tells every
  /// member up to forget it too.
  invoke_result forget(const std::string& data);
  /// Another member's operator declared `name` gone.
  void on_forget_from(const std::string& name, const std::string& by);
  /// Forgets member `name` (declared gone by `by`, for the log).
  invoke_result forget_member(const std::string& name, const std::string& by);
  void on_dial(const std::string& address);
  void on_down(const caf::down_msg& dm);
  /// A node we accepted refused our hello in turn: drop it again.
  void on_refusal(hello_refusal& r);
  /// A local FIFO supervisor's job for a group `owner` owns: new, or
  /// (`handover`) one it kept for it.
  caf::result<std::string> on_forward(const std::string& owner, job& x,
                                      bool handover);
  /// A remote node's job for a group this node owns.
  caf::result<std::string> on_forwarded(job& x, bool handover);
  /// A local FIFO supervisor settled with member `to`: sent through its
  /// peer, behind the jobs handed over before.
  void on_settle_out(std::string& queue, const std::string& to,
                     std::vector<std::string>& owners);
  /// Member `from` settled with this node's supervisor of `queue`.
  void on_settle_in(const std::string& queue, std::vector<std::string>& owners,
                    const std::string& from);
  /// The engine's queue functions actor; ignored from another process (the
  /// node actor is published).
  void on_queue_functions(caf::actor functions);
  /// A worker's queue call: every node's own answer, this node first.
  caf::result<std::vector<protocol::node_answer>> on_fanout(invoke& x);
  /// A remote node asks for this node's answer to a queue call.
  caf::result<invoke_result> on_qlocal(invoke& x);
  /// This node's HTTP router; ignored unless the router itself sends it.
  void on_http_router(caf::actor router);
  /// A route of this node's workers, from the local router: to every member
  /// that is up.
  void on_local_route(const register_trigger& x);
  void on_local_unroute(const unregister_trigger& x);
  /// A remote node's routes changed: for its peer.
  void on_remote_routes(http_update& u);

  /// Our hello for a node whose incarnation is `to` ("" when unknown).
  node_hello make_hello(const std::string& to) const;
  /// Why `h` (sent with `expected_to` as our incarnation) is refused, or
  /// empty when it is fine.
  std::string check(const node_hello& h, const std::string& expected_to) const;

private:
  void accept(const node_hello& h, caf::actor remote);
  void learn(const member_info& m);
  void schedule_dial(const std::string& address);
  void dial_failed(const std::string& address, const std::string& why);
  /// A call of `peer` ended with `r`: queued for the next flush.
  void served(const caf::actor& peer, uint64_t id, invoke_result r);
  void log_refusal(const std::string& name, const std::string& address,
                   const std::string& why);
  member* find_by_node(const caf::actor_addr& addr);
  /// Tells every queue supervisor which nodes are up now.
  void push_view();
  /// A member just joined: its peer gets our router, its node our routes.
  void http_joined(const member& m);
  /// Sends `u` to every member that is up.
  void send_routes(const http_update& u);
  /// The current message comes from this process.
  bool from_here() const;
};

caf::behavior node_actor(caf::stateful_actor<node_state>* self,
                         cluster_config cfg,
                         std::shared_ptr<const queue_directory> queues,
                         caf::actor registry);

/// The middleman settings a cluster node needs: CAF's io module, troupe's
/// application id (peers of another application are refused by CAF) and
/// the link heartbeat and timeout. Call before the actor system is made.
void configure_cluster(caf::actor_system_config& cfg,
                       const cluster_config& cluster);

/// Spawns the node actor, publishes it on `cluster.host:port` and has it
/// dial its seeds. Sets `cluster.port` to the bound port, and fills in
/// `cluster.name` and `advertise` when port 0 left them empty. Returns the node actor; errors when the port cannot be
/// opened. REQUIRES: `sys` was configured with configure_cluster().
caf::expected<caf::actor>
start_cluster_node(caf::actor_system& sys, cluster_config& cluster,
                   std::shared_ptr<const queue_directory> queues,
                   caf::actor registry);

/// Closes the cluster listener (CAF keeps it open after the published actor
/// ends) and stops the node actor and its peers: the links close and the
/// other nodes see this one go.
void stop_cluster_node(caf::actor_system& sys, const caf::actor& node,
                       uint16_t port);

} // namespace troupe
