#include "troupe/engine.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>

#include "actors/registry_actor.hpp"
#include "actors/session_actor.hpp"
#include "actors/type_ids.hpp"
#include "base/errc.hpp"
#include "base/log.hpp"
#include "protocol/ws_server.hpp"

namespace troupe {

struct engine::impl {
  caf::actor_system& sys;
  engine_config cfg;
  caf::actor registry;
  std::unique_ptr<protocol::ws_server> workers;
  bool stopped = false;

  impl(caf::actor_system& s, engine_config c) : sys(s), cfg(std::move(c)) {}
};

void engine::configure(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::troupe>();
  cfg.add_error_category(caf::atom("troupe"), render_errc);
}

engine::engine(caf::actor_system& sys, engine_config cfg)
  : impl_(std::make_unique<impl>(sys, std::move(cfg))) {
  impl_->registry = sys.spawn(registry_actor, caf::actor{});
}

engine::~engine() { stop(); }

caf::expected<uint16_t> engine::listen_workers() {
  auto& d = *impl_;
  if (d.workers)
    return caf::make_error(errc::bad_config, "worker listener already open");
  const auto& wm = d.cfg.worker_manager;
  protocol::ws_server_options opts;
  opts.host = wm.host;
  opts.port = wm.port;
  opts.max_frame_bytes = wm.max_frame_bytes;
  session_context ctx;
  ctx.registry = d.registry;
  ctx.invocation_timeout = std::chrono::milliseconds(wm.invocation_timeout_ms);
  auto* sys = &d.sys;
  d.workers = std::make_unique<protocol::ws_server>(
    opts, [sys, ctx](std::shared_ptr<protocol::ws_peer> peer) {
      auto session = sys->spawn(session_actor, std::move(peer), ctx);
      return make_session_bridge(std::move(session));
    });
  auto port = d.workers->start();
  if (!port) {
    d.workers.reset();
    return port.error();
  }
  log::info("engine", "listening for workers on ws://", wm.host, ":", *port);
  return port;
}

caf::actor engine::registry() const { return impl_->registry; }

const engine_config& engine::config() const { return impl_->cfg; }

void engine::stop() {
  auto& d = *impl_;
  if (d.stopped) return;
  d.stopped = true;
  // Closing the connections stops their session actors.
  if (d.workers) d.workers->stop();
  caf::anon_send_exit(d.registry, caf::exit_reason::user_shutdown);
}

} // namespace troupe
