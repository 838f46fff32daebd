#include "troupe/engine.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>

#include "actors/auth_call_actor.hpp"
#include "actors/call_error.hpp"
#include "actors/function_actor.hpp"
#include "actors/http_router_actor.hpp"
#include "actors/introspection_actor.hpp"
#include "actors/job.hpp"
#include "actors/queue_actor.hpp"
#include "actors/queue_directory.hpp"
#include "actors/queue_functions_actor.hpp"
#include "actors/registry_actor.hpp"
#include "actors/session_actor.hpp"
#include "actors/store_actor.hpp"
#include "actors/type_ids.hpp"
#include "admin/admin_server.hpp"
#include "base/errc.hpp"
#include "base/log.hpp"
#include "metrics/collect.hpp"
#include "metrics/prometheus_text.hpp"
#include "cluster/cluster_type_ids.hpp"
#include "cluster/node_actor.hpp"
#include "store/job_count.hpp"
#include "protocol/http_server.hpp"
#include "protocol/ws_server.hpp"

namespace troupe {

/// Where the engine is, shared with the admin listener's I/O thread.
struct engine_progress {
  std::atomic<engine_phase> phase{engine_phase::starting};
  std::atomic<uint64_t> loaded{0};
  std::atomic<uint64_t> total{0};
  /// recover() has succeeded.
  std::atomic<bool> recovered{false};

  engine_status get() const {
    return {phase.load(std::memory_order_acquire),
            loaded.load(std::memory_order_relaxed),
            total.load(std::memory_order_relaxed)};
  }
};

struct engine::impl {
  caf::actor_system& sys;
  engine_config cfg;
  std::shared_ptr<engine_progress> progress
    = std::make_shared<engine_progress>();
  /// The admin listener (`troupe-admin`), once opened.
  std::unique_ptr<admin::admin_server> admin;
  /// What the admin listener's /metrics renders (set_metrics_renderer);
  /// when empty, render_metrics().
  std::function<std::string()> metrics_renderer;
  caf::actor registry;
  /// What the registry publishes for delivery actors and sessions.
  std::shared_ptr<route_cache> routes = std::make_shared<route_cache>();
  std::shared_ptr<queue_directory> queues = std::make_shared<queue_directory>();
  caf::actor queue_functions;
  /// Serves the introspection and log functions (introspection_actor.hpp).
  caf::actor introspection;
  /// The store actor; invalid with the in-memory store.
  store_handle store;
  std::unique_ptr<protocol::ws_server> workers;
  /// Session actors alive: their connections must go before the worker
  /// listener's I/O context does.
  struct session_count {
    std::mutex mtx;
    std::condition_variable cv;
    size_t n = 0;
  };
  std::shared_ptr<session_count> sessions = std::make_shared<session_count>();
  /// The REST API (`iii-http`) and the actor serving `http` triggers.
  caf::actor http_router;
  std::unique_ptr<protocol::http_server> http;
  /// The actors serving C++ functions, by function id.
  std::unordered_map<std::string, caf::actor> functions;
  /// What HTTP-invoked functions share (`iii-http-functions`): the settings
  /// and the outbound HTTP client; null without the module.
  std::shared_ptr<http_functions_context> http_functions;
  /// The cluster's node actor; invalid without troupe-cluster.
  caf::actor node;
  /// Connections and calls counted by every session (/metrics).
  std::shared_ptr<metrics::session_metrics> session_metrics
    = std::make_shared<metrics::session_metrics>();
  /// Who a scrape asks. The admin listener scrapes from its own thread
  /// while recover(), listen_http() and stop() change these, hence the lock
  /// (never held while waiting for an actor).
  std::mutex metrics_mtx;
  metrics::targets metric_targets;

  /// Sets what the next scrape asks.
  void update_metric_targets() {
    metrics::targets t;
    if (!stopped) {
      std::vector<std::string> names;
      for (auto& kvp : queues->queues) names.push_back(kvp.first);
      std::sort(names.begin(), names.end());
      for (auto& name : names) t.queues.push_back(queues->find(name)->supervisor);
      t.store = store;
      t.http_router = http_router;
    }
    t.sessions = session_metrics;
    std::lock_guard<std::mutex> guard{metrics_mtx};
    metric_targets = std::move(t);
  }
  bool stopped = false;

