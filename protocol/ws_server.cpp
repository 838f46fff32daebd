#include "protocol/ws_server.hpp"

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "base/errc.hpp"
#include "base/log.hpp"
#include "protocol/tcp_listener.hpp"
#include "protocol/ws_codec.hpp"

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

/// What all connections together may hold for messages that have not
/// arrived in full (read buffers and reassembled fragments). A connection
/// that needs more while the engine is over it is closed with 1013.
constexpr size_t total_unfinished_budget = size_t{1} << 30;

/// Bytes all connections hold for unfinished messages.
std::atomic<size_t> unfinished_bytes{0};
constexpr auto upgrade_timeout = std::chrono::seconds(10);
/// How long a close we started waits for the worker's close frame.
constexpr auto close_timeout = std::chrono::seconds(5);

std::atomic<uint64_t> next_connection_id{1};

class connection;

/// The set of live connections, so stop() can close them, and what they
/// share.
struct connection_set {
  std::mutex mtx;
  std::unordered_map<uint64_t, std::weak_ptr<connection>> live;
  /// WebSocket connections that hold a place under max_connections:
  /// upgraded, or upgrading (being admitted).
  std::atomic<size_t> slots{0};
  refusal_log over_cap{log_name, "refusals over max_connections"};
  refusal_log refused{log_name, "refused upgrades"};
};

