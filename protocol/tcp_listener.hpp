// What the worker WebSocket server and the HTTP server share: bind and
// listen on host:port, accept each connection on a strand of its own, run
// the I/O threads, and stop them. Only the two servers' .cpp files include
// this header (it brings in Asio).
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <caf/expected.hpp>

#include "base/errc.hpp"
#include "base/log.hpp"

namespace troupe::protocol {

class tcp_listener {
public:
  using socket = boost::asio::ip::tcp::socket;

  /// `name` labels the log lines ("ws", "http").
  tcp_listener(const char* name, std::string host, uint16_t port, int threads)
      : name_(name), host_(std::move(host)), port_(port),
        thread_count_(std::max(1, threads)) {}

  ~tcp_listener() { stop_io(); }

  tcp_listener(const tcp_listener&) = delete;
  tcp_listener& operator=(const tcp_listener&) = delete;

  /// Binds, listens and starts the I/O threads. Every accepted socket (on a
  /// strand of its own) goes to `on_accept`, called on an I/O thread.
  /// Returns the bound port (useful with port 0).
  caf::expected<uint16_t> start(std::function<void(socket)> on_accept) {
    namespace net = boost::asio;
    auto fail = [&](const char* what, const boost::system::error_code& ec) {
      return caf::make_error(errc::bad_config, "cannot listen on " + host_ + ":"
                                                 + std::to_string(port_) + ": "
                                                 + what + ": " + ec.message());
    };
    boost::system::error_code ec;
    auto addr = net::ip::make_address(host_, ec);
    if (ec) return fail("bad address", ec);
    net::ip::tcp::endpoint ep{addr, port_};
    acceptor_.emplace(ioc_);
    if (acceptor_->open(ep.protocol(), ec); ec) return fail("open", ec);
    acceptor_->set_option(net::socket_base::reuse_address(true), ec);
    if (acceptor_->bind(ep, ec); ec) return fail("bind", ec);
    if (acceptor_->listen(net::socket_base::max_listen_connections, ec); ec)
      return fail("listen", ec);
    on_accept_ = std::move(on_accept);
    do_accept();
    for (int i = 0; i < thread_count_; ++i)
      threads_.emplace_back([this] { ioc_.run(); });
    return acceptor_->local_endpoint().port();
  }

  /// True from a successful start() until stop_io().
  bool running() const { return !threads_.empty(); }

  /// Stops accepting; open connections are not touched.
  void close_acceptor() {
    boost::asio::post(ioc_, [this] {
      boost::system::error_code ignored;
      if (acceptor_) acceptor_->close(ignored);
    });
  }

  /// Stops the I/O loop and joins its threads. Idempotent.
  void stop_io() {
    ioc_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
  }

private:
  void do_accept() {
    acceptor_->async_accept(boost::asio::make_strand(ioc_),
                            [this](boost::system::error_code ec, socket sock) {
                              if (ec) {
                                if (ec != boost::asio::error::operation_aborted)
                                  log::warn(name_, "accept: ", ec.message());
                                if (!acceptor_->is_open()) return;
                              } else {
                                on_accept_(std::move(sock));
                              }
                              do_accept();
                            });
  }

  const char* name_;
  std::string host_;
  uint16_t port_;
  int thread_count_;
  boost::asio::io_context ioc_;
  std::optional<boost::asio::ip::tcp::acceptor> acceptor_;
  std::function<void(socket)> on_accept_;
  std::vector<std::thread> threads_;
};

} // namespace troupe::protocol
