#include "protocol/http_client.hpp"

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace troupe::protocol {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

http_client::~http_client() {
  // nop
}

namespace {

/// One request, from resolve to the last byte, on a strand of its own.
class exchange : public std::enable_shared_from_this<exchange> {
public:
  exchange(asio::io_context& ioc, const http_client_options& opts,
           outbound_request req, http_client::callback done)
      : strand_(asio::make_strand(ioc)), resolver_(strand_), socket_(strand_),
        timer_(strand_), opts_(opts), req_(std::move(req)),
        done_(std::move(done)) {
    // nop
  }

  void start() {
    asio::post(strand_, [self = shared_from_this()] { self->begin(); });
  }

private:
  void begin() {
    timer_.expires_after(req_.timeout);
    timer_.async_wait([self = shared_from_this()](error_code ec) {
      if (!ec) self->finish(outbound_failure::timeout, "timed out");
    });
    resolver_.async_resolve(req_.url.host, req_.url.port,
                            [self = shared_from_this()](
                              error_code ec, tcp::resolver::results_type r) {
                              self->on_resolve(ec, std::move(r));
                            });
  }

  void on_resolve(error_code ec, tcp::resolver::results_type results) {
    if (finished_) return;
    if (ec)
      return finish(outbound_failure::dns, req_.url.host + ": " + ec.message());
    if (opts_.block_private_ips)
      for (const auto& e : results) {
        auto ip = e.endpoint().address().to_string();
        if (is_private_address(ip))
          return finish(outbound_failure::blocked,
                        req_.url.host + " resolves to " + ip);
      }
    asio::async_connect(socket_, results,
                        [self = shared_from_this()](error_code ec,
                                                    const tcp::endpoint&) {
                          self->on_connect(ec);
                        });
  }

  std::string host_field() const {
    const auto& u = req_.url;
    auto host = u.host.find(':') != std::string::npos ? "[" + u.host + "]"
                                                      : u.host;
    auto default_port = u.scheme == "https" ? "443" : "80";
    return u.port == default_port ? host : host + ":" + u.port;
  }

  void on_connect(error_code ec) {
    if (finished_) return;
    if (ec)
      return finish(outbound_failure::connect,
                    "connect to " + host_field() + ": " + ec.message());
    try {
      request_.method_string(req_.method);
      request_.target(req_.url.target);
      request_.version(11);
      request_.set(bhttp::field::host, host_field());
      request_.set(bhttp::field::user_agent, "troupe");
      request_.set(bhttp::field::connection, "close");
      for (auto& [name, value] : req_.headers) request_.set(name, value);
      request_.body() = std::move(req_.body);
      request_.prepare_payload();
    } catch (const std::exception& e) {
      return finish(outbound_failure::bad_response,
                    std::string{"cannot build the request: "} + e.what());
    }
    bhttp::async_write(socket_, request_,
                       [self = shared_from_this()](error_code ec, size_t) {
                         self->on_write(ec);
                       });
  }

  void on_write(error_code ec) {
    if (finished_) return;
    if (ec)
      return finish(outbound_failure::connect, "sending the request to "
                                                 + host_field() + ": "
                                                 + ec.message());
    parser_.body_limit(opts_.max_response_bytes);

    bhttp::async_read(socket_, buffer_, parser_,
                      [self = shared_from_this()](error_code ec, size_t) {
                        self->on_read(ec);
                      });
  }

  void on_read(error_code ec) {
    if (finished_) return;
    if (ec == bhttp::error::body_limit)
      return finish(outbound_failure::too_large, "body limit");
    if (ec
        && ec.category()
             == bhttp::make_error_code(bhttp::error::bad_version).category())
      return finish(outbound_failure::bad_response, ec.message());
    if (ec)
      return finish(outbound_failure::connect, "reading the response from "
                                                 + host_field() + ": "
                                                 + ec.message());
    auto& msg = parser_.get();
    // Beast's own limit does not catch every case (a whole message in the
    // first read), so check again.
    if (msg.body().size() > opts_.max_response_bytes)
      return finish(outbound_failure::too_large, "body limit");
    outbound_response res;
    res.status = msg.result_int();
    res.reason = std::string{msg.reason()};
    res.body = std::move(msg.body());
    finish(std::move(res));
  }

  void finish(outbound_failure why, std::string detail) {
    outbound_response res;
    res.failure = why;
    res.detail = std::move(detail);
    finish(std::move(res));
  }

  void finish(outbound_response res) {
    if (finished_) return;
    finished_ = true;
    error_code ignored;
    timer_.cancel();
    resolver_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    auto done = std::move(done_);
    done(std::move(res));
  }

  asio::strand<asio::io_context::executor_type> strand_;
  tcp::resolver resolver_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  http_client_options opts_;
  outbound_request req_;
  http_client::callback done_;
  bhttp::request<bhttp::string_body> request_;
  beast::flat_buffer buffer_;
  bhttp::response_parser<bhttp::string_body> parser_;
  bool finished_ = false;
};

class beast_http_client : public http_client {
public:
  explicit beast_http_client(http_client_options opts)
      : opts_(std::move(opts)), work_(asio::make_work_guard(ioc_)) {
    for (int i = 0; i < std::max(1, opts_.threads); ++i)
      threads_.emplace_back([this] { run(); });
  }

  ~beast_http_client() override {
    work_.reset();
    ioc_.stop();
    for (auto& t : threads_) t.join();
  }

  void send(outbound_request req, callback done) override {
    std::make_shared<exchange>(ioc_, opts_, std::move(req), std::move(done))
      ->start();
  }

private:
  void run() {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (...) {
        // A handler threw (out of memory); the loop goes on.
      }
    }
  }

  http_client_options opts_;
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

} // namespace

std::shared_ptr<http_client> make_http_client(http_client_options opts) {
  return std::make_shared<beast_http_client>(std::move(opts));
}

} // namespace troupe::protocol
