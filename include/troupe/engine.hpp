// Embedding troupe in a CAF application. An `engine` runs inside the
// application's own caf::actor_system: it spawns the registry and one
// supervisor per named queue from an engine_config, serves C++ functions,
// takes calls and enqueues from C++, and on request opens the worker
// WebSocket listener (for iii-sdk workers in any language), the REST API
// for `http` triggers and the admin listener (health checks, a JSON API,
// the dashboard). The `troupe` binary is a thin main over this class.
//
//   caf::actor_system_config cfg;
//   troupe::engine::configure(cfg);          // message types, error category
//   caf::actor_system sys{cfg};
//   auto eng = troupe::engine::start(sys, troupe::default_engine_config());
//   if (!eng) ...                            // e.g. the store cannot open
//   (*eng)->add_function("math::double", [](const troupe::invoke& x) {
//     return troupe::invoke_result::value(...);
//   });
//   auto receipt = (*eng)->enqueue("default", "math::double", "{\"n\":2}");
//   auto port = (*eng)->listen_workers();    // caf::expected<uint16_t>
//   ...
//   (*eng)->stop();                          // before sys goes away
//
// Threads: the blocking calls below (call, enqueue, stats, ...) wait on the
// calling thread and must not be made from inside an actor's handler (that
// would block a scheduler thread); actors use the typed handles instead
// (registry(), queue()). Everything else returns at once. An engine object
// is used from one thread at a time.
//
// This header and the ones it includes are the whole public API: no Beast,
// nlohmann, yaml-cpp or caf/io.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/error.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>
#include <caf/result.hpp>

#include "troupe/config.hpp"
#include "troupe/error.hpp"
#include "troupe/handles.hpp"
#include "troupe/job.hpp"
#include "troupe/job_info.hpp"
#include "troupe/messages.hpp"

namespace troupe {

/// A C++ function that answers at once: it gets the call (payload and
/// metadata as JSON text) and returns the result or an error. It runs in an
/// actor of the engine, one call at a time per function; an exception it
/// throws becomes an `invocation_failed` error.
using function_fn = std::function<invoke_result(const invoke&)>;

/// A C++ function that may answer later: it runs in an actor of the engine
/// (`self`) and returns the answer, or a promise made with
/// `self->make_response_promise<invoke_result>()` that it delivers later
/// (after its own requests, timers, ...). It must not block.
using async_function_fn = std::function<caf::result<invoke_result>(
  caf::event_based_actor* self, invoke& call)>;

/// How a C++ function is served.
struct function_options {
  /// Shown by introspection; free text.
  std::string description;
  /// JSON text or empty.
  std::string metadata;
  /// The function blocks (I/O, long computation): it gets a thread of its
  /// own instead of running on the actor scheduler. Ignored for actors.
  bool blocking = false;
};

/// Where an engine is in its life: what the admin listener's /readyz and
/// /api/status report.
enum class engine_phase : uint8_t {
  /// open() returned; recover() has not finished, or the worker listener
  /// is not open yet.
  starting,
  /// recover() is loading the stored jobs (loaded of total so far).
  recovering,
  /// Recovered, and the worker listener is open.
  ready,
  /// stop() was called.
  stopping,
};

/// "starting", "recovering", "ready", "stopping".
inline const char* to_string(engine_phase x) {
  switch (x) {
    case engine_phase::starting: return "starting";
    case engine_phase::recovering: return "recovering";
    case engine_phase::ready: return "ready";
    case engine_phase::stopping: return "stopping";
  }
  return "unknown";
}

struct engine_status {
  engine_phase phase = engine_phase::starting;
  /// Stored jobs loaded so far, and how many the store holds (file_based;
  /// both 0 with in_memory). Final once the phase is past recovering.
  uint64_t loaded = 0;
  uint64_t total = 0;
};

class engine {
public:
  /// Adds troupe's message types and error category to `cfg`. Call it
  /// before constructing the actor_system the engine will run in.
  static void configure(caf::actor_system_config& cfg);

  /// As above, plus what `cfg`'s `troupe-cluster` needs: CAF's io module
  /// (middleman) with troupe's application id and the link heartbeat. Use
  /// this one for an engine that joins a cluster.
  static void configure(caf::actor_system_config& sys_cfg,
                        const engine_config& cfg);

