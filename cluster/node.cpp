#include "cluster/node.hpp"

#include <csignal>
#include <pthread.h>

#include "base/log.hpp"
#include "troupe/engine.hpp"

namespace troupe {

namespace {

sigset_t stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

} // namespace

void tune_scheduler(caf::actor_system_config& cfg, int threads) {
  cfg.set("scheduler.max-threads", threads);
  cfg.set("work-stealing.moderate-poll-attempts", 0);
}

void block_stop_signals() {
  auto set = stop_signals();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

int run_node(caf::actor_system& sys, const engine_config& cfg) {
  auto store_error = [](const caf::error& err) {
    if (err == errc::store_failure) {
      log::error("node", "cannot open the job store: ", error_text(err));
      return 3;
    }
    log::error("node", error_text(err));
    return 1;
  };
  auto opened = engine::open(sys, cfg);
  if (!opened) return store_error(opened.error());
  auto& eng = **opened;
  // The admin listener first, so that it answers (503 "recovering") while a
  // large store is loaded.
  if (cfg.admin.enabled) {
    if (auto port = eng.listen_admin(); !port) {
      log::error("node", sys.render(port.error()));
      eng.stop();
      return 1;
    }
  }
  if (auto err = eng.recover()) {
    eng.stop(std::chrono::milliseconds(0));
    return store_error(err);
  }
  // HTTP first: once the worker listener's line is logged, both serve.
  auto port = cfg.http.enabled ? eng.listen_http() : uint16_t{0};
  if (port) port = eng.listen_workers();
  if (!port) {
    log::error("node", sys.render(port.error()));
    eng.stop();
    return 1;
  }
  auto set = stop_signals();
  int sig = 0;
  sigwait(&set, &sig);
  log::info("node", "received ", sig == SIGINT ? "SIGINT" : "SIGTERM",
            ", stopping");
  eng.stop();
  log::info("node", "stopped");
  return 0;
}

} // namespace troupe
