// The outbound HTTP/1.1 client of HTTP-invoked functions (Boost.Beast,
// plain TCP). It owns its I/O thread(s); nothing outside http_client.cpp
// includes Beast for it. send() may be called from any thread and never
// blocks: the request runs on the I/O thread, and `done` is called there
// exactly once, so it must only hand the response off (e.g. anon_send).
// One connection per request (`Connection: close`), no redirects followed.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "protocol/http_function.hpp"

namespace troupe::protocol {

class http_client {
public:
  using callback = std::function<void(outbound_response)>;

  virtual ~http_client();

  /// Sends `req`; `done` gets the response or why there is none: timeout
  /// (the whole exchange, resolve to last byte, within `req.timeout`), dns,
  /// connect, too_large, bad_response, blocked.
  virtual void send(outbound_request req, callback done) = 0;
};

struct http_client_options {
  /// Larger response bodies fail with too_large.
  size_t max_response_bytes = 1024 * 1024;
  /// Refuse to connect when the host resolves to a private address.
  bool block_private_ips = true;
  int threads = 1;
};

/// Starts the I/O thread(s); they stop and join when the last reference to
/// the client goes (requests still running then get no callback).
std::shared_ptr<http_client> make_http_client(http_client_options opts);

} // namespace troupe::protocol
