// The pure rules of cluster membership: which node owns a FIFO group, when
// two nodes' queue configurations are compatible, how long to wait before
// redialling a peer, and the states a member goes through. No actors and no
// I/O; the node actor applies these to its member table.
//
// Everything here that two nodes compute independently (fnv1a64,
// hrw_score, fifo_owner, queue_config_digest) is part of the cluster
// protocol: nodes built by different compilers, or from different troupe
// versions, must get the same answers (cookie_proof too). Never change these
// functions; a new rule needs a new node_hello protocol number.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "troupe/config.hpp"

namespace troupe {

/// The 64-bit FNV-1a hash of `bytes` (offset basis 14695981039346656037,
/// prime 1099511628211). Not `std::hash`, which differs between builds.
uint64_t fnv1a64(std::string_view bytes);

/// The rendezvous weight of `member` for group `group` of queue `queue`:
/// fmix64(fnv1a64(member + '\0' + queue + '\0' + group)), fmix64 being
/// MurmurHash3's 64-bit finalizer. The finalizer matters: FNV-1a alone
/// changes mostly low bits when only the last bytes differ, so groups like
/// "order-1" ... "order-9" would all land on the same node.
uint64_t hrw_score(std::string_view member, std::string_view queue,
                   std::string_view group);

/// The node that runs FIFO group `group` of `queue`: rendezvous (highest
/// random weight) hashing, the member with the largest hrw_score, ties
/// going to the smaller name. Independent of the order of `members`. When
/// a member joins, only the groups it now wins move (about 1/N of them);
/// when one leaves, only its own groups move. Empty when `members` is.
std::string fifo_owner(const std::vector<std::string>& members,
                       std::string_view queue, std::string_view group);

/// The fingerprint two nodes compare before they join: 16 lowercase hex
/// digits of fnv1a64 over the canonical text "troupe.queues.v1\n" followed,
/// for each queue in name order, by
/// "<len(name)>:<name> <standard|fifo> <len(field)>:<field>\n", field being
/// message_group_field. Only what must agree cluster-wide is in it: the
/// names, types and group fields. Concurrency, retries, backoff and
/// timeouts may differ per node.
std::string queue_config_digest(const std::vector<queue_config>& queues);

/// What makes the digests of `here` and `there` differ, one phrase per
/// queue in name order, for the log line that refuses a peer: "queue 'x'
/// only here", "queue 'x' only there", "queue 'x': type fifo here, standard
/// there", "queue 'x': message_group_field 'a' here, 'b' there". Empty when
/// the digests are equal.
std::vector<std::string>
queue_config_differences(const std::vector<queue_config>& here,
                         const std::vector<queue_config>& there);

/// What a node_hello carries instead of the cookie: 16 lowercase hex digits
/// of fmix64(fnv1a64("troupe.cookie.v1\0" + cookie + '\0' + from + '\0' +
/// to)), `from` being the sender's incarnation and `to` the receiver's
/// (empty in the first hello of a dial, when the dialer does not know it
/// yet). Empty when `cookie` is. A check against joining the wrong cluster
/// by mistake, not authentication: FNV is no MAC, and whoever can read the
/// link can test guesses offline (cluster/cluster_messages.hpp).
std::string cookie_proof(std::string_view cookie,
                         std::string_view from_incarnation,
                         std::string_view to_incarnation);

/// How long to wait before dialling a peer again after `failures`
/// consecutive failed attempts: 250 ms, doubling per failure up to 5 s,
/// with 0 treated as 1. There is no limit on attempts: a node keeps
/// redialling its seeds and known members forever.
std::chrono::milliseconds redial_delay(uint32_t failures);

/// Where a member stands, as this node sees it. The values cross nodes in
/// member_info::status: never renumber them.
enum class member_status : uint8_t {
  /// Dialling it, or waiting for its hello.
  connecting = 0,
  /// Joined: its functions and FIFO groups are in the view.
  up = 1,
  /// Its link died or went silent; being redialled.
  down = 2,
  /// It said bye: it shut down on purpose.
  left = 3,
  /// Its hello failed a check (protocol, digest, heartbeat, name, cookie).
  refused = 4,
};

/// "connecting", "up", "down", "left" or "refused".
std::string to_string(member_status x);

/// The status with wire value `x`; nullopt for an unknown value (a newer
/// peer).
std::optional<member_status> member_status_from(uint8_t x);

namespace detail {

/// The member with the largest `score`, ties going to the smaller name;
/// empty when `members` is. fifo_owner's choice, apart for tests.
std::string hrw_argmax(const std::vector<std::string>& members,
                       const std::function<uint64_t(std::string_view)>& score);

} // namespace detail

} // namespace troupe