  impl(caf::actor_system& s, engine_config c) : sys(s), cfg(std::move(c)) {}

  /// Serves `id` with `owner` (an actor of ours when `ours`).
  caf::error add_function(const std::string& id, caf::actor owner, bool ours,
                          const function_options& opts);

  /// Sends `xs...` to `dest` and waits for the reply of type T.
  template <class T, class... Ts>
  caf::expected<T> ask(const caf::actor& dest, Ts&&... xs) {
    caf::scoped_actor self{sys};
    caf::expected<T> out{T{}};
    self->request(dest, caf::infinite, std::forward<Ts>(xs)...)
      .receive([&](T& x) { out = std::move(x); },
               [&](caf::error& err) { out = std::move(err); });
    return out;
  }

  /// Sends `xs...` to the supervisor of `queue` and waits for the reply,
  /// or an unknown_queue error when no queue has that name.
  template <class T, class... Ts>
  caf::expected<T> ask_queue(const std::string& queue, Ts&&... xs) {
    if (auto q = queues->find(queue))
      return ask<T>(q->supervisor, std::forward<Ts>(xs)...);
    return caf::make_error(errc::unknown_queue,
                           "Queue '" + queue + "' not found");
  }
};

void engine::configure(caf::actor_system_config& sys_cfg,
                       const engine_config& cfg) {
  configure(sys_cfg);
  if (cfg.cluster.enabled) configure_cluster(sys_cfg, cfg.cluster);
}

void engine::configure(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::troupe>();
  cfg.add_message_types<caf::id_block::troupe_cluster>();
  cfg.add_error_category(caf::atom("troupe"), render_errc);
}

/// The store and its recovered jobs, from start() to the constructor.
struct engine::boot {
  std::shared_ptr<store::job_store> db;
  std::unordered_map<std::string, recovered_jobs> recovered;
  /// The queues the store says are paused.
  std::vector<std::string> paused;
};

namespace {

/// Loads every stored job and sorts them by queue (each list in seq order).
/// Logs `recovering: N of M jobs loaded` once at the start and then every
/// second, and keeps `progress` up to date for the admin listener.
caf::expected<std::unordered_map<std::string, recovered_jobs>>
load_jobs(store::job_store& db, const engine_config& cfg,
          engine_progress& progress) {
  auto t0 = std::chrono::steady_clock::now();
  std::unordered_map<std::string, recovered_jobs> by_queue;
  auto stored = store::count_stored_jobs(db);
  if (!stored) return stored.error();
  const uint64_t expected = *stored;
  progress.total.store(expected, std::memory_order_relaxed);
  progress.loaded.store(0, std::memory_order_relaxed);
  progress.phase.store(engine_phase::recovering, std::memory_order_release);
  auto report = [&](uint64_t n) {
    log::info("engine", "recovering: ", n, " of ", expected, " jobs loaded");
  };
  if (expected > 0) report(0);
  auto next_report
    = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  size_t total = 0;
  recovered_jobs* last = nullptr; // jobs tend to come in runs of one queue
  std::string last_queue;
  auto err = db.for_each_job([&](store::stored_job&& x) {
    ++total;
    // The clock is read every 1024 jobs only.
    if ((total & 1023) == 0) {
      progress.loaded.store(total, std::memory_order_relaxed);
      auto now = std::chrono::steady_clock::now();
      if (now >= next_report) {
        report(total);
        next_report = now + std::chrono::seconds(1);
      }
    }
    if (!last || x.job.queue != last_queue) {
      last_queue = x.job.queue;
      last = &by_queue[x.job.queue];
      if (!*last) *last = std::make_shared<recovered_jobs::element_type>();
    }
    (*last)->push_back(std::move(x));
  });
  if (err) return err;
  progress.loaded.store(total, std::memory_order_relaxed);
  progress.total.store(std::max<uint64_t>(expected, total),
                       std::memory_order_relaxed);
  for (auto& [name, list] : by_queue)
    if (!cfg.find_queue(name))
      log::warn("engine", list->size(), " stored jobs belong to queue '", name,
                "', which is no longer configured; they stay in the "
                "store untouched");
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::steady_clock::now() - t0)
              .count();
  log::info("engine", "loaded ", total, " stored jobs from ",
            cfg.queue.file_path, " in ", ms, " ms");
  return by_queue;
}

} // namespace

