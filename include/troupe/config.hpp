// The engine's configuration: `iii-config.yaml` turned into validated plain
// structs. Everything here is checked by load_engine_config(), so the actors
// only ever see valid values. No actors, no I/O besides reading the file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <caf/expected.hpp>

namespace troupe {

/// The largest value of the size limits max_frame_bytes, max_body_bytes
/// and max_payload_bytes: 1 GiB.
constexpr uint64_t max_message_bytes = uint64_t{1} << 30;

/// The largest `concurrency` of a queue.
constexpr uint64_t max_concurrency = 10000;

/// `iii-worker-manager`: the worker WebSocket listener.
struct worker_manager_config {
  std::string host = "127.0.0.1";
  uint16_t port = 49134;
  /// Largest WebSocket message accepted from a worker (`max_frame_bytes`,
  /// at most max_message_bytes).
  size_t max_frame_bytes = 4 * 1024 * 1024;
  /// Engine-side limit for a synchronous trigger() (`invocation_timeout_ms`).
  /// A safety net: the SDK's own default timeout is 30 s.
  uint64_t invocation_timeout_ms = 300000;
  /// A connection that sends nothing, not even a ping, this long is closed
  /// (`idle_timeout_ms`; the SDK pings every 20 s).
  uint64_t idle_timeout_ms = 90000;
  /// A message whose first bytes arrived must be complete this soon
  /// (`message_timeout_ms`).
  uint64_t message_timeout_ms = 30000;
};

/// `iii-http`: the REST API serving `http` triggers.
struct http_config {
  bool enabled = true;
  std::string host = "127.0.0.1";
  uint16_t port = 3111;
  /// A request whose function has not answered by then gets 504.
  uint64_t default_timeout_ms = 30000;
  /// Largest request body accepted (`max_body_bytes`); larger gets 413.
  size_t max_body_bytes = 1024 * 1024;
};

/// `iii-http-functions`: functions a worker registers with an `invocation`
/// object, whose URL the engine calls itself. Without it in `workers`, such
/// registrations are refused.
struct http_functions_config {
  bool enabled = false;
  /// `security.url_allowlist`: glob patterns (`*`, `?`) over the URL's
  /// host; empty allows every host.
  std::vector<std::string> url_allowlist = {};
  /// `security.block_private_ips`: refuse loopback, private and link-local
  /// addresses (literal or resolved).
  bool block_private_ips = true;
  /// `security.require_https`: troupe has no TLS client, so only false.
  bool require_https = false;
  /// Used when a function's `timeout_ms` is absent or 0.
  uint64_t default_timeout_ms = 30000;
  /// Larger response bodies fail the call with `response_too_large`.
  size_t max_response_bytes = 1024 * 1024;
};

enum class queue_type { standard, fifo };

/// One entry of `iii-queue.config.queue_configs`.
struct queue_config {
  std::string name;
  /// Total delivery attempts before the DLQ (0 in the file means 1).
  uint32_t max_retries = 3;
  /// Jobs (standard) or groups (fifo) in flight at once on this node; >= 1.
  /// At most max_concurrency.
  uint32_t concurrency = 10;
  queue_type type = queue_type::standard;
  /// Required for fifo: the top-level payload field naming the group.
  std::string message_group_field;
  /// Base delay: after the k-th failed attempt wait backoff_ms * 2^(k-1).
  uint64_t backoff_ms = 1000;
  /// Accepted for compatibility with iii; troupe never polls.
  uint64_t poll_interval_ms = 100;
  /// One attempt fails if the function has not answered by then.
  uint64_t timeout_ms = 30000;
  /// Optional cap on one retry delay.
  std::optional<uint64_t> max_backoff_ms;
};

enum class store_method { in_memory, file_based };

/// `iii-queue`: named queues and where their jobs live.
struct queue_worker_config {
  /// Always holds a queue named "default" (configured or with defaults).
  std::vector<queue_config> queues;
  store_method store = store_method::in_memory;
  /// The directory the store owns (file_based only).
  std::string file_path;
  /// Largest payload an enqueue may carry (`max_payload_bytes`).
  size_t max_payload_bytes = 1024 * 1024;
  /// For this long after start, an attempt that fails because no worker has
  /// registered the function yet is not charged (`startup_grace_ms`): after
  /// a restart, workers need a moment to reconnect. 0 turns it off.
  uint64_t startup_grace_ms = 10000;
};

/// `troupe-cluster`: this node's place in a cluster of engines. Filled in
/// by parse_engine_config(), which enforces every rule stated here.
struct cluster_config {
  bool enabled = false;
  /// The interface the cluster listener binds to.
  std::string host = "127.0.0.1";
  /// The cluster listener's port; 0 lets the OS pick one at start.
  uint16_t port = 0;
  /// This node's name, unique in the cluster: peers deduplicate by it and
  /// FIFO groups are assigned by hashing it, so keep it across restarts.
  /// 1 to 255 printable ASCII characters, no spaces. Default "host:port"
  /// ("[host]:port" for IPv6). Required when `host` is a wildcard (0.0.0.0,
  /// ::). Empty when `port` is 0 and no name is configured: the node then
  /// sets it to "host:P" with the port it bound, before it dials anyone.
  std::string name;
  /// The "host:port" other nodes dial to reach this one (not a wildcard).
  /// Default "host:port"; required when `host` is a wildcard. Empty when
  /// `port` is 0 and none is configured: the node fills in the bound port.
  std::string advertise;
  /// Other nodes to join, as "host:port".
  std::vector<std::string> seeds;
  /// The link heartbeat, >= 50. Peers refuse a node whose heartbeat
  /// settings differ from theirs (one-sided heartbeats make links flap).
  uint32_t heartbeat_ms = 1000;
  /// A peer whose link stays silent this long is down; at least
  /// 2 * heartbeat_ms.
  uint32_t peer_timeout_ms = 5000;
  /// Optional shared secret; empty means none. Nodes with different
  /// cookies refuse each other. Never logged and never sent in clear: it
  /// guards against joining the wrong cluster by mistake, it is no
  /// authentication (cluster/cluster_messages.hpp).
  std::string cookie;
};

/// `troupe-admin`: the admin listener (health checks, the JSON API, the
/// metrics and the dashboard). Off unless the entry (or the binary's
/// `--admin HOST:PORT`) is given.
struct admin_config {
  bool enabled = false;
  std::string host = "127.0.0.1";
  /// 0 lets the OS pick a free port.
  uint16_t port = 3113;
  /// When not empty, every request but the dashboard's files, /healthz and
  /// /readyz needs `Authorization: Bearer TOKEN`.
  std::string token;
  /// Refuse every change (403 `read_only`).
  bool read_only = false;
};

struct engine_config {
  /// Where the configuration came from: a file path, or "(defaults)".
  std::string source = "(defaults)";
  worker_manager_config worker_manager;
  http_config http;
  http_functions_config http_functions;
  queue_worker_config queue;
  cluster_config cluster;
  admin_config admin;

