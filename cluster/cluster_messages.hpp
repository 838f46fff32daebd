// The messages engine nodes exchange with each other's node actors: the
// join handshake (node_hello, answered by a node_hello or a hello_refusal),
// the member table gossip (member_info), the deltas of the functions a
// node serves (fn_update) and of the HTTP routes its workers registered
// (http_update), and the calls a peer actor forwards to the node that
// serves them (call_batch, answered by result_batch). Plain structs with
// inspect(); their type IDs and
// atoms are in cluster/cluster_type_ids.hpp, registered on every node.
//
// The cookie: a node never sends its cookie, only cookie_proof() of it
// (cluster/membership.hpp), bound to both incarnations so that a proof
// copied from another pair of nodes does not match. This catches nodes of
// different clusters dialling each other by mistake; it is NOT
// authentication. The proof is a fast non-cryptographic hash (troupe has no
// crypto library), so anyone who can read the link can test cookie guesses
// offline, and BASP itself is plaintext and unauthenticated: against
// attackers, run the cluster port on a private network or use caf::openssl.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "troupe/messages.hpp"

namespace troupe {

/// The node_hello protocol this build speaks. Nodes refuse a hello with
/// another number; bump it whenever a cluster message or a rule in
/// cluster/membership.hpp changes.
constexpr uint32_t cluster_protocol = 7;

/// One entry of a node's member table, as gossiped to its peers. A
/// receiver dials members it does not know at their `advertise` address.
struct member_info {
  std::string name;
  /// The "host:port" to dial.
  std::string advertise;
  /// The process's random id; a new one means the node restarted.
  std::string incarnation;
  /// A member_status wire value, as the sender sees this member.
  uint8_t status = 0;
};

/// The first message on a new link, sent by the dialing node actor to the
/// remote node actor as (atom::hello, node_hello). Reply: the answering
/// node's own node_hello (then both consider the other up), or a
/// hello_refusal. Each side checks the other's protocol, config_digest,
/// heartbeat settings, name (not its own) and cookie_proof.
struct node_hello {
  /// cluster_protocol of the sender.
  uint32_t protocol = cluster_protocol;
  /// cluster_config::name, unique in the cluster.
  std::string name;
  /// A random id per process start: (name, incarnation) identifies a run.
  std::string incarnation;
  /// cluster_config::advertise: where the sender can be dialled.
  std::string advertise;
  /// queue_config_digest() of the sender's queues.
  std::string config_digest;
  uint32_t heartbeat_ms = 0;
  uint32_t peer_timeout_ms = 0;
  /// cookie_proof(cookie, sender incarnation, receiver incarnation or ""
  /// when the dialer does not know it yet); empty without a cookie.
  std::string cookie_proof;
  /// The sender's member table, without the sender itself.
  std::vector<member_info> members;
};

/// The answer to a node_hello that failed a check. `reason` is one line
/// for both nodes' logs, e.g. "queue 'payment': type fifo here, standard
/// there"; it never contains the cookie.
struct hello_refusal {
  std::string reason;
};

/// A function a node serves through one of its own workers.
struct function_info_msg {
  std::string id;
  /// Free text, as registered (empty for now: nodes send ids only).
  std::string description;
  /// JSON text or empty, as registered.
  std::string metadata;
};

/// A change of the functions the sender's workers serve, sent as
/// (atom::fnupdate, fn_update) after the join, in order. Only functions
/// of the sender's own workers: never engine::* or iii::*, never functions
/// it learned from another node.
struct fn_update {
  /// New or re-registered functions (the last registration wins).
  std::vector<function_info_msg> added;
  /// Ids the sender no longer serves.
  std::vector<std::string> removed;
};

/// An `http` trigger of one of the sender's workers, as registered there:
/// every node that serves iii-http serves it too, calling `function_id`
/// through its own registry.
struct http_route_msg {
  /// The trigger id (unique per node, not across nodes).
  std::string id;
  std::string function_id;
  /// The trigger's config, raw JSON (api_path, http_method).
  std::string config;
  /// JSON text or empty, sent with every call.
  std::string metadata;
};

/// A change of the HTTP routes the sender's workers registered, sent as
/// (atom::httproute, http_update) in order: the full set to a node that
/// joins, then each change to every member that is up. Only routes of the
/// sender's own workers, never routes it learned from another node.
struct http_update {
  /// New or re-registered triggers (a known id replaces its route).
  std::vector<http_route_msg> added;
  /// Trigger ids the sender no longer serves.
  std::vector<std::string> removed;
};

/// One call a peer actor forwards to the node that serves the function.
struct remote_call {
  /// The peer's id for the call, echoed in its call_result (0 for a Void
  /// call).
  uint64_t id = 0;
  /// False for a Void call: the serving node sends no answer.
  bool reply = true;
  invoke call;
};

/// The calls a peer actor received since its last flush, in their order,
/// sent as one message to the node actor of the node it stands for (a
/// plain send: each call is answered in a result_batch). Batching them
/// costs one BASP message per mailbox drain instead of one per call.
struct call_batch {
  std::vector<remote_call> calls;
};

/// The answer to the remote_call `id`.
struct call_result {
  uint64_t id = 0;
  invoke_result result;
};

/// The answers a serving node actor collected for one peer since its last
/// flush, sent to the peer that sent the calls.
struct result_batch {
  std::vector<call_result> results;
  /// Calls a leaving node did not take, as they came: the peer withdraws
  /// the node's functions and sends them to another provider.
  std::vector<remote_call> refused;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_info& x) {
  return f(caf::meta::type_name("troupe::member_info"), x.name, x.advertise,
           x.incarnation, x.status);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_hello& x) {
  return f(caf::meta::type_name("troupe::node_hello"), x.protocol, x.name,
           x.incarnation, x.advertise, x.config_digest, x.heartbeat_ms,
           x.peer_timeout_ms, x.cookie_proof, x.members);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, hello_refusal& x) {
  return f(caf::meta::type_name("troupe::hello_refusal"), x.reason);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, function_info_msg& x) {
  return f(caf::meta::type_name("troupe::function_info_msg"), x.id,
           x.description, x.metadata);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fn_update& x) {
  return f(caf::meta::type_name("troupe::fn_update"), x.added, x.removed);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_route_msg& x) {
  return f(caf::meta::type_name("troupe::http_route_msg"), x.id, x.function_id,
           x.config, x.metadata);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_update& x) {
  return f(caf::meta::type_name("troupe::http_update"), x.added, x.removed);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, remote_call& x) {
  return f(caf::meta::type_name("troupe::remote_call"), x.id, x.reply, x.call);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, call_batch& x) {
  return f(caf::meta::type_name("troupe::call_batch"), x.calls);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, call_result& x) {
  return f(caf::meta::type_name("troupe::call_result"), x.id, x.result);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, result_batch& x) {
  return f(caf::meta::type_name("troupe::result_batch"), x.results, x.refused);
}

} // namespace troupe