caf::expected<std::unique_ptr<engine>> engine::start(caf::actor_system& sys,
                                                     engine_config cfg) {
  auto eng = open(sys, std::move(cfg));
  if (!eng) return eng;
  if (auto err = (*eng)->recover()) return err;
  return eng;
}

caf::expected<std::unique_ptr<engine>> engine::open(caf::actor_system& sys,
                                                    engine_config cfg) {
  return std::make_unique<engine>(sys, std::move(cfg),
                                  std::make_unique<boot>());
}

caf::error engine::recover() {
  auto& d = *impl_;
  if (d.stopped)
    return caf::make_error(errc::shutting_down, "the engine is stopped");
  if (d.progress->recovered.load())
    return caf::make_error(errc::bad_config, "the engine is recovered already");
  boot b;
  if (d.cfg.queue.store == store_method::file_based) {
    auto opened = store::open_sqlite_store(d.cfg.queue.file_path);
    if (!opened) return opened.error();
    b.db = std::move(*opened);
    auto loaded = load_jobs(*b.db, d.cfg, *d.progress);
    if (!loaded) return loaded.error();
    b.recovered = std::move(*loaded);
    auto paused = b.db->paused_queues();
    if (!paused) return paused.error();
    b.paused = std::move(*paused);
  }
  if (b.db) d.store = d.sys.spawn<caf::detached>(store_actor, b.db);
  d.queues->max_payload_bytes = d.cfg.queue.max_payload_bytes;
  for (auto& q : d.cfg.queue.queues) {
    auto i = b.recovered.find(q.name);
    queue_links links{d.registry, d.store,
                      std::chrono::milliseconds(d.cfg.queue.startup_grace_ms),
                      d.cfg.queue.max_payload_bytes, d.cfg.cluster.enabled};
    links.routes = d.routes;
    links.paused = std::binary_search(b.paused.begin(), b.paused.end(),
                                      q.name);
    auto sup = d.sys.spawn(queue_actor, q, links,
                           i == b.recovered.end() ? recovered_jobs{}
                                                  : i->second);
    d.queues->queues.emplace(q.name,
                             queue_entry{caf::actor_cast<caf::actor>(sup), q});
    log::info("engine", "queue ", q.name, ": ",
              q.type == queue_type::fifo
                ? "fifo by '" + q.message_group_field + "'"
                : std::string{"standard"},
              ", concurrency ", q.concurrency, ", max_retries ", q.max_retries,
              ", backoff_ms ", q.backoff_ms);
  }
  if (d.cfg.cluster.enabled) {
    auto node = start_cluster_node(d.sys, d.cfg.cluster, d.queues, d.registry);
    if (!node) {
      stop(std::chrono::milliseconds(0));
      return node.error();
    }
    d.node = std::move(*node);
    // Queue functions answer for the whole cluster from now on.
    caf::anon_send(d.node, atom::qcluster_v, d.queue_functions);
    caf::anon_send(d.queue_functions, atom::qcluster_v, d.node);
  }
  d.update_metric_targets();
  d.progress->recovered.store(true);
  // Ready once the worker listener is open too.
  d.progress->phase.store(d.workers ? engine_phase::ready
                                    : engine_phase::starting,
                          std::memory_order_release);
  return {};
}

engine_status engine::status() const { return impl_->progress->get(); }

void engine::set_metrics_renderer(std::function<std::string()> render) {
  impl_->metrics_renderer = std::move(render);
}