  /// Opens the job store the configuration names (the SQLite store for
  /// `file_based`), recovers its jobs and starts the engine: the registry,
  /// the queue functions (`engine::queue::stats`, ...) and one supervisor
  /// per queue. No listener is opened yet.
  /// REQUIRES: `sys` was configured with configure() and outlives the
  /// engine; `cfg` is valid (load_engine_config checked it).
  /// With `troupe-cluster`, it also publishes the node on the cluster port
  /// and starts joining the seeds (REQUIRES configure(sys_cfg, cfg)).
  /// Errors: errc::store_failure when the store cannot be opened or read
  /// (unwritable, corrupted, newer schema, in use by another engine);
  /// errc::bad_config when the cluster port cannot be opened.
  static caf::expected<std::unique_ptr<engine>> start(caf::actor_system& sys,
                                                      engine_config cfg);

  /// start() in two steps, for an application that wants the admin
  /// listener to answer while a large store is recovered: open() spawns the
  /// registry and the engine's own functions, but no queue and no store;
  /// then listen_admin() may be called (its /readyz says "starting", then
  /// "recovering" with the figures); then recover() does the rest of what
  /// start() does. Until recover() succeeded, only listen_admin(), status(),
  /// config() and stop() may be called.
  static caf::expected<std::unique_ptr<engine>> open(caf::actor_system& sys,
                                                     engine_config cfg);

  /// The second step after open(): opens the store (file_based), loads its
  /// jobs (logging `recovering: N of M jobs loaded` every second while it
  /// runs), spawns the queues and, with `troupe-cluster`, starts the node.
  /// Errors as start(); errc::bad_config when called twice.
  caf::error recover();

  /// Where the engine is (thread-safe; any thread, any time).
  engine_status status() const;

  /// Only open() can make one.
  struct boot;

  /// Used by open(), which is the way to make an engine.
  engine(caf::actor_system& sys, engine_config cfg, std::unique_ptr<boot> b);

  /// Stops the engine (stop() with its default grace) if still running.
  ~engine();

  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  // -- listeners --------------------------------------------------------------

  /// Opens the worker WebSocket listener (`iii-worker-manager` in the
  /// config) on its own I/O thread. Returns the bound port (useful when the
  /// config says port 0). Errors: errc::bad_config when it is open already
  /// or the address cannot be bound.
  caf::expected<uint16_t> listen_workers();

  /// Opens the REST API listener (`iii-http`) and serves workers' `http`
  /// triggers on it. Returns the bound port. Errors as listen_workers().
  caf::expected<uint16_t> listen_http();

  /// Opens the admin listener (`troupe-admin` in the config: health checks,
  /// the JSON API under /api/, the dashboard) on its own I/O thread; it may
  /// be opened right after open(), before recover(). Returns the bound
  /// port. Errors: errc::bad_config when it is open already or the address
  /// cannot be bound. The API answers through the engine's functions
  /// (engine::queue::*, engine::workers::list), so in a cluster it answers
  /// for every node.
  caf::expected<uint16_t> listen_admin();

  /// What the admin listener answers at /metrics: Prometheus text made by
  /// `render` (called on the listener's I/O thread). Without it /metrics is
  /// 404. Takes effect for a listener opened afterwards.
  void set_metrics_renderer(std::function<std::string()> render);

  // -- C++ functions ----------------------------------------------------------

  /// Serves function `id` with `fn` from now on, beside any other provider
  /// (workers serving the same id); calls are spread over providers, local
  /// ones first. It replaces this engine's own earlier C++ function for
  /// `id`, if any. Workers, queues, HTTP triggers and other C++ code reach
  /// it like any function.
  /// Errors: errc::bad_config when `id` is empty or reserved (`engine::*`,
  /// `iii::*`).
  caf::error add_function(const std::string& id, function_fn fn,
                          function_options opts = {});

  /// As above, for a function that may answer later.
  caf::error add_async_function(const std::string& id, async_function_fn fn,
                                function_options opts = {});

  /// As above, served by an actor of the application: it receives the
  /// invokes for `id` that come its way and must answer each. It serves `id`
  /// until it terminates; a later add_function for `id` does not replace it.
  caf::error add_function(const std::string& id, function_handle handler,
                          function_options opts = {});

  /// Stops serving `id` with this engine's C++ function, if any (workers
  /// serving `id` keep it). Unknown ids are ignored.
  void remove_function(const std::string& id);

  // -- calls from C++ (blocking) ----------------------------------------------

  /// Calls function `function_id` with `payload` (JSON text) and waits for
  /// its answer, at most `timeout`. Returns the function's result or error
  /// body: `function_not_found`, `invocation_stopped` when its worker went
  /// away, `timeout`, or whatever the function returned.
  invoke_result call(std::string function_id, std::string payload = "null",
                     std::chrono::milliseconds timeout
                     = std::chrono::seconds(30),
                     std::string metadata = {});