/// One accepted TCP connection: Beast reads the HTTP upgrade and answers
/// it; after that the connection frames its own bytes (ws_codec.hpp), so
/// that one read hands every whole message it holds to the engine at once
/// and one write sends every frame queued since the last. Every member is
/// touched only on the connection's strand, except those guarded by
/// `out_mtx_`.
class connection : public ws_peer,
                   public std::enable_shared_from_this<connection> {
public:
  connection(tcp::socket&& sock, const ws_server_options& opts,
             const ws_accept_fn& accept, const ws_admit_fn& admit,
             std::shared_ptr<connection_set> set)
      : ws_(std::move(sock)), opts_(opts), accept_(accept), admit_(admit),
        set_(std::move(set)), id_(next_connection_id++),
        decoder_(opts.max_frame_bytes), close_timer_(ws_.get_executor()),
        watch_timer_(ws_.get_executor()) {
    beast::error_code ec;
    // Frames are small and latency-bound: without this, Nagle's algorithm
    // holds a frame back until the worker ACKs the previous one (~40 ms).
    socket().set_option(tcp::no_delay(true), ec);
    // A worker host that vanishes without closing is found by TCP.
    socket().set_option(net::socket_base::keep_alive(true), ec);
    fd_ = socket().native_handle();
    auto ep = socket().remote_endpoint(ec);
    ip_ = ec ? std::string{"?"} : ep.address().to_string();
    remote_ = ec ? ip_ : ip_ + ":" + std::to_string(ep.port());
  }

  ~connection() override {
    unfinished_bytes -= held_;
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

  void queue(std::string text) override {
    std::lock_guard<std::mutex> guard{out_mtx_};
    append_locked(text);
  }

  void flush() override {
    {
      std::lock_guard<std::mutex> guard{out_mtx_};
      if (!fd_open_ || in_flight_ > 0 || flush_scheduled_ || outbox_.empty())
        return; // nothing to write, or the I/O thread writes it
      // Under the lock, so that finish() cannot close the socket meanwhile.
      auto n = ::send(fd_, outbox_.data(), outbox_.size(),
                      MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n == static_cast<ssize_t>(outbox_.size())) {
        outbox_.clear();
        return;
      }
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
        return; // broken: the I/O thread's write or read reports it
      if (n > 0) outbox_.erase(0, static_cast<size_t>(n));
      flush_scheduled_ = true; // the socket is full: wait on the I/O thread
    }
    net::post(ws_.get_executor(),
              [self = shared_from_this()] { self->flush_on_strand(); });
  }

  /// Ends the connection from outside the I/O loop: the socket closes and
  /// the handler is told. REQUIRES: the loop has stopped.
  void abandon(const std::string& why) { finish(why); }

  void close(uint16_t code, std::string reason) override {
    net::post(ws_.get_executor(),
              [self = shared_from_this(), code, r = std::move(reason)] {
                self->start_close(code, r);
              });
  }

  const std::string& remote() const override { return remote_; }

  uint64_t id() const override { return id_; }

private:
  tcp::socket& socket() { return beast::get_lowest_layer(ws_).socket(); }

  /// Appends a text frame to the outbox; false once closing. A worker that
  /// lets too much pile up is closed.
  bool append_locked(const std::string& text) {
    if (out_closed_) return false;
    if (outbox_.size() + in_flight_ + text.size() > opts_.max_send_backlog) {
      out_closed_ = true;
      net::post(ws_.get_executor(), [self = shared_from_this()] {
        self->start_close(ws::close_code::policy_error,
                          "send backlog exceeded: the worker is not "
                          "reading its frames");
      });
      return false;
    }
    ws::append_frame(outbox_, ws::opcode::text, text);
    return true;
  }

  /// Queues a close frame behind what is queued; nothing else follows it.
  void queue_close(uint16_t code, const std::string& reason) {
    std::lock_guard<std::mutex> guard{out_mtx_};
    out_closed_ = true;
    ws::append_close(outbox_, code, reason);
  }

  // -- HTTP upgrade ------------------------------------------------------------

  void read_upgrade() {
    parser_.emplace();
    parser_->body_limit(64 * 1024);
    beast::get_lowest_layer(ws_).expires_after(upgrade_timeout);
    http::async_read(beast::get_lowest_layer(ws_), buf_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->on_upgrade_request(ec);
                     });
  }

  void on_upgrade_request(beast::error_code ec) {
    if (ec) {
      finish("bad HTTP request: " + ec.message());
      return;
    }
    auto req = parser_->release();
    parser_.reset();
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
    if (!take_slot()) {
      auto why = "the engine serves its maximum of "
                 + std::to_string(opts_.max_connections)
                 + " connections (max_connections); try again later";
      set_->over_cap.note("connection " + std::to_string(id_) + " from "
                          + remote_ + " refused (503): " + why);
      refuse(req, http::status::service_unavailable, why);
      return;
    }
    if (!admit_) {
      upgrade(req);
      return;
    }
    upgrade_request info;
    info.path = path;
    if (auto q = target.find('?'); q != std::string::npos)
      info.query = target.substr(q + 1);
    for (const auto& f : req) {
      std::string name{f.name_string()};
      for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      info.headers.emplace_back(std::move(name), std::string{f.value()});
    }
    info.ip_address = ip_;
    pending_req_ = std::move(req);
    admitting_ = true;
    // The decision may take longer than the upgrade's read timeout.
    beast::get_lowest_layer(ws_).expires_never();
    close_timer_.expires_after(opts_.admit_timeout);
    close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec)
        self->on_admission({503,
                            "the engine's authentication did not answer "
                            "in time; try again later",
                            nullptr});
    });
    auto decide = [self = shared_from_this()](ws_admission a) {
      net::post(self->ws_.get_executor(), [self, a = std::move(a)]() mutable {
        self->on_admission(std::move(a));
      });
    };
    try {
      admit_(info, std::move(decide));
    } catch (const std::exception& e) {
      log::error(log_name, "connection ", id_,
                 ": admission failed: ", e.what());
      on_admission({503, "the engine could not check this connection", {}});
    }
  }

  /// A place under max_connections; false when all are taken.
  bool take_slot() {
    auto n = set_->slots.load();
    do {
      if (n >= opts_.max_connections) return false;
    } while (!set_->slots.compare_exchange_weak(n, n + 1));
    slot_ = true;
    return true;
  }

  void on_admission(ws_admission a) {
    if (!admitting_ || finished_) return;
    admitting_ = false;
    if (closing_) { // the server is stopping: no upgrade now
      finish("engine stopped before the connection was admitted");
      return;
    }
    close_timer_.cancel();
    auto req = std::move(*pending_req_);
    pending_req_.reset();
    if (a.status != 0) {
      set_->refused.note("connection " + std::to_string(id_) + " from "
                         + remote_ + " refused (" + std::to_string(a.status)
                         + "): " + a.reason);
      refuse(req, static_cast<http::status>(a.status), a.reason);
      return;
    }
    grant_ = std::move(a.grant);
    beast::get_lowest_layer(ws_).expires_after(upgrade_timeout);
    upgrade(req);
  }

  void upgrade(const http::request<http::string_body>& req) {
    ws_.set_option(
      websocket::stream_base::decorator([](websocket::response_type& res) {
        res.set(http::field::server, "troupe");
      }));
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
    write_and_finish(std::move(res), "plain HTTP request answered");
  }

  /// Answers an upgrade with `status` and `reason` instead of 101.
  void refuse(const http::request<http::string_body>& req, http::status status,
              const std::string& reason) {
    auto res = std::make_shared<http::response<http::string_body>>(
      status, req.version());
    res->set(http::field::server, "troupe");
    res->set(http::field::content_type, "application/json");
    const char* code = "REFUSED";
    switch (status) {
      case http::status::unauthorized:
        code = "UNAUTHORIZED";
        res->set(http::field::www_authenticate, "Bearer");
        break;
      case http::status::forbidden: code = "FORBIDDEN"; break;
      case http::status::service_unavailable:
        code = "SERVICE_UNAVAILABLE";
        res->set(http::field::retry_after, "5");
        break;
      default: break;
    }
    std::string msg;
    for (auto c : reason) {
      // The reason is ours or an auth function's: kept printable ASCII.
      if (c == '"' || c == '\\')
        msg += '\\', msg += c;
      else if (static_cast<unsigned char>(c) >= 0x20
               && static_cast<unsigned char>(c) < 0x7f)
        msg += c;
    }
    res->body() = std::string{R"({"error":{"code":")"} + code
                  + R"(","message":")" + msg + R"("}})";
    write_and_finish(std::move(res), "upgrade refused: " + reason);
  }

  void write_and_finish(std::shared_ptr<http::response<http::string_body>> res,
                        std::string why) {
    res->keep_alive(false);
    res->prepare_payload();
    http::async_write(beast::get_lowest_layer(ws_), *res,
                      [self = shared_from_this(), res,
                       why = std::move(why)](beast::error_code, size_t) {
                        beast::error_code ignored;
                        self->socket().shutdown(tcp::socket::shutdown_send,
                                                ignored);
                        self->finish(why);
                      });
  }

  void on_accept(beast::error_code ec) {
    beast::get_lowest_layer(ws_).expires_never();
    if (ec) {
      finish("WebSocket handshake failed: " + ec.message());
      return;
    }
    // Bytes the client sent right after its upgrade request are frames.
    in_.resize(std::max(read_chunk, buf_.size()));
    in_used_ = net::buffer_copy(net::buffer(in_), buf_.data());
    buf_ = beast::flat_buffer{};
    if (!telemetry_) {
      handler_ = accept_(shared_from_this(), std::move(grant_));
      if (!handler_) {
        start_close(ws::close_code::try_again_later,
                    "engine is not accepting workers");
        return;
      }
    }
    last_input_ = std::chrono::steady_clock::now();
    arm_watch();
    if (in_used_ > 0)
      on_read({}, 0);
    else
      read_more();
  }

  // -- idle and unfinished messages ---------------------------------------------

  void arm_watch() {
    auto tick = std::clamp(
      std::min(opts_.idle_timeout, opts_.message_timeout) / 4,
      std::chrono::milliseconds{50}, std::chrono::milliseconds{5000});
    watch_timer_.expires_after(tick);
    watch_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->on_watch();
    });
  }

  void on_watch() {
    if (finished_ || closing_) return; // closing has its own bounded wait
    using std::chrono::duration_cast;
    using std::chrono::milliseconds;
    auto now = std::chrono::steady_clock::now();
    std::string why;
    if (!telemetry_ && now - last_input_ >= opts_.idle_timeout)
      why = "no data (not even a ping) for "
            + std::to_string(opts_.idle_timeout.count()) + " ms";
    else if (partial_ && now - message_since_ >= opts_.message_timeout)
      why = "a message was not completed within "
            + std::to_string(opts_.message_timeout.count()) + " ms";
    if (why.empty()) {
      arm_watch();
      return;
    }
    log::warn(log_name, "connection ", id_, " from ", remote_, ": ", why);
    discard_input_ = true;
    shutdown_after_write_ = true;
    in_used_ = 0;
    decoder_.reset();
    start_close(ws::close_code::policy_error, why);
  }

  // -- reading -----------------------------------------------------------------

  void read_more() {
    // Room for another chunk, or for more of a large frame whose size is
    // known, but never much more than has arrived: a frame header alone
    // must not make the engine reserve what it announces.
    auto need = in_used_ + read_chunk;
    if (auto hint = decoder_.frame_size_hint(); hint > need)
      need = std::min(hint, std::max(need, 2 * in_used_));
    if (in_.size() < need) in_.resize(need);
    if (!account()) return;
    socket().async_read_some(
      net::buffer(in_.data() + in_used_, in_.size() - in_used_),
      [self = shared_from_this()](beast::error_code ec, size_t n) {
        self->on_read(ec, n);
      });
  }

  void on_read(beast::error_code ec, size_t n) {
    if (finished_) return;
    if (ec) {
      if (closing_)
        finish("closed by engine: " + close_reason_);
      else
        finish(ec == net::error::eof
                 ? std::string{"connection closed by worker without a close "
                               "frame"}
                 : ec.message());
      return;
    }
    if (discard_input_) { // after a violation nothing can be decoded
      in_used_ = 0;
      read_more();
      return;
    }
    in_used_ += n;
    auto now = std::chrono::steady_clock::now();
    if (n > 0) last_input_ = now;
    events_.clear();
    ws::decode_error err;
    auto used = decoder_.decode(in_.data(), in_used_, events_, err);
    std::memmove(in_.data(), in_.data() + used, in_used_ - used);
    in_used_ -= used;
    // A message under way: a frame not complete, or fragments to come.
    auto partial = in_used_ > 0 || decoder_.in_message();
    if (partial && !partial_) message_since_ = now;
    partial_ = partial;
    if (in_used_ == 0 && in_.size() > 4 * read_chunk) {
      in_.resize(read_chunk);
      in_.shrink_to_fit();
    }
    std::vector<std::string> messages;
    const ws::event* close_frame = nullptr;
    for (auto& ev : events_) {
      switch (ev.kind) {
        case ws::event::message:
          if (!closing_) messages.push_back(std::move(ev.payload));
          break;
        case ws::event::ping:
          if (!closing_) queue_control(ws::opcode::pong, ev.payload);
          break;
        case ws::event::pong: break;
        case ws::event::close: close_frame = &ev; break;
      }
    }
    if (!messages.empty() && handler_) handler_->on_frames(std::move(messages));
    if (close_frame) {
      on_close_frame(*close_frame);
    } else if (err.code != 0) {
      log::warn(log_name, "connection ", id_, " from ", remote_, ": ",
                err.reason);
      // Fail the connection (RFC 6455 §7.1.7): our close frame, then our
      // end of the TCP connection; what the worker still sends is drained
      // unread until it hangs up too, so that it gets the close frame
      // rather than a reset.
      discard_input_ = true;
      shutdown_after_write_ = true;
      in_used_ = 0;
      start_close(err.code, err.reason);
    }
    if (!finished_) read_more();
  }

  /// Updates what this connection holds for unfinished messages in the
  /// total; false (and the connection is closing) when it holds more than
  /// a few chunks while the total is over its budget.
  bool account() {
    auto now = in_.capacity() + decoder_.buffered();
    if (now >= held_)
      unfinished_bytes += now - held_;
    else
      unfinished_bytes -= held_ - now;
    held_ = now;
    if (unfinished_bytes <= total_unfinished_budget || now <= 4 * read_chunk
        || discard_input_)
      return true;
    log::warn(log_name, "connection ", id_, " from ", remote_,
              ": closed, all connections together hold ",
              unfinished_bytes.load() >> 20,
              " MiB of unfinished messages (budget ",
              total_unfinished_budget >> 20, " MiB)");
    discard_input_ = true;
    shutdown_after_write_ = true;
    in_used_ = 0;
    in_.clear();
    in_.shrink_to_fit();
    decoder_.reset();
    account();
    start_close(ws::close_code::try_again_later,
                "the engine holds too many unfinished messages; try again "
                "later");
    read_more();
    return false;
  }

  void on_close_frame(const ws::event& ev) {
    if (closing_) {
      // The answer to our own close frame.
      finish("closed by engine: " + close_reason_);
      return;
    }
    closing_ = true;
    close_reason_ = "closed by worker (" + std::to_string(ev.code)
                    + (ev.payload.empty() ? "" : " " + ev.payload) + ")";
    queue_close(ev.code, {});
    finish_after_write_ = true;
    flush_on_strand();
  }

  // -- writing -----------------------------------------------------------------

  void queue_control(ws::opcode op, const std::string& payload) {
    {
      std::lock_guard<std::mutex> guard{out_mtx_};
      if (out_closed_) return;
      ws::append_frame(outbox_, op, payload);
    }
    flush_on_strand();
  }

  void flush_on_strand() {
    if (finished_) return;
    {
      std::lock_guard<std::mutex> guard{out_mtx_};
      flush_scheduled_ = false;
      if (in_flight_ > 0) return; // on_write comes back here
      writing_.swap(outbox_);
      in_flight_ = writing_.size();
    }
    if (writing_.empty()) {
      if (finish_after_write_ || shutdown_after_write_) {
        beast::error_code ignored;
        socket().shutdown(tcp::socket::shutdown_send, ignored);
        shutdown_after_write_ = false;
      }
      if (finish_after_write_) finish(close_reason_);
      return;
    }
    net::async_write(socket(), net::buffer(writing_),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->on_write(ec);
                     });
  }

  void on_write(beast::error_code ec) {
    {
      std::lock_guard<std::mutex> guard{out_mtx_};
      in_flight_ = 0;
    }
    writing_.clear();
    if (writing_.capacity() > 4 * read_chunk) writing_.shrink_to_fit();
    if (ec) {
      finish("write failed: " + ec.message());
      return;
    }
    flush_on_strand();
  }

  // -- closing -----------------------------------------------------------------

  /// Sends a close frame after what is queued, then waits (a bounded time)
  /// for the worker's close frame.
  void start_close(uint16_t code, const std::string& reason) {
    if (closing_ || finished_) return;
    closing_ = true;
    close_reason_ = reason;
    queue_close(code, reason);
    close_timer_.expires_after(close_timeout);
    close_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->finish("closed by engine: " + self->close_reason_);
    });
    flush_on_strand();
  }

  void finish(const std::string& why) {
    if (finished_) return;
    finished_ = true;
    admitting_ = false;
    if (slot_) {
      slot_ = false;
      --set_->slots;
    }
    {
      std::lock_guard<std::mutex> guard{out_mtx_};
      out_closed_ = true;
      fd_open_ = false;
      outbox_.clear();
    }
    close_timer_.cancel();
    watch_timer_.cancel();
    beast::error_code ignored;
    socket().close(ignored);
    if (handler_) {
      handler_->on_close(why);
      handler_.reset();
    }
    std::lock_guard<std::mutex> guard{set_->mtx};
    set_->live.erase(id_);
  }

  // Only for the HTTP upgrade; afterwards, its socket is used directly.
  websocket::stream<beast::tcp_stream> ws_;
  const ws_server_options& opts_;
  const ws_accept_fn& accept_;
  const ws_admit_fn& admit_;
  std::shared_ptr<connection_set> set_;
  uint64_t id_;
  std::string ip_;
  std::string remote_;
  // Admission: the upgrade request waits for the decision here.
  std::optional<http::request<http::string_body>> pending_req_;
  bool admitting_ = false;
  /// Holds a place in connection_set::slots.
  bool slot_ = false;
  std::shared_ptr<const access_grant> grant_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::unique_ptr<ws_handler> handler_;
  bool telemetry_ = false;
  // Read side.
  ws::decoder decoder_;
  std::vector<char> in_;
  /// What this connection counts in unfinished_bytes.
  size_t held_ = 0;
  size_t in_used_ = 0;
  std::vector<ws::event> events_;
  // Closing: `closing_` once a close frame is queued (ours or our answer).
  bool closing_ = false;
  bool finish_after_write_ = false;
  bool shutdown_after_write_ = false;
  bool discard_input_ = false;
  bool finished_ = false;
  std::string close_reason_;
  net::steady_timer close_timer_;
  /// Checks for an idle connection and an unfinished message.
  net::steady_timer watch_timer_;
  std::chrono::steady_clock::time_point last_input_{};
  std::chrono::steady_clock::time_point message_since_{};
  bool partial_ = false;
  // Write side: `writing_` (the bytes of the I/O thread's write in flight)
  // on the strand; the others under the mutex, `in_flight_` being the size
  // of `writing_` while that write runs. The send backlog is `outbox_` plus
  // `in_flight_`. flush() writes from its caller's thread while it holds
  // the mutex and neither an I/O thread write is in flight nor one is
  // scheduled.
  std::string writing_;
  std::mutex out_mtx_;
  std::string outbox_;
  size_t in_flight_ = 0;
  bool flush_scheduled_ = false;
  bool out_closed_ = false;
  bool fd_open_ = true;
  int fd_ = -1;
};

} // namespace

