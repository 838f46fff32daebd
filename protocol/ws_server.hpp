// The worker WebSocket listener (Boost.Beast). It owns its own I/O threads;
// the engine plugs in through two small interfaces so that nothing outside
// ws_server.cpp includes Beast:
//  - ws_peer: one open connection, used from any thread to queue and write
//    text frames or close it;
//  - ws_handler: the engine's side of one connection; called on the I/O
//    thread with whole messages, every message one read brought in at
//    once, and must only hand them off (never block).
// Paths (the query string is ignored): a WebSocket upgrade to "/" is a
// worker connection, to "/otel" is accepted and its frames discarded (the
// SDK's telemetry socket), to any other path gets 404. A plain HTTP request
// gets 200 {"status":"ok"} on "/health" and 426 Upgrade Required elsewhere;
// either way the connection then closes.
// Before an upgrade to "/" or "/otel" goes ahead, the server checks its
// connection cap (over it: 503) and then asks the engine's ws_admit_fn,
// which may answer later (an auth function's call) and refuse with an HTTP
// status; the upgrade waits meanwhile, other connections do not.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "base/worker_access.hpp"
#include "protocol/auth_api.hpp"

namespace troupe::protocol {

/// One open WebSocket connection. Thread-safe.
class ws_peer {
public:
  virtual ~ws_peer();

  /// Queues one text frame without writing it; flush() writes it. Frames
  /// go out in the order of queue() calls. Does nothing once the connection
  /// is closing.
  virtual void queue(std::string text) = 0;

  /// Writes every queued frame: from the calling thread in one non-blocking
  /// write when the socket takes it all (no hand-off to the I/O thread),
  /// otherwise the I/O thread writes the rest.
  virtual void flush() = 0;

  /// Starts the WebSocket close handshake with `code` and `reason`.
  virtual void close(uint16_t code, std::string reason) = 0;

  /// "IP:PORT" of the other side.
  virtual const std::string& remote() const = 0;

  /// Unique, increasing number of this connection within the process.
  virtual uint64_t id() const = 0;
};

/// The engine's side of one connection. Called on an I/O thread; must not
/// block. After on_close() no other call follows.
class ws_handler {
public:
  virtual ~ws_handler();

  /// Whole messages (text, or binary holding text) in arrival order; never
  /// empty.
  virtual void on_frames(std::vector<std::string> texts) = 0;

  /// The connection is gone; `reason` says why (for the log).
  virtual void on_close(std::string reason) = 0;
};

/// Creates the handler for a new worker connection, with what its
/// admission granted (null when no ws_admit_fn is set).
using ws_accept_fn = std::function<std::unique_ptr<ws_handler>(
  std::shared_ptr<ws_peer>, std::shared_ptr<const access_grant>)>;

/// The engine's decision about one upgrade request.
struct ws_admission {
  /// 0 admits the connection; otherwise the HTTP status it is refused with
  /// (401, 403, 503, ...), the upgrade never happening.
  unsigned status = 0;
  /// Why it was refused: the body's message, for the client and the log.
  std::string reason;
  /// What an admitted connection may do; handed to ws_accept_fn.
  std::shared_ptr<const access_grant> grant;
};

/// Delivers the decision; call it once, from any thread.
using ws_decide_fn = std::function<void(ws_admission)>;

/// Decides about an upgrade to "/" or "/otel". Called on the I/O thread:
/// must not block, may call `decide` at once or later from another thread.
using ws_admit_fn
  = std::function<void(const upgrade_request&, ws_decide_fn decide)>;

struct ws_server_options {
  std::string host = "127.0.0.1";
  uint16_t port = 49134;
  /// Larger messages close the connection with 1009 and a reason.
  size_t max_frame_bytes = 4 * 1024 * 1024;
  /// A peer that does not read while this much is queued for it is closed.
  size_t max_send_backlog = 64 * 1024 * 1024;
  /// A worker connection that sends nothing (not even a ping: the SDK
  /// pings every 20 s) for this long is closed with 1008. Not the
  /// telemetry socket.
  std::chrono::milliseconds idle_timeout{90000};
  /// A message whose first bytes arrived must be complete (all its
  /// fragments) within this long, or the connection is closed with 1008.
  std::chrono::milliseconds message_timeout{30000};
  /// Upgraded and upgrading WebSocket connections at once; one more gets
  /// 503 (a warning at most every 10 s says how many were refused).
  size_t max_connections = 1024;
  /// A ws_admit_fn that has not decided by then refuses with 503.
  std::chrono::milliseconds admit_timeout{15000};
  /// I/O threads.
  int threads = 1;
};

class ws_server {
public:
  ws_server(ws_server_options opts, ws_accept_fn accept,
            ws_admit_fn admit = {});
  ~ws_server();

  ws_server(const ws_server&) = delete;
  ws_server& operator=(const ws_server&) = delete;

  /// Binds and starts accepting. Returns the bound port (useful with port 0).
  caf::expected<uint16_t> start();

  /// Stops accepting, closes every connection (1001 "engine shutting down"),
  /// and joins the I/O threads. Idempotent.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::protocol
