// A small, blocking WebSocket client (Boost.Beast) for the command-line
// client: it connects to an engine's worker port, sends and reads text
// frames, and closes with the close handshake. One thread uses it; every
// operation waits at most until the deadline it is given. Nothing outside
// ws_client.cpp includes Beast. Errors are returned as text a user can act
// on, never thrown.
#pragma once

#include <chrono>
#include <memory>
#include <string>

namespace troupe::protocol {

/// The parts of a `ws://HOST[:PORT][/PATH]` address.
struct ws_address {
  std::string host;
  std::string port = "80";
  /// The request target, "/" when the address has no path.
  std::string target = "/";
};

/// Parses `url`; on failure returns false and says why in `error`.
/// Only `ws://` is supported (no TLS).
bool parse_ws_address(const std::string& url, ws_address& out,
                      std::string& error);

/// What a failed operation ran into.
enum class ws_client_status {
  ok,
  /// The deadline passed first.
  timeout,
  /// Resolving, connecting, the upgrade, or the connection went away.
  failed,
};

class ws_client {
public:
  using clock = std::chrono::steady_clock;

  ws_client();
  ~ws_client();

  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  /// Resolves, connects and upgrades. A non-empty `bearer_token` is sent as
  /// `Authorization: Bearer TOKEN` on the upgrade request.
  ws_client_status connect(const ws_address& addr,
                           const std::string& bearer_token,
                           clock::time_point deadline);

  /// Writes one text frame.
  ws_client_status send(const std::string& text, clock::time_point deadline);

  /// Reads the next whole message (text or binary) into `out`. A close
  /// frame from the engine is `failed`, with its code and reason in error().
  ws_client_status read(std::string& out, clock::time_point deadline);

  /// Sends a normal close (1000) and waits, until `deadline`, for the
  /// engine's close frame; then the socket is closed either way.
  void close(clock::time_point deadline);

  /// Why the last failed operation failed.
  const std::string& error() const { return error_; }

private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::string error_;
};

} // namespace troupe::protocol