  /// Returns the queue named `name`, or nullptr.
  const queue_config* find_queue(const std::string& name) const;
};

/// Looks up an environment variable; nullopt when unset.
using env_lookup
  = std::function<std::optional<std::string>(const std::string&)>;

/// The process environment (getenv).
env_lookup process_env();

/// The configuration used when there is no file: listeners on 127.0.0.1,
/// one queue `default`, the in-memory store.
engine_config default_engine_config();

/// Parses `text` (the contents of `file_name`). Errors are
/// `errc::bad_config` with the message `FILE:LINE:COL: what is wrong`.
caf::expected<engine_config> parse_engine_config(const std::string& text,
                                                 const std::string& file_name,
                                                 const env_lookup& env);

/// Reads and parses the file at `path` with the process environment.
caf::expected<engine_config> load_engine_config(const std::string& path);

/// The delay before attempt `failed_attempts + 1`, after `failed_attempts`
/// (>= 1) failures: min(backoff_ms * 2^(failed_attempts - 1), max_backoff_ms),
/// saturating instead of overflowing.
uint64_t retry_delay_ms(const queue_config& q, uint32_t failed_attempts);

/// The number of attempts a job gets (max_retries, with 0 meaning 1).
uint32_t max_attempts(const queue_config& q);

} // namespace troupe
