#include "protocol/ws_server.hpp"

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "base/errc.hpp"
#include "base/log.hpp"
#include "protocol/tcp_listener.hpp"

namespace troupe::protocol {

ws_peer::~ws_peer() = default;
ws_handler::~ws_handler() = default;

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr auto log_name = "ws";
constexpr size_t read_chunk = 64 * 1024;
constexpr auto upgrade_timeout = std::chrono::seconds(10);

std::atomic<uint64_t> next_connection_id{1};

class connection;

/// The set of live connections, so stop() can close them.
struct connection_set {
  std::mutex mtx;
  std::unordered_map<uint64_t, std::weak_ptr<connection>> live;
};

/// One accepted TCP connection: reads the HTTP upgrade, then runs the
/// WebSocket read loop and the write queue. Every member is touched only on
/// the connection's strand, except those guarded by `out_mtx_`.
class connection : public ws_peer,
                   public std::enable_shared_from_this<connection> {
public:
  connection(tcp::socket&& sock, const ws_server_options& opts,
             const ws_accept_fn& accept, std::shared_ptr<connection_set> set)
    : ws_(std::move(sock)),
      opts_(opts),
      accept_(accept),
      set_(std::move(set)),
      id_(next_connection_id++) {
    beast::error_code ec;
    // Frames are small and latency-bound: without this, Nagle's algorithm
    // holds a frame back until the worker ACKs the previous one (~40 ms).
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true), ec);
    auto ep = beast::get_lowest_layer(ws_).socket().remote_endpoint(ec);
    remote_ = ec ? std::string{"?"}
                 : ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  ~connection() override {
    // The I/O loop stopped with this connection still open.
    if (handler_) handler_->on_close("engine stopped");
  }

  void run() {
    {
      std::lock_guard<std::mutex> guard{set_->mtx};
      set_->live.emplace(id_, weak_from_this());
    }
    net::dispatch(ws_.get_executor(),
                  [self = shared_from_this()] { self->read_upgrade(); });
  }

  // -- ws_peer ---------------------------------------------------------------

  void send(std::string text) override {
    bool schedule = false;
    {
      std::lock_guard<std::mutex> guard{out_mtx_};
      if (out_closed_) return;
      out_bytes_ += text.size();
      if (out_bytes_ > opts_.max_send_backlog) {
        out_closed_ = true;
        net::post(ws_.get_executor(), [self = shared_from_this()] {
          self->start_close(websocket::close_code::policy_error,
                            "send backlog exceeded: the worker is not "
                            "reading its frames");
        });
        return;
      }
      outbox_.push_back(std::move(text));
      if (!flush_scheduled_) {
        flush_scheduled_ = true;
        schedule = true;
      }
    }
    if (schedule)
      net::post(ws_.get_executor(),
                [self = shared_from_this()] { self->flush(); });
  }

  void close(uint16_t code, std::string reason) override {
    net::post(ws_.get_executor(),
              [self = shared_from_this(), code, r = std::move(reason)] {
                self->start_close(code, r);
              });
  }

  const std::string& remote() const override { return remote_; }

  uint64_t id() const override { return id_; }

private:
  // -- HTTP upgrade ------------------------------------------------------------

  void read_upgrade() {
    parser_.emplace();
    parser_->body_limit(64 * 1024);
    beast::get_lowest_layer(ws_).expires_after(upgrade_timeout);
    http::async_read(beast::get_lowest_layer(ws_), buf_, *parser_,
                     [self = shared_from_this()](beast::error_code ec,
                                                 size_t) {
                       self->on_upgrade_request(ec);
                     });
  }