  /// Calls function `function_id` without waiting for, or getting, an
  /// answer (TriggerAction.Void).
  void call_void(std::string function_id, std::string payload = "null",
                 std::string metadata = {});

  /// Enqueues a job for `function_id` on queue `queue` and waits for the
  /// receipt id (with `file_based`, until the job is on disk). The function
  /// need not be registered yet. Errors: errc::enqueue_rejected with the
  /// text a worker would get as its `enqueue_error` ("Queue 'Q' not found",
  /// a FIFO group field missing or null, a payload over the limit),
  /// errc::shutting_down, errc::store_failure.
  caf::expected<std::string> enqueue(const std::string& queue,
                                     std::string function_id,
                                     std::string payload);

  // -- queue functions (blocking) ---------------------------------------------
  // What engine::queue::stats and the DLQ functions answer workers. Errors:
  // errc::unknown_queue ("Queue 'Q' not found").

  /// The counters of queue `queue`.
  caf::expected<queue_stats> stats(const std::string& queue);

  /// The counters of every queue, by name.
  caf::expected<std::vector<queue_stats>> stats();

  /// Dead jobs of `queue`, newest first, from `offset`, at most `limit`
  /// (capped at 500 like a worker's).
  caf::expected<std::vector<job>> dead_letters(const std::string& queue,
                                               uint64_t offset = 0,
                                               uint64_t limit = 50);

  /// Every dead job of `queue` back to it, attempts reset. Returns how many.
  caf::expected<uint64_t> redrive(const std::string& queue);

  /// Dead job `id` back to `queue`. Returns 1, or 0 when it is not there.
  caf::expected<uint64_t> redrive(const std::string& queue,
                                  const std::string& id);

  /// Drops dead job `id` of `queue`. Returns 1, or 0 when it is not there.
  caf::expected<uint64_t> discard(const std::string& queue,
                                  const std::string& id);

  // -- queue operations (blocking; this engine's queues only, also in a
  // cluster, where the engine::queue::* functions answer for every node) --

  /// Job `id` in any state, with the attempts this process saw; in queue
  /// `queue`, or in any queue when it is empty. Errors: errc::job_not_found,
  /// errc::unknown_queue.
  caf::expected<job_info> find_job(const std::string& id,
                                   const std::string& queue = {});

  /// One page of the jobs of `queue` in `state`, without payloads; `limit`
  /// is capped at 500 like a worker's.
  caf::expected<job_page> jobs(const std::string& queue, job_status state,
                               uint64_t offset = 0, uint64_t limit = 50);

  /// One page of the groups of FIFO queue `queue`, blocked groups first;
  /// `limit` is capped at 500. Errors: errc::invalid_argument for a
  /// standard queue.
  caf::expected<group_page> groups(const std::string& queue,
                                   uint64_t offset = 0, uint64_t limit = 50);

  /// Stops `queue` starting attempts (running ones finish; enqueues are
  /// still accepted); with `file_based` it stays paused across restarts.
  /// Returns true (paused). Errors: errc::store_failure when the state could
  /// not be stored (the queue is paused anyway).
  caf::expected<bool> pause(const std::string& queue);

  /// Undoes pause(). Returns false (not paused).
  caf::expected<bool> resume(const std::string& queue);

  /// Delayed job `id` of `queue` becomes waiting at once. Returns 1, or 0
  /// when no delayed job has that id.
  caf::expected<uint64_t> retry_now(const std::string& queue,
                                    const std::string& id);

  // -- handles for actors ---------------------------------------------------

  /// The registry: actors send it `invoke` to call any function.
  registry_handle registry() const;

  /// The supervisor of queue `name`, or an invalid handle.
  queue_handle queue(const std::string& name) const;

  /// The names of the configured queues, sorted.
  std::vector<std::string> queue_names() const;

  /// The configuration the engine runs with.
  const engine_config& config() const;

  // -- metrics ----------------------------------------------------------------

  /// This engine's metrics (README: Metrics) in Prometheus text format
  /// 0.0.4: asks its queues, store and HTTP router for their counters
  /// (waiting at most about a second for them) and renders them. Safe from
  /// any thread that is not one of the engine's actors.
  std::string render_metrics();

  // -- stopping ---------------------------------------------------------------

  /// Stops gracefully (status: stopping): queues take no new jobs and dispatch no more,
  /// running attempts get up to `grace` to finish (an unfinished one is not
  /// charged), then the listeners close and every actor of the engine
  /// stops, C++ functions included. Idempotent; the engine answers nothing
  /// afterwards.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace troupe