caf::expected<uint16_t> engine::listen_admin() {
  auto& d = *impl_;
  if (d.admin)
    return caf::make_error(errc::bad_config, "admin listener already open");
  admin::admin_server_options opts;
  opts.config = d.cfg.admin;
  // An enqueue's body carries a payload of up to max_payload_bytes.
  opts.max_body_bytes = d.cfg.queue.max_payload_bytes + 64 * 1024;
  opts.version = TROUPE_VERSION;
  if (d.cfg.cluster.enabled) opts.node = d.cfg.cluster.name;
  opts.status = [p = d.progress] { return p->get(); };
  if (d.metrics_renderer)
    opts.metrics = d.metrics_renderer;
  else
    opts.metrics = [this] { return render_metrics(); };
  opts.registry = d.registry;
  opts.queues = d.queues;
  auto server = std::make_unique<admin::admin_server>(d.sys, std::move(opts));
  auto port = server->start();
  if (!port) return port.error();
  d.admin = std::move(server);
  const auto& host = d.cfg.admin.host;
  log::info("engine", "admin listening on http://",
            host.find(':') != std::string::npos ? "[" + host + "]" : host, ":",
            *port);
  return port;
}

engine::engine(caf::actor_system& sys, engine_config cfg,
               std::unique_ptr<boot>)
    : impl_(std::make_unique<impl>(sys, std::move(cfg))) {
  auto& d = *impl_;
  d.registry = caf::actor_cast<caf::actor>(
    sys.spawn(registry_actor, std::string{"registry"}, d.routes));
  d.queue_functions = sys.spawn(queue_functions_actor, d.queues);
  register_queue_functions(d.registry, d.queue_functions);
  d.introspection = sys.spawn(introspection_actor, d.registry);
  register_introspection_functions(d.registry, d.introspection);
}

engine::~engine() { stop(); }

// -- C++ functions ------------------------------------------------------------

namespace {

bool reserved_function_id(const std::string& id) {
  return id.rfind("engine::", 0) == 0 || id.rfind("iii::", 0) == 0;
}

} // namespace

caf::error engine::impl::add_function(const std::string& id, caf::actor owner,
                                      bool ours, const function_options& opts) {
  if (stopped)
    return caf::make_error(errc::shutting_down, "the engine is stopped");
  if (id.empty())
    return caf::make_error(errc::bad_config, "a function id is not empty");
  if (reserved_function_id(id))
    return caf::make_error(errc::bad_config,
                           "function id '" + id
                             + "' is reserved: ids starting with engine:: "
                               "or iii:: belong to the engine");
  caf::anon_send(registry,
                 register_function{id, owner, opts.description, opts.metadata});
  auto i = functions.find(id);
  if (i != functions.end()) {
    // Unregistered first, so that no call reaches it while it stops.
    caf::anon_send(registry, unregister_function{id, i->second});
    caf::anon_send_exit(i->second, caf::exit_reason::user_shutdown);
    functions.erase(i);
  }
  if (ours) functions.emplace(id, std::move(owner));
  return {};
}

caf::error engine::add_function(const std::string& id, function_fn fn,
                                function_options opts) {
  auto& d = *impl_;
  auto owner = opts.blocking
                 ? d.sys.spawn<caf::detached>(function_actor, id, std::move(fn))
                 : d.sys.spawn(function_actor, id, std::move(fn));
  auto err = d.add_function(id, owner, true, opts);
  if (err) caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
  return err;
}

caf::error engine::add_async_function(const std::string& id,
                                      async_function_fn fn,
                                      function_options opts) {
  auto& d = *impl_;
  auto owner = d.sys.spawn(async_function_actor, id, std::move(fn));
  auto err = d.add_function(id, owner, true, opts);
  if (err) caf::anon_send_exit(owner, caf::exit_reason::user_shutdown);
  return err;
}

caf::error engine::add_function(const std::string& id, function_handle handler,
                                function_options opts) {
  if (!handler)
    return caf::make_error(errc::bad_config,
                           "function " + id + ": the handler is invalid");
  return impl_->add_function(id, caf::actor_cast<caf::actor>(handler), false,
                             opts);
}