  void on_upgrade_request(beast::error_code ec) {
    if (ec) {
      finish("bad HTTP request: " + ec.message());
      return;
    }
    auto req = parser_->release();
    std::string target{req.target()};
    auto path = target.substr(0, target.find('?'));
    if (!websocket::is_upgrade(req)) {
      reply_http(req, path == "/health" ? http::status::ok
                                        : http::status::upgrade_required);
      return;
    }
    if (path == "/") {
      telemetry_ = false;
    } else if (path == "/otel") {
      telemetry_ = true;
    } else {
      reply_http(req, http::status::not_found);
      return;
    }
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(
      websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws_.set_option(websocket::stream_base::decorator(
      [](websocket::response_type& res) {
        res.set(http::field::server, "troupe");
      }));
    ws_.read_message_max(0); // we enforce max_frame_bytes ourselves
    ws_.async_accept(req, [self = shared_from_this()](beast::error_code ec) {
      self->on_accept(ec);
    });
  }

  void reply_http(const http::request<http::string_body>& req,
                  http::status status) {
    auto res = std::make_shared<http::response<http::string_body>>(
      status, req.version());
    res->set(http::field::server, "troupe");
    res->set(http::field::content_type, "application/json");
    if (status == http::status::ok)
      res->body() = R"({"status":"ok"})";
    else if (status == http::status::not_found)
      res->body() = R"({"error":{"code":"NOT_FOUND","message":"Not Found"}})";
    else
      res->body() = R"({"error":{"code":"UPGRADE_REQUIRED","message":)"
                    R"("this port speaks the iii worker protocol over )"
                    R"(WebSocket"}})";
    res->keep_alive(false);
    res->prepare_payload();
    http::async_write(beast::get_lowest_layer(ws_), *res,
                      [self = shared_from_this(), res](beast::error_code,
                                                       size_t) {
                        beast::error_code ignored;
                        beast::get_lowest_layer(self->ws_).socket().shutdown(
                          tcp::socket::shutdown_send, ignored);
                        self->finish("plain HTTP request answered");
                      });
  }

  void on_accept(beast::error_code ec) {
    if (ec) {
      finish("WebSocket handshake failed: " + ec.message());
      return;
    }
    buf_.consume(buf_.size());
    if (!telemetry_) {
      handler_ = accept_(shared_from_this());
      if (!handler_) {
        start_close(websocket::close_code::try_again_later,
                    "engine is not accepting workers");
        return;
      }
    }
    read_message();
  }

  // -- reading -----------------------------------------------------------------

  void read_message() {
    ws_.async_read_some(msg_, read_chunk,
                        [self = shared_from_this()](beast::error_code ec,
                                                    size_t) {
                          self->on_read(ec);
                        });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      if (ec == websocket::error::closed) {
        auto& r = ws_.reason();
        finish("closed by worker (" + std::to_string(r.code)
               + (r.reason.empty() ? "" : " " + std::string{r.reason.c_str()})
               + ")");
      } else {
        finish(ec.message());
      }
      return;
    }
    if (msg_.size() > opts_.max_frame_bytes) {
      auto what = "message of more than " + std::to_string(msg_.size())
                  + " bytes exceeds the limit of "
                  + std::to_string(opts_.max_frame_bytes) + " bytes";
      log::warn(log_name, "connection ", id_, " from ", remote_, ": ", what);
      msg_.consume(msg_.size());
      start_close(websocket::close_code::too_big, what);
      return;
    }
    if (ws_.is_message_done()) {
      if (handler_) {
        handler_->on_frame(beast::buffers_to_string(msg_.data()));
      }
      msg_.consume(msg_.size());
    }
    if (!closing_) read_message();
  }

  // -- writing -----------------------------------------------------------------

  void flush() {
    {
      std::lock_guard<std::mutex> guard{out_mtx_};
      flush_scheduled_ = false;
      for (auto& x : outbox_) writing_.push_back(std::move(x));
      outbox_.clear();
    }
    if (!write_pending_) write_next();
  }

  void write_next() {
    if (closing_ || writing_.empty()) {
      write_pending_ = false;
      return;
    }
    write_pending_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(writing_.front()),
                    [self = shared_from_this()](beast::error_code ec,
                                                size_t n) {
                      self->on_write(ec, n);
                    });
  }

  void on_write(beast::error_code ec, size_t n) {
    {
      std::lock_guard<std::mutex> guard{out_mtx_};
      out_bytes_ -= std::min(out_bytes_, n);
    }
    writing_.pop_front();
    if (ec) {
      write_pending_ = false;
      return; // the read loop sees the error too and finishes
    }
    if (writing_.empty()) {
      std::lock_guard<std::mutex> guard{out_mtx_};
      for (auto& x : outbox_) writing_.push_back(std::move(x));
      outbox_.clear();
    }
    write_next();
  }

  // -- closing -----------------------------------------------------------------

  void start_close(uint16_t code, const std::string& reason) {
    if (closing_ || finished_) return;
    closing_ = true;
    {
      std::lock_guard<std::mutex> guard{out_mtx_};
      out_closed_ = true;
    }
    close_reason_ = reason;
    // Reasons are at most 123 bytes on the wire.
    websocket::close_reason cr{static_cast<websocket::close_code>(code),
                               reason.substr(0, 123)};
    auto do_close = [self = shared_from_this(), cr] {
      self->ws_.async_close(cr, [self](beast::error_code) {
        self->finish("closed by engine: " + self->close_reason_);
      });
    };
    if (ws_.is_open())
      do_close();
    else
      finish("closed by engine: " + reason);
  }

  void finish(const std::string& why) {
    if (finished_) return;
    finished_ = true;
    {
      std::lock_guard<std::mutex> guard{out_mtx_};
      out_closed_ = true;
      outbox_.clear();
    }
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
    if (handler_) {
      handler_->on_close(why);
      handler_.reset();
    }
    std::lock_guard<std::mutex> guard{set_->mtx};
    set_->live.erase(id_);
  }

  websocket::stream<beast::tcp_stream> ws_;
  const ws_server_options& opts_;
  const ws_accept_fn& accept_;
  std::shared_ptr<connection_set> set_;
  uint64_t id_;
  std::string remote_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
  beast::flat_buffer msg_;
  std::unique_ptr<ws_handler> handler_;
  bool telemetry_ = false;
  bool closing_ = false;
  bool finished_ = false;
  std::string close_reason_;
  // Write side: `writing_` on the strand, `outbox_` under the mutex.
  std::deque<std::string> writing_;
  bool write_pending_ = false;
  std::mutex out_mtx_;
  std::vector<std::string> outbox_;
  size_t out_bytes_ = 0;
  bool flush_scheduled_ = false;
  bool out_closed_ = false;
};

} // namespace

