#include "protocol/http_server.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "base/errc.hpp"
#include "base/log.hpp"
#include "protocol/http_mapping.hpp"
#include "protocol/tcp_listener.hpp"

namespace troupe::protocol {

http_responder::~http_responder() = default;

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr auto log_name = "http";
constexpr uint32_t header_limit = 64 * 1024;
/// How long a closing connection keeps reading (and discarding) what the
/// client still sends, so that closing does not reset the connection before
/// the client read our answer (e.g. a 413 while it is still uploading).
constexpr auto linger_timeout = std::chrono::seconds(2);

std::atomic<uint64_t> next_connection_id{1};

class connection;

/// Shared by the server, its connections and their responders.
struct server_state {
  std::mutex mtx;
  /// False once stop() began: responders do nothing from then on.
  bool open = true;
  /// Every connection until it finishes. The strong references keep a
  /// connection alive while its request waits for the engine.
  std::unordered_map<uint64_t, std::shared_ptr<connection>> live;
  /// Connections over max_connections, answered 503.
  refusal_log over_cap{log_name, "refusals over max_connections"};
};

std::string_view view(beast::string_view s) { return {s.data(), s.size()}; }

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string upper(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

/// Path and query of a request target; an absolute-form target
/// ("http://host/p?q") loses its scheme and authority.
void split_target(std::string_view target, http_request& out) {
  if (!target.empty() && target.front() != '/') {
    if (auto scheme = target.find("://"); scheme != std::string_view::npos) {
      auto slash = target.find('/', scheme + 3);
      target = slash == std::string_view::npos ? std::string_view{"/"}
                                               : target.substr(slash);
    }
  }
  auto q = target.find('?');
  out.path = std::string{target.substr(0, q)};
  if (q != std::string_view::npos)
    out.query = std::string{target.substr(q + 1)};
}

bool is_parse_error(const beast::error_code& ec) {
  return &ec.category()
         == &http::make_error_code(http::error::body_limit).category();
}

/// A status whose response must not carry a body.
bool bodiless(unsigned status) {
  return status < 200 || status == 204 || status == 304;
}

/// One accepted TCP connection: reads a request, hands it to the engine,
/// writes the answer, and reads the next one while the client keeps the
/// connection alive. Touched only on its strand.
class connection : public std::enable_shared_from_this<connection> {
public:
  connection(tcp::socket&& sock, const http_server_options& opts,
             const http_handler_fn& handler,
             std::shared_ptr<server_state> state)
      : stream_(std::move(sock)), opts_(opts), handler_(handler),
        state_(std::move(state)), id_(next_connection_id++) {
    beast::error_code ignored;
    stream_.socket().set_option(tcp::no_delay(true), ignored);
  }

  void run() {
    {
      std::lock_guard<std::mutex> guard{state_->mtx};
      if (!state_->open) return;
      // Its request is still read, so that the client gets the 503.
      over_cap_ = state_->live.size() >= opts_.max_connections;
      state_->live.emplace(id_, shared_from_this());
    }
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this()] { self->read_header(); });
  }

  auto executor() { return stream_.get_executor(); }

  /// The engine's answer to the request in progress. On the strand.
  void deliver(http_response res) {
    if (finished_ || !waiting_) return;
    waiting_ = false;
    write(std::move(res), keep_alive_);
  }

  /// Closes at once (the server stops). On the strand.
  void finish() {
    if (finished_) return;
    finished_ = true;
    beast::error_code ignored;
    stream_.socket().close(ignored);
    std::lock_guard<std::mutex> guard{state_->mtx};
    state_->live.erase(id_);
  }

private:
  // -- reading ----------------------------------------------------------------

  void read_header() {
    parser_.emplace();
    parser_->body_limit(opts_.max_body_bytes);
    parser_->header_limit(header_limit);
    stream_.expires_after(opts_.idle_timeout);
    http::async_read_header(stream_, buf_, *parser_,
                            [self = shared_from_this()](beast::error_code ec,
                                                        size_t) {
                              self->on_header(ec);
                            });
  }

  void on_header(beast::error_code ec) {
    if (ec) {
      on_read_error(ec);
      return;
    }
    auto& req = parser_->get();
    if (over_cap_) {
      head_ = req.method() == http::verb::head;
      version_ = req.version();
      auto why = "the engine serves its maximum of "
                 + std::to_string(opts_.max_connections)
                 + " HTTP connections (max_connections); try again later";
      state_->over_cap.note("connection " + std::to_string(id_)
                            + " refused (503): " + why);
      auto res = error_response(503, "SERVICE_UNAVAILABLE", why);
      res.headers.emplace_back("retry-after", "5");
      write(std::move(res), false);
      return;
    }
    auto expect = req[http::field::expect];
    if (!beast::iequals(expect, "100-continue") || parser_->is_done()) {
      read_body();
      return;
    }
    // The client waits for this before it sends the body.
    continue_.emplace(http::status::continue_, req.version());
    http::async_write(stream_, *continue_,
                      [self = shared_from_this()](beast::error_code ec,
                                                  size_t) {
                        if (ec)
                          self->finish();
                        else
                          self->read_body();
                      });
  }