void engine::remove_function(const std::string& id) {
  auto& d = *impl_;
  auto i = d.functions.find(id);
  if (i == d.functions.end()) return;
  caf::anon_send(d.registry, unregister_function{id, i->second});
  caf::anon_send_exit(i->second, caf::exit_reason::user_shutdown);
  d.functions.erase(i);
}

// -- calls from C++ -----------------------------------------------------------

invoke_result engine::call(std::string function_id, std::string payload,
                           std::chrono::milliseconds timeout,
                           std::string metadata) {
  auto& d = *impl_;
  auto timeout_ms = static_cast<uint64_t>(timeout.count());
  auto fn = function_id;
  caf::scoped_actor self{d.sys};
  invoke_result out;
  self
    ->request(d.registry, timeout,
              invoke{std::move(function_id),
                     std::move(payload),
                     std::move(metadata),
                     {},
                     {},
                     timeout_ms})
    .receive([&](invoke_result& r) { out = std::move(r); },
             [&](caf::error& err) {
               out = request_failure(err, fn, timeout_ms);
             });
  return out;
}

void engine::call_void(std::string function_id, std::string payload,
                       std::string metadata) {
  caf::anon_send(impl_->registry, invoke{std::move(function_id),
                                         std::move(payload),
                                         std::move(metadata),
                                         {},
                                         {},
                                         0});
}

caf::expected<std::string> engine::enqueue(const std::string& queue,
                                           std::string function_id,
                                           std::string payload) {
  auto& d = *impl_;
  auto q = d.queues->find(queue);
  if (!q)
    return caf::make_error(errc::enqueue_rejected,
                           "Queue '" + queue + "' not found");
  return d.ask<std::string>(
    q->supervisor, troupe::enqueue{std::move(function_id), std::move(payload)});
}

// -- queue functions ----------------------------------------------------------

caf::expected<queue_stats> engine::stats(const std::string& queue) {
  return impl_->ask_queue<queue_stats>(queue, atom::stats_v);
}

caf::expected<std::vector<queue_stats>> engine::stats() {
  std::vector<queue_stats> out;
  for (auto& name : queue_names()) {
    auto s = stats(name);
    if (!s) return s.error();
    out.push_back(std::move(*s));
  }
  return out;
}

caf::expected<std::vector<job>> engine::dead_letters(const std::string& queue,
                                                     uint64_t offset,
                                                     uint64_t limit) {
  return impl_->ask_queue<std::vector<job>>(queue, atom::list_v, offset,
                                            std::min<uint64_t>(limit, 500));
}

caf::expected<uint64_t> engine::redrive(const std::string& queue) {
  return impl_->ask_queue<uint64_t>(queue, atom::redrive_v);
}

caf::expected<uint64_t> engine::redrive(const std::string& queue,
                                        const std::string& id) {
  return impl_->ask_queue<uint64_t>(queue, atom::redrive_v, id);
}

caf::expected<uint64_t> engine::discard(const std::string& queue,
                                        const std::string& id) {
  return impl_->ask_queue<uint64_t>(queue, atom::discard_v, id);
}

caf::expected<job_info> engine::find_job(const std::string& id,
                                         const std::string& queue) {
  auto& d = *impl_;
  if (!queue.empty()) return d.ask_queue<job_info>(queue, atom::lookup_v, id);
  for (auto& name : queue_names()) {
    auto x = d.ask_queue<job_info>(name, atom::lookup_v, id);
    if (x || x.error() != errc::job_not_found) return x;
  }
  return caf::make_error(errc::job_not_found,
                         "Job " + id + " not found in any queue");
}

caf::expected<job_page> engine::jobs(const std::string& queue, job_status state,
                                     uint64_t offset, uint64_t limit) {
  return impl_->ask_queue<job_page>(queue, atom::jobs_v, state, offset,
                                    std::min<uint64_t>(limit, 500));
}

