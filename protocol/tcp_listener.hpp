// What the worker WebSocket server and the HTTP server share: bind and
// listen on host:port, accept each connection on a strand of its own, run
// the I/O threads, and stop them. Only the two servers' .cpp files include
// this header (it brings in Asio).
#pragma once

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <caf/expected.hpp>

#include "base/errc.hpp"
#include "base/log.hpp"

namespace troupe::protocol {

/// Says what was refused at most once per interval, counting the rest.
class refusal_log {
public:
  refusal_log(const char* name, const char* what) : name_(name), what_(what) {}

  void note(const std::string& line) {
    auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> guard{mtx_};
    if (logged_ && now - last_ < std::chrono::seconds(10)) {
      ++suppressed_;
      return;
    }
    if (suppressed_ > 0)
      log::warn(
        name_, line, " (and ", suppressed_, " more ", what_, " in the ",
        std::chrono::duration_cast<std::chrono::seconds>(now - last_).count(),
        " s before)");
    else
      log::warn(name_, line);
    logged_ = true;
    last_ = now;
    suppressed_ = 0;
  }

private:
  const char* name_;
  const char* what_;
  std::mutex mtx_;
  bool logged_ = false;
  std::chrono::steady_clock::time_point last_{};
  uint64_t suppressed_ = 0;
};

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
                              on_accepted(ec, std::move(sock));
                            });
  }

  void on_accepted(const boost::system::error_code& ec, socket sock) {
    namespace err = boost::asio::error;
    if (!ec) {
      backoff_ = std::chrono::milliseconds{0};
      on_accept_(std::move(sock));
      do_accept();
      return;
    }
    if (ec == err::operation_aborted || !acceptor_->is_open()) return;
    // Out of file descriptors (or buffers): the pending connection stays
    // in the backlog and a retry at once fails the same way, so wait,
    // longer each time, and say so once in a while rather than per try.
    auto exhausted = ec == err::no_descriptors || ec.value() == ENFILE
                     || ec == err::no_buffer_space || ec == err::no_memory;
    if (!exhausted) {
      log::warn(name_, "accept: ", ec.message());
      do_accept();
      return;
    }
    backoff_ = std::clamp(backoff_ * 2, std::chrono::milliseconds{10},
                          std::chrono::milliseconds{1000});
    auto now = std::chrono::steady_clock::now();
    ++suppressed_;
    if (now - last_warning_ >= std::chrono::seconds(10)) {
      log::warn(name_, "accept: ", ec.message(), " (", suppressed_,
                " times since the last warning); not accepting for ",
                backoff_.count(), " ms at a time until descriptors are free");
      last_warning_ = now;
      suppressed_ = 0;
    }
    retry_timer_.expires_after(backoff_);
    retry_timer_.async_wait([this](const boost::system::error_code& e) {
      if (!e && acceptor_ && acceptor_->is_open()) do_accept();
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
  // Accept errors for lack of descriptors: the wait before the next try,
  // and how often they were logged. Touched by one accept at a time.
  boost::asio::steady_timer retry_timer_{ioc_};
  std::chrono::milliseconds backoff_{0};
  std::chrono::steady_clock::time_point last_warning_{};
  uint64_t suppressed_ = 0;
};

} // namespace troupe::protocol
