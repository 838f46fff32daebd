// The cluster's type-ID block: every type and atom that crosses between
// node actors, right after the engine's block. Register both on every node,
// in this order, with `cfg.add_message_types<caf::id_block::troupe>()` and
// `cfg.add_message_types<caf::id_block::troupe_cluster>()`: a node missing
// a type fails at run time (guide: caf-0.17-notes.md, pitfall 3). Atom
// texts are at most 10 characters and unique project-wide.
#pragma once

#include <caf/atom.hpp>
#include <caf/type_id.hpp>

#include <string>
#include <vector>

#include "actors/type_ids.hpp"
#include "cluster/cluster_messages.hpp"

CAF_BEGIN_TYPE_ID_BLOCK(troupe_cluster, caf::id_block::troupe::end)

  CAF_ADD_TYPE_ID(troupe_cluster, (troupe::member_info))
  CAF_ADD_TYPE_ID(troupe_cluster, (std::vector<troupe::member_info>))
  CAF_ADD_TYPE_ID(troupe_cluster, (troupe::node_hello))
  CAF_ADD_TYPE_ID(troupe_cluster, (troupe::hello_refusal))
  CAF_ADD_TYPE_ID(troupe_cluster, (troupe::function_info_msg))
  CAF_ADD_TYPE_ID(troupe_cluster, (troupe::fn_update))

  /// (hello, node_hello) to a remote node actor: join. Reply: node_hello
  /// or hello_refusal.
  CAF_ADD_ATOM(troupe_cluster, troupe::atom, hello, "hello")
  /// (bye) to a peer's node actor: the sender shuts down on purpose; drop
  /// its functions and FIFO groups now instead of waiting for the link.
  CAF_ADD_ATOM(troupe_cluster, troupe::atom, bye, "bye")

  /// (qlocal, invoke) to a remote node actor: that node's own answer to a
  /// queue function (engine::queue::*, iii::queue::*), from its queue
  /// functions actor. Reply: invoke_result.
  CAF_ADD_ATOM(troupe_cluster, troupe::atom, qlocal, "qlocal")

  /// (setup, name, advertise) to the node actor from start_cluster_node():
  /// its final name and address once the listener is bound.
  CAF_ADD_ATOM(troupe_cluster, troupe::atom, setup, "setup")
  /// (dialseeds) to the node actor: start dialling the seeds. ("join" is
  /// CAF's own join_atom: the same text is the same atom in CAF 0.17.)
  CAF_ADD_ATOM(troupe_cluster, troupe::atom, dialseeds, "dialseeds")
  /// (forgetnode, name, by) to the other members' node actors: node `by`'s
  /// operator declared member `name` gone for good (engine::cluster::forget).
  CAF_ADD_ATOM(troupe_cluster, troupe::atom, forgetnode, "forgetnode")
  /// (dial, address) to itself: the node actor's redial timer.
  CAF_ADD_ATOM(troupe_cluster, troupe::atom, dial, "dial")

  /// (httproute, http_update) to a remote node actor: the sender's HTTP
  /// routes changed (the atom is in actors/type_ids.hpp: the HTTP router
  /// uses it too).
  CAF_ADD_TYPE_ID(troupe_cluster, (troupe::http_route_msg))
  CAF_ADD_TYPE_ID(troupe_cluster, (troupe::http_update))

  /// call_batch from a peer actor to the node actor it stands for; answered
  /// with result_batch from that node actor to the peer (plain sends).
  CAF_ADD_TYPE_ID(troupe_cluster, (troupe::remote_call))
  CAF_ADD_TYPE_ID(troupe_cluster, (troupe::call_batch))
  CAF_ADD_TYPE_ID(troupe_cluster, (troupe::call_result))
  CAF_ADD_TYPE_ID(troupe_cluster, (troupe::result_batch))

CAF_END_TYPE_ID_BLOCK(troupe_cluster)