caf::expected<group_page> engine::groups(const std::string& queue,
                                         uint64_t offset, uint64_t limit) {
  return impl_->ask_queue<group_page>(queue, atom::groups_v, offset,
                                      std::min<uint64_t>(limit, 500));
}

caf::expected<bool> engine::pause(const std::string& queue) {
  return impl_->ask_queue<bool>(queue, atom::pause_v);
}

caf::expected<bool> engine::resume(const std::string& queue) {
  return impl_->ask_queue<bool>(queue, atom::resume_v);
}

caf::expected<uint64_t> engine::retry_now(const std::string& queue,
                                          const std::string& id) {
  return impl_->ask_queue<uint64_t>(queue, atom::retrynow_v, id);
}

caf::expected<uint16_t> engine::listen_workers() {
  auto& d = *impl_;
  if (d.workers)
    return caf::make_error(errc::bad_config, "worker listener already open");
  const auto& wm = d.cfg.worker_manager;
  protocol::ws_server_options opts;
  opts.host = wm.host;
  opts.port = wm.port;
  opts.max_frame_bytes = wm.max_frame_bytes;
  opts.idle_timeout = std::chrono::milliseconds(wm.idle_timeout_ms);
  opts.message_timeout = std::chrono::milliseconds(wm.message_timeout_ms);
  opts.max_connections = wm.max_connections;
  const auto& auth = wm.auth;
  // The listener gives up on an admission a little after the auth call's
  // own timeout, which answers first.
  opts.admit_timeout = std::chrono::milliseconds(auth.auth_timeout_ms + 1000);
  session_context ctx;
  if (auth.rbac)
    ctx.access = std::make_shared<const access_rules>(
      access_rules{true, auth.expose_functions});
  ctx.registry = d.registry;
  ctx.routes = d.routes;
  ctx.queues = d.queues;
  ctx.invocation_timeout = std::chrono::milliseconds(wm.invocation_timeout_ms);
  ctx.metrics = d.session_metrics;
  if (d.cfg.http_functions.enabled && !d.http_functions) {
    const auto& hf = d.cfg.http_functions;
    protocol::http_client_options copts;
    copts.max_response_bytes = hf.max_response_bytes;
    copts.block_private_ips = hf.block_private_ips;
    d.http_functions = std::make_shared<http_functions_context>(
      http_functions_context{hf, protocol::make_http_client(copts)});
    std::string allow;
    for (const auto& p : hf.url_allowlist)
      allow += (allow.empty() ? "" : ", ") + p;
    log::info("engine", "HTTP-invoked functions on: allowlist [",
              allow.empty() ? "*" : allow, "], block_private_ips ",
              hf.block_private_ips ? "true" : "false", ", default_timeout_ms ",
              hf.default_timeout_ms, ", max_response_bytes ",
              hf.max_response_bytes);
  }
  ctx.http_functions = d.http_functions;
  auto* sys = &d.sys;
  auto sessions = d.sessions;
  protocol::ws_admit_fn admit;
  if (!auth.token.empty() || !auth.auth_function_id.empty())
    admit = [sys, registry = d.registry,
             auth](const protocol::upgrade_request& req,
                   protocol::ws_decide_fn decide) {
      // The engine's own token admits without limits (the worker serving
      // the auth function comes in this way); any other connection needs
      // the auth function, or is refused when there is none.
      auto sent = protocol::bearer_token(req);
      if (!auth.token.empty() && !sent.empty()
          && secrets_equal(sent, auth.token)) {
        static const auto trusted = [] {
          access_grant g;
          g.unrestricted = true;
          return std::make_shared<const access_grant>(g);
        }();
        decide({0, {}, trusted});
        return;
      }
      if (auth.auth_function_id.empty()) {
        decide({401,
                sent.empty() ? "this engine requires 'Authorization: "
                               "Bearer <token>' (auth.token)"
                             : "wrong token",
                nullptr});
        return;
      }
      sys->spawn(auth_call_actor, registry, auth.auth_function_id,
                 protocol::auth_input_json(req),
                 std::chrono::milliseconds(auth.auth_timeout_ms),
                 std::move(decide));
    };
  d.workers = std::make_unique<protocol::ws_server>(
    opts,
    [sys, ctx, sessions](std::shared_ptr<protocol::ws_peer> peer,
                         std::shared_ptr<const access_grant> grant) {
      auto session = sys->spawn(session_actor, std::move(peer), ctx,
                                std::move(grant));
      {
        std::lock_guard<std::mutex> guard{sessions->mtx};
        ++sessions->n;
      }
      // Runs once the session's state (and its hold on the connection) is
      // gone.
      caf::actor_cast<caf::abstract_actor*>(session)->attach_functor(
        [sessions] {
          std::lock_guard<std::mutex> guard{sessions->mtx};
          --sessions->n;
          sessions->cv.notify_all();
        });
      return make_session_bridge(std::move(session));
    },
    std::move(admit));
  auto port = d.workers->start();
  if (!port) {
    d.workers.reset();
    return port.error();
  }
  // Logged before the listening line, which tests and scripts wait for.
  if (!auth.token.empty() || auth.rbac)
    log::info("engine", "worker authentication on:",
              auth.token.empty() ? "" : " bearer token (auth.token);",
              auth.auth_function_id.empty()
                ? std::string{}
                : " auth function " + auth.auth_function_id + " (timeout "
                    + std::to_string(auth.auth_timeout_ms) + " ms);",
              auth.rbac ? " rbac calls limited to "
                            + std::to_string(auth.expose_functions.size())
                            + " expose_functions pattern(s) and grants"
                        : std::string{});
  log::info("engine", "listening for workers on ws://", wm.host, ":", *port,
            " (max_connections ", wm.max_connections, ")");
  if (d.progress->recovered.load())
    d.progress->phase.store(engine_phase::ready, std::memory_order_release);
  return port;
}

