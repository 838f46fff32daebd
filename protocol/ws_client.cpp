#include "protocol/ws_client.hpp"

#include <cctype>
#include <optional>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

namespace troupe::protocol {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

/// Larger messages from the engine fail the read (the engine's own
/// default limit for what it accepts is 4 MiB).
constexpr size_t max_message_bytes = 64 * 1024 * 1024;

bool all_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

} // namespace

bool parse_ws_address(const std::string& url, ws_address& out,
                      std::string& error) {
  auto bad = [&](const std::string& why) {
    error = "bad address '" + url + "': " + why;
    return false;
  };
  std::string lower;
  for (char c : url.substr(0, 6))
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.rfind("wss://", 0) == 0)
    return bad("wss:// (TLS) is not supported, use ws://");
  if (lower.rfind("ws://", 0) != 0)
    return bad("expected ws://HOST[:PORT][/PATH]");
  auto rest = url.substr(5);
  auto slash = rest.find_first_of("/?");
  auto authority = rest.substr(0, slash);
  ws_address addr;
  if (slash != std::string::npos) {
    addr.target = rest.substr(slash);
    if (addr.target.front() == '?') addr.target.insert(0, "/");
  }
  std::string port;
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string::npos) return bad("unclosed '[' in the host");
    addr.host = authority.substr(1, close - 1);
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad("expected ':' after ']'");
      port = after.substr(1);
      if (port.empty()) return bad("empty port");
    }
  } else {
    auto colon = authority.rfind(':');
    addr.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) return bad("empty port");
    }
  }
  if (addr.host.empty()) return bad("no host");
  if (addr.host.find('@') != std::string::npos)
    return bad("user information is not supported");
  if (!port.empty()) {
    if (!all_digits(port) || port.size() > 5 || std::stoul(port) < 1
        || std::stoul(port) > 65535)
      return bad("the port must be a number from 1 to 65535");
    addr.port = std::to_string(std::stoul(port));
  }
  out = std::move(addr);
  return true;
}

struct ws_client::impl {
  net::io_context ioc;
  websocket::stream<tcp::socket> ws{ioc};
  /// False before connect() and after any failure: the stream is then not
  /// usable (a timed-out Beast operation leaves it undefined).
  bool usable = false;

  /// Runs one asynchronous operation to completion or `deadline`. `start`
  /// receives the completion handler to pass on. On timeout the socket is
  /// closed (and `cancel` called), which completes the operation with
  /// operation_aborted.
  template <class Start, class Cancel>
  ws_client_status run(Start&& start, clock::time_point deadline,
                       beast::error_code& ec, Cancel&& cancel) {
    std::optional<beast::error_code> result;
    start([&result](beast::error_code e, auto&&...) { result = e; });
    ioc.restart();
    ioc.run_until(deadline);
    if (!result) {
      cancel();
      beast::error_code ignored;
      beast::get_lowest_layer(ws).close(ignored);
      ioc.restart();
      ioc.run();
      usable = false;
      return ws_client_status::timeout;
    }
    ec = *result;
    if (ec) {
      usable = false;
      return ws_client_status::failed;
    }
    return ws_client_status::ok;
  }

  template <class Start>
  ws_client_status run(Start&& start, clock::time_point deadline,
                       beast::error_code& ec) {
    return run(std::forward<Start>(start), deadline, ec, [] {});
  }
};

ws_client::ws_client() : impl_(std::make_unique<impl>()) {
  // nop
}

ws_client::~ws_client() {
  beast::error_code ignored;
  beast::get_lowest_layer(impl_->ws).close(ignored);
}

