#include "admin/admin_server.hpp"

#include <caf/send.hpp>

#include "actors/messages.hpp"
#include "actors/type_ids.hpp"
#include "admin/admin_actor.hpp"
#include "admin/admin_routes.hpp"
#include "admin/dashboard_assets.hpp"
#include "base/errc.hpp"
#include "protocol/admin_api.hpp"
#include "protocol/http_server.hpp"

namespace troupe::admin {

namespace {

constexpr auto csp = "default-src 'self'; frame-ancestors 'none'";

/// Headers every answer of the listener carries.
void add_common_headers(protocol::http_response& res) {
  res.headers.emplace_back("Content-Security-Policy", csp);
  res.headers.emplace_back("X-Content-Type-Options", "nosniff");
  res.headers.emplace_back("Referrer-Policy", "no-referrer");
}

protocol::admin_readiness readiness_of(const engine_status& s) {
  return {to_string(s.phase), s.loaded, s.total};
}

} // namespace

struct admin_server::impl {
  caf::actor_system& sys;
  admin_server_options opts;
  admin_policy policy;
  std::chrono::steady_clock::time_point started
    = std::chrono::steady_clock::now();
  caf::actor actor;
  std::unique_ptr<protocol::http_server> http;

  impl(caf::actor_system& s, admin_server_options o)
      : sys(s), opts(std::move(o)) {
    policy.token = opts.config.token;
    policy.read_only = opts.config.read_only;
    policy.has_asset = [](std::string_view name) {
      return find_dashboard_asset(name) != nullptr;
    };
  }

  engine_status status() const {
    return opts.status ? opts.status() : engine_status{};
  }

  /// On the I/O thread: answers or hands over to the admin actor.
  void handle(protocol::http_request req,
              std::shared_ptr<protocol::http_responder> out) {
    auto route = route_request(req, policy);
    auto send = [&](protocol::http_response res) {
      add_common_headers(res);
      if (req.method == "HEAD") res.body.clear();
      out->respond(std::move(res));
    };
    switch (route.kind) {
      case route_kind::answered:
        send(std::move(route.response));
        return;
      case route_kind::healthz: {
        protocol::http_response res;
        res.headers.emplace_back("Content-Type", "text/plain; charset=utf-8");
        res.headers.emplace_back("Cache-Control", "no-store");
        res.body = "ok";
        send(std::move(res));
        return;
      }
      case route_kind::readyz: {
        auto s = status();
        send(json_response(s.phase == engine_phase::ready ? 200 : 503,
                           protocol::readyz_json(readiness_of(s))));
        return;
      }
      case route_kind::metrics: {
        if (!opts.metrics) {
          send(error_response(404, "not_found",
                              "this engine renders no metrics"));
          return;
        }
        protocol::http_response res;
        res.headers.emplace_back("Content-Type",
                                 "text/plain; version=0.0.4; charset=utf-8");
        res.headers.emplace_back("Cache-Control", "no-store");
        res.body = opts.metrics();
        send(std::move(res));
        return;
      }
      case route_kind::asset: {
        auto* a = find_dashboard_asset(route.asset);
        protocol::http_response res;
        res.headers.emplace_back("Content-Type", a->content_type);
        res.headers.emplace_back("Cache-Control", "no-cache");
        res.body.assign(reinterpret_cast<const char*>(a->data), a->size);
        send(std::move(res));
        return;
      }
      case route_kind::api:
        break;
    }
    auto s = status();
    if (route.op == api_op::status) {
      protocol::admin_status_info info;
      info.version = opts.version;
      info.readiness = readiness_of(s);
      info.read_only = opts.config.read_only;
      info.auth = !opts.config.token.empty();
      info.node = opts.node;
      info.uptime_seconds = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::seconds>(
          std::chrono::steady_clock::now() - started)
          .count());
      send(json_response(200, protocol::status_json(info)));
      return;
    }
    if (s.phase != engine_phase::ready) {
      auto what = std::string{"the engine is "} + to_string(s.phase);
      if (s.phase == engine_phase::recovering)
        what += " (" + std::to_string(s.loaded) + " of "
                + std::to_string(s.total) + " jobs loaded)";
      auto res = error_response(503, "not_ready", what);
      res.headers.emplace_back("Retry-After", "1");
      send(std::move(res));
      return;
    }
    // The actor answers through a responder that adds the common headers.
    struct headed : protocol::http_responder {
      std::shared_ptr<protocol::http_responder> next;
      bool head = false;
      void respond(protocol::http_response res) override {
        add_common_headers(res);
        if (head) res.body.clear();
        next->respond(std::move(res));
      }
    };
    auto wrapped = std::make_shared<headed>();
    wrapped->next = std::move(out);
    wrapped->head = req.method == "HEAD";
    caf::anon_send(actor, http_call{std::move(req), std::move(wrapped)});
  }
};

admin_server::admin_server(caf::actor_system& sys, admin_server_options opts)
    : impl_(std::make_unique<impl>(sys, std::move(opts))) {
  // nop
}

admin_server::~admin_server() { stop(); }

caf::expected<uint16_t> admin_server::start() {
  auto& d = *impl_;
  if (d.http)
    return caf::make_error(errc::bad_config, "admin listener already open");
  d.actor = d.sys.spawn(admin_actor, d.policy, d.opts.registry, d.opts.queues);
  protocol::http_server_options hopts;
  hopts.host = d.opts.config.host;
  hopts.port = d.opts.config.port;
  hopts.max_body_bytes = d.opts.max_body_bytes;
  auto* self = impl_.get();
  d.http = std::make_unique<protocol::http_server>(
    hopts, [self](protocol::http_request req,
                  std::shared_ptr<protocol::http_responder> out) {
      self->handle(std::move(req), std::move(out));
    });
  auto port = d.http->start();
  if (!port) {
    d.http.reset();
    caf::anon_send_exit(d.actor, caf::exit_reason::user_shutdown);
    d.actor = nullptr;
    return port.error();
  }
  return port;
}

void admin_server::stop() {
  auto& d = *impl_;
  if (d.http) {
    d.http->stop();
    d.http.reset();
  }
  if (d.actor) {
    caf::anon_send_exit(d.actor, caf::exit_reason::user_shutdown);
    d.actor = nullptr;
  }
}

} // namespace troupe::admin