caf::expected<uint16_t> engine::listen_http() {
  auto& d = *impl_;
  if (d.http)
    return caf::make_error(errc::bad_config, "HTTP listener already open");
  const auto& hc = d.cfg.http;
  protocol::http_server_options opts;
  opts.host = hc.host;
  opts.port = hc.port;
  opts.max_body_bytes = hc.max_body_bytes;
  opts.max_connections = hc.max_connections;
  auto router = d.sys.spawn(http_router_actor, d.registry,
                            std::chrono::milliseconds(hc.default_timeout_ms));
  d.http = std::make_unique<protocol::http_server>(
    opts, [router](protocol::http_request req,
                   std::shared_ptr<protocol::http_responder> out) {
      caf::anon_send(router, http_call{std::move(req), std::move(out)});
    });
  auto port = d.http->start();
  if (!port) {
    d.http.reset();
    caf::anon_send_exit(router, caf::exit_reason::user_shutdown);
    return port.error();
  }
  d.http_router = std::move(router);
  d.update_metric_targets();
  if (d.node) {
    // Our workers' routes go to the other nodes, and theirs are served here
    // (the router introduces itself to the node actor).
    caf::anon_send(d.http_router, atom::watch_v, d.node);
  }
  log::info("engine", "serving http triggers on http://", hc.host, ":", *port);
  return port;
}

registry_handle engine::registry() const {
  return caf::actor_cast<registry_handle>(impl_->registry);
}

queue_handle engine::queue(const std::string& name) const {
  auto q = impl_->queues->find(name);
  return q ? caf::actor_cast<queue_handle>(q->supervisor) : queue_handle{};
}

std::vector<std::string> engine::queue_names() const {
  std::vector<std::string> out;
  for (auto& kvp : impl_->queues->queues) out.push_back(kvp.first);
  std::sort(out.begin(), out.end());
  return out;
}

const engine_config& engine::config() const { return impl_->cfg; }

std::string engine::render_metrics() {
  auto& d = *impl_;
  metrics::targets t;
  {
    std::lock_guard<std::mutex> guard{d.metrics_mtx};
    t = d.metric_targets;
  }
  if (!t.sessions) t.sessions = d.session_metrics;
  return metrics::render(
    metrics::collect(d.sys, t, std::chrono::milliseconds(1000)));
}