ws_client_status ws_client::connect(const ws_address& addr,
                                    const std::string& bearer_token,
                                    clock::time_point deadline) {
  auto& m = *impl_;
  beast::error_code ec;
  tcp::resolver resolver{m.ioc};
  tcp::resolver::results_type endpoints;
  auto st = m.run(
    [&](auto handler) {
      resolver.async_resolve(addr.host, addr.port,
                             [&endpoints,
                              handler](beast::error_code e,
                                       tcp::resolver::results_type r) mutable {
                               endpoints = std::move(r);
                               handler(e);
                             });
    },
    deadline, ec, [&resolver] { resolver.cancel(); });
  if (st != ws_client_status::ok) {
    error_ = "cannot resolve " + addr.host + ": "
             + (st == ws_client_status::timeout ? "timed out" : ec.message());
    return st;
  }
  st = m.run(
    [&](auto handler) {
      net::async_connect(beast::get_lowest_layer(m.ws), endpoints,
                         [handler](beast::error_code e,
                                   const tcp::endpoint&) mutable {
                           handler(e);
                         });
    },
    deadline, ec);
  if (st != ws_client_status::ok) {
    error_ = st == ws_client_status::timeout ? "connecting timed out"
                                             : ec.message();
    return st;
  }
  beast::error_code ignored;
  beast::get_lowest_layer(m.ws).set_option(tcp::no_delay(true), ignored);
  m.ws.set_option(websocket::stream_base::decorator(
    [bearer_token](websocket::request_type& req) {
      req.set(http::field::user_agent, "troupe-cli");
      if (!bearer_token.empty())
        req.set(http::field::authorization, "Bearer " + bearer_token);
    }));
  m.ws.read_message_max(max_message_bytes);
  websocket::response_type res;
  auto host = addr.host.find(':') != std::string::npos
                ? "[" + addr.host + "]:" + addr.port
                : addr.host + ":" + addr.port;
  st = m.run(
    [&](auto handler) {
      m.ws.async_handshake(res, host, addr.target, handler);
    },
    deadline, ec);
  if (st != ws_client_status::ok) {
    if (st == ws_client_status::timeout)
      error_ = "the WebSocket upgrade timed out";
    else if (res.result_int() != 0 && res.result() != http::status::unknown
             && res.result() != http::status::switching_protocols)
      error_ = "the server answered HTTP " + std::to_string(res.result_int())
               + " instead of upgrading to WebSocket"
               + (res.body().empty() ? std::string{}
                                     : ": " + res.body().substr(0, 300));
    else
      error_ = "WebSocket upgrade failed: " + ec.message();
    return st;
  }
  m.ws.text(true);
  m.usable = true;
  return ws_client_status::ok;
}

ws_client_status ws_client::send(const std::string& text,
                                 clock::time_point deadline) {
  auto& m = *impl_;
  if (!m.usable) {
    error_ = "not connected";
    return ws_client_status::failed;
  }
  beast::error_code ec;
  auto st
    = m.run([&](auto handler) { m.ws.async_write(net::buffer(text), handler); },
            deadline, ec);
  if (st != ws_client_status::ok)
    error_ = st == ws_client_status::timeout
               ? "sending timed out"
               : "sending failed: " + ec.message();
  return st;
}

ws_client_status ws_client::read(std::string& out, clock::time_point deadline) {
  auto& m = *impl_;
  if (!m.usable) {
    error_ = "not connected";
    return ws_client_status::failed;
  }
  beast::flat_buffer buf;
  beast::error_code ec;
  auto st = m.run([&](auto handler) { m.ws.async_read(buf, handler); },
                  deadline, ec);
  if (st == ws_client_status::timeout) {
    error_ = "no answer in time";
  } else if (st == ws_client_status::failed) {
    if (ec == websocket::error::closed) {
      auto& r = m.ws.reason();
      error_ = "the engine closed the connection (code "
               + std::to_string(static_cast<unsigned>(r.code))
               + (r.reason.empty()
                    ? std::string{}
                    : ": " + std::string{r.reason.data(), r.reason.size()})
               + ")";
    } else {
      error_ = "the connection was lost: " + ec.message();
    }
  } else {
    out = beast::buffers_to_string(buf.data());
  }
  return st;
}

void ws_client::close(clock::time_point deadline) {
  auto& m = *impl_;
  if (m.usable) {
    beast::error_code ec;
    m.run(
      [&](auto handler) {
        m.ws.async_close(websocket::close_code::normal, handler);
      },
      deadline, ec);
    m.usable = false;
  }
  beast::error_code ignored;
  beast::get_lowest_layer(m.ws).close(ignored);
}

} // namespace troupe::protocol