struct ws_server::impl {
  ws_server_options opts;
  ws_accept_fn accept;
  ws_admit_fn admit;
  std::shared_ptr<connection_set> connections
    = std::make_shared<connection_set>();
  std::atomic<bool> stopped{false};
  // Last: its I/O context (holding the connections, which refer to the
  // members above) goes first.
  tcp_listener listener;

  impl(ws_server_options o, ws_accept_fn a, ws_admit_fn ad)
      : opts(std::move(o)), accept(std::move(a)), admit(std::move(ad)),
        listener(log_name, opts.host, opts.port, opts.threads) {}
};

ws_server::ws_server(ws_server_options opts, ws_accept_fn accept,
                     ws_admit_fn admit)
    : impl_(std::make_unique<impl>(std::move(opts), std::move(accept),
                                   std::move(admit))) {}

ws_server::~ws_server() { stop(); }

caf::expected<uint16_t> ws_server::start() {
  auto& d = *impl_;
  return d.listener.start([&d](tcp::socket sock) {
    std::make_shared<connection>(std::move(sock), d.opts, d.accept, d.admit,
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
    c->close(ws::close_code::going_away, "engine shutting down");
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
  // The I/O threads are gone: what is still open (a worker that never
  // answered the close) is cut here, and its handler is told, or its
  // session actor would wait for it forever and the actor system with it.
  {
    std::lock_guard<std::mutex> guard{d.connections->mtx};
    for (auto& kvp : d.connections->live)
      if (auto c = kvp.second.lock()) open.push_back(std::move(c));
  }
  for (auto& c : open)
    c->abandon("engine stopped: the worker did not answer the close in time");
}

} // namespace troupe::protocol