void engine::stop(std::chrono::milliseconds grace) {
  auto& d = *impl_;
  if (d.stopped) return;
  d.stopped = true;
  d.progress->phase.store(engine_phase::stopping, std::memory_order_release);
  // A scrape from now on asks no actor: they are about to go.
  d.update_metric_targets();
  // 0. In a cluster, the other nodes drop this node's functions first.
  if (d.node) caf::anon_send(d.node, atom::bye_v);
  // 1. Queues stop dispatching and let running attempts finish, while the
  //    workers are still connected to answer them.
  {
    // Every queue stops dispatching at once (drain is idempotent), then each
    // gets what is left of the grace period for its running attempts.
    for (auto& kvp : d.queues->queues)
      caf::anon_send(kvp.second.supervisor, atom::drain_v);
    caf::scoped_actor self{d.sys};
    auto deadline = std::chrono::steady_clock::now() + grace;
    // What is left of the grace period (at least 1 ms: a request needs it).
    auto left = [deadline] {
      return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now()),
                      std::chrono::milliseconds(1));
    };
    for (auto& kvp : d.queues->queues) {
      self->request(kvp.second.supervisor, left(), atom::drain_v)
        .receive([] {},
                 [&](caf::error&) {
                   log::warn("engine", "queue ", kvp.first,
                             ": attempts still running after the grace "
                             "period are abandoned, not charged");
                 });
    }
    // Calls other nodes sent here (their queue attempts and sync calls on
    // our workers) get the rest of the grace period too.
    if (d.node) {
      self->request(d.node, left(), atom::drain_v)
        .receive([] {},
                 [](caf::error&) {
                   log::warn("engine", "calls of other nodes still running "
                                       "after the grace period are cut off");
                 });
    }
  }
  // 2. Closing the connections stops their session actors. The listener's
  //    I/O context may only go once they have let go of their connections.
  if (d.workers) {
    d.workers->stop();
    std::unique_lock<std::mutex> guard{d.sessions->mtx};
    if (!d.sessions->cv.wait_for(guard, std::chrono::seconds(5),
                                 [&] { return d.sessions->n == 0; })) {
      log::warn("engine", d.sessions->n,
                " worker sessions did not end within 5 s of the stop; the "
                "worker listener is left to the process exit");
      (void)d.workers.release();
    }
  }
  if (d.http) d.http->stop();
  if (d.http_router)
    caf::anon_send_exit(d.http_router, caf::exit_reason::user_shutdown);
  // 3. Everything else.
  for (auto& kvp : d.queues->queues)
    caf::anon_send_exit(kvp.second.supervisor, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(d.queue_functions, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(d.introspection, caf::exit_reason::user_shutdown);
  for (auto& kvp : d.functions)
    caf::anon_send_exit(kvp.second, caf::exit_reason::user_shutdown);
  d.functions.clear();
  if (d.store) {
    // Everything the queues sent is committed before the store stops.
    caf::scoped_actor self{d.sys};
    self->request(d.store, caf::infinite, atom::flush_v)
      .receive([] {},
               [](caf::error& err) {
                 log::error("engine",
                            "final commit failed: ", caf::to_string(err));
               });
    // The store file is closed (and unlocked) when stop() returns, so the
    // application can open it again at once.
    self->monitor(d.store);
    self->send_exit(d.store, caf::exit_reason::user_shutdown);
    self->receive([](const caf::down_msg&) {});
    d.store = nullptr;
  }
  // The admin listener answers /readyz "stopping" until here.
  if (d.admin) d.admin->stop();
  caf::anon_send_exit(d.registry, caf::exit_reason::user_shutdown);
  // 4. Leave the cluster: the listener closes (CAF keeps it open after the
  //    published actor ends), the links close and the peers see us go.
  if (d.node) stop_cluster_node(d.sys, d.node, d.cfg.cluster.port);
}

} // namespace troupe