  void read_body() {
    http::async_read(stream_, buf_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->on_request(ec);
                     });
  }

  void on_read_error(const beast::error_code& ec) {
    head_ = false;
    version_ = 11;
    if (ec == http::error::body_limit) {
      write(error_response(413, "PAYLOAD_TOO_LARGE",
                           "request body exceeds max_body_bytes ("
                             + std::to_string(opts_.max_body_bytes)
                             + " bytes)"),
            false);
    } else if (is_parse_error(ec) && ec != http::error::end_of_stream
               && ec != http::error::partial_message) {
      log::debug(log_name, "connection ", id_, ": bad request: ", ec.message());
      write(error_response(400, "BAD_REQUEST",
                           "malformed HTTP request: " + ec.message()),
            false);
    } else {
      finish(); // closed by the client, idle timeout, network error
    }
  }

  void on_request(beast::error_code ec) {
    if (ec) {
      on_read_error(ec);
      return;
    }
    auto req = parser_->release();
    http_request out;
    out.method = upper(view(req.method_string()));
    split_target(view(req.target()), out);
    for (const auto& f : req)
      out.headers.emplace_back(lower(view(f.name_string())),
                               std::string{f.value()});
    out.body = std::move(req.body());
    keep_alive_ = req.keep_alive();
    head_ = req.method() == http::verb::head;
    version_ = req.version();
    waiting_ = true;
    stream_.expires_never();
    handler_(std::move(out), make_responder());
  }

  std::shared_ptr<http_responder> make_responder();

  // -- writing ----------------------------------------------------------------

  void write(http_response r, bool keep_alive) {
    res_ = {};
    res_.version(version_);
    res_.result(r.status);
    for (auto& h : r.headers) res_.insert(h.first, h.second);
    if (res_.find(http::field::server) == res_.end())
      res_.set(http::field::server, "troupe");
    res_.body() = std::move(r.body);
    if (r.status < 200) keep_alive = false; // no final answer would follow
    res_.keep_alive(keep_alive);
    if (bodiless(r.status))
      res_.body().clear();
    else
      res_.content_length(res_.body().size());
    if (head_) res_.body().clear(); // Content-Length still tells the size
    stream_.expires_after(opts_.idle_timeout);
    http::async_write(stream_, res_,
                      [self = shared_from_this(),
                       keep_alive](beast::error_code ec, size_t) {
                        if (ec)
                          self->finish();
                        else if (keep_alive)
                          self->read_header();
                        else
                          self->linger();
                      });
  }

  // -- closing ----------------------------------------------------------------

  void linger() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(linger_timeout);
    drain();
  }

  void drain() {
    buf_.consume(buf_.size());
    stream_.async_read_some(buf_.prepare(64 * 1024),
                            [self = shared_from_this()](beast::error_code ec,
                                                        size_t) {
                              if (ec)
                                self->finish();
                              else
                                self->drain();
                            });
  }

  beast::tcp_stream stream_;
  const http_server_options& opts_;
  const http_handler_fn& handler_;
  std::shared_ptr<server_state> state_;
  uint64_t id_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::empty_body>> continue_;
  http::response<http::string_body> res_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  bool head_ = false;
  /// A request was handed to the engine and has no answer yet.
  bool waiting_ = false;
  bool finished_ = false;
  /// Accepted over max_connections: its first request gets 503.
  bool over_cap_ = false;
};

/// Hands the engine's answer to the connection's strand.
class responder final : public http_responder {
public:
  responder(std::weak_ptr<connection> conn, std::shared_ptr<server_state> state)
      : conn_(std::move(conn)), state_(std::move(state)) {}

  ~responder() override {
    if (!answered_)
      respond(
        error_response(500, "NO_ANSWER", "the engine dropped the request"));
  }

  void respond(http_response res) override {
    if (answered_.exchange(true)) return;
    // Under the lock, so that stop() cannot tear the I/O context down while
    // we post to it.
    std::lock_guard<std::mutex> guard{state_->mtx};
    if (!state_->open) return;
    if (auto c = conn_.lock())
      net::post(c->executor(), [c, r = std::move(res)]() mutable {
        c->deliver(std::move(r));
      });
  }

private:
  std::weak_ptr<connection> conn_;
  std::shared_ptr<server_state> state_;
  std::atomic<bool> answered_{false};
};

std::shared_ptr<http_responder> connection::make_responder() {
  return std::make_shared<responder>(weak_from_this(), state_);
}

} // namespace

struct http_server::impl {
  http_server_options opts;
  http_handler_fn handler;
  std::shared_ptr<server_state> state = std::make_shared<server_state>();
  std::atomic<bool> stopped{false};
  // Last: its I/O context (holding the connections, which refer to the
  // members above) goes first.
  tcp_listener listener;

  impl(http_server_options o, http_handler_fn h)
      : opts(std::move(o)), handler(std::move(h)),
        listener(log_name, opts.host, opts.port, opts.threads) {}
};

http_server::http_server(http_server_options opts, http_handler_fn handler)
    : impl_(std::make_unique<impl>(std::move(opts), std::move(handler))) {}

http_server::~http_server() { stop(); }

caf::expected<uint16_t> http_server::start() {
  auto& d = *impl_;
  return d.listener.start([&d](tcp::socket sock) {
    std::make_shared<connection>(std::move(sock), d.opts, d.handler, d.state)
      ->run();
  });
}

void http_server::stop() {
  auto& d = *impl_;
  if (d.stopped.exchange(true) || !d.listener.running()) return;
  std::vector<std::shared_ptr<connection>> open;
  {
    std::lock_guard<std::mutex> guard{d.state->mtx};
    d.state->open = false;
    for (auto& kvp : d.state->live) open.push_back(kvp.second);
  }
  d.listener.close_acceptor();
  for (auto& c : open) net::post(c->executor(), [c] { c->finish(); });
  open.clear();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard<std::mutex> guard{d.state->mtx};
      if (d.state->live.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  d.listener.stop_io();
  // Connections accepted meanwhile die here, while the I/O context lives.
  std::unordered_map<uint64_t, std::shared_ptr<connection>> rest;
  {
    std::lock_guard<std::mutex> guard{d.state->mtx};
    rest.swap(d.state->live);
  }
}

} // namespace troupe::protocol
