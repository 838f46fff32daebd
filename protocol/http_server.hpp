// The REST API listener for `http` triggers (Boost.Beast, HTTP/1.1 with
// keep-alive). It owns its own I/O thread; nothing outside http_server.cpp
// includes Beast. The engine plugs in one function, called on the I/O
// thread with each whole request and a responder; it must only hand them
// off (never block). The connection reads its next request once the
// responder has answered, so requests on one connection are sequential and
// many connections run in parallel.
// Decided here, before the function sees anything: 413 for a body over
// `max_body_bytes`, 400 for a request that is not valid HTTP.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <caf/expected.hpp>

namespace troupe::protocol {

/// (name, value) pairs, in arrival or output order.
using http_fields = std::vector<std::pair<std::string, std::string>>;

/// One request as read from the wire.
struct http_request {
  /// Upper case ("GET", "POST", ...).
  std::string method;
  /// The target's path, raw (not percent-decoded), without the query.
  std::string path;
  /// The raw query string after '?', or empty.
  std::string query;
  /// Header names in lower case, in arrival order (duplicates kept).
  http_fields headers;
  std::string body;
};

/// One response. The server adds Content-Length, Connection and Server.
struct http_response {
  unsigned status = 200;
  http_fields headers;
  std::string body;
};

/// Answers one request. Thread-safe: respond() may be called from any
/// thread; it hands the response to the connection's strand and never
/// blocks. Only the first call counts. Dropped without an answer, it
/// answers 500 so the client does not hang.
class http_responder {
public:
  virtual ~http_responder();

  virtual void respond(http_response res) = 0;
};

/// The engine's side: called on the I/O thread; must not block.
using http_handler_fn
  = std::function<void(http_request, std::shared_ptr<http_responder>)>;

struct http_server_options {
  std::string host = "127.0.0.1";
  uint16_t port = 3111;
  /// Larger request bodies get 413 and the connection closes.
  size_t max_body_bytes = 1024 * 1024;
  /// A keep-alive connection idle this long is closed; also the limit for
  /// reading one request and for writing one response.
  std::chrono::seconds idle_timeout{60};
  /// Connections open at once; one more gets 503 to its first request and
  /// is closed (a warning at most every 10 s says how many).
  size_t max_connections = 1024;
  /// I/O threads.
  int threads = 1;
};

class http_server {
public:
  http_server(http_server_options opts, http_handler_fn handler);
  ~http_server();

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Binds and starts accepting. Returns the bound port (useful with port 0).
  caf::expected<uint16_t> start();

  /// Stops accepting, closes every connection (requests still waiting for
  /// their function get no answer) and joins the I/O threads. Responders
  /// still held elsewhere do nothing afterwards. Idempotent.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace troupe::protocol