struct ws_server::impl {
  ws_server_options opts;
  ws_accept_fn accept;
  std::shared_ptr<connection_set> connections
    = std::make_shared<connection_set>();
  std::atomic<bool> stopped{false};
  // Last: its I/O context (holding the connections, which refer to the
  // members above) goes first.
  tcp_listener listener;

  impl(ws_server_options o, ws_accept_fn a)
    : opts(std::move(o)), accept(std::move(a)),
      listener(log_name, opts.host, opts.port, opts.threads) {}
};

ws_server::ws_server(ws_server_options opts, ws_accept_fn accept)
  : impl_(std::make_unique<impl>(std::move(opts), std::move(accept))) {}

ws_server::~ws_server() { stop(); }

caf::expected<uint16_t> ws_server::start() {
  auto& d = *impl_;
  return d.listener.start([&d](tcp::socket sock) {
    std::make_shared<connection>(std::move(sock), d.opts, d.accept,
                                 d.connections)
      ->run();
  });
}

void ws_server::stop() {
  auto& d = *impl_;
  if (d.stopped.exchange(true) || !d.listener.running()) return;
  d.listener.close_acceptor();
  std::vector<std::shared_ptr<connection>> open;
  {
    std::lock_guard<std::mutex> guard{d.connections->mtx};
    for (auto& kvp : d.connections->live)
      if (auto c = kvp.second.lock()) open.push_back(std::move(c));
  }
  for (auto& c : open)
    c->close(websocket::close_code::going_away, "engine shutting down");
  open.clear();
  // Give close handshakes a moment, then stop the loop regardless.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> guard{d.connections->mtx};
      if (d.connections->live.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  d.listener.stop_io();
}

} // namespace troupe::protocol
