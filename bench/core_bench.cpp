// The queue runtime in-process: C++ handlers registered in the engine's
// registry (no WebSocket, no Node), a producer actor keeping a window of
// enqueues in flight. Prints one line per scenario: jobs/s from the first
// enqueue to the last handler run, and the p50/p99 latency from enqueue to
// the handler's first start.
//
//   build/bench/core_bench [--jobs N] [--only NAME] [--store in_memory|file_based|both]
//   build/bench/core_bench --recovery N # start-up with N stored jobs
//   build/bench/core_bench --memory N [--store ...] [--groups G]
//                              # RSS with N waiting 100-byte jobs (in_memory
//                              # and file_based; with G, in a FIFO queue of G
//                              # groups), then (file_based) the
//                              # recovery time of those N jobs. Run one store
//                              # per process for a clean figure: memory the
//                              # first run freed is reused by the second.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>

#include "actors/call_error.hpp"
#include "actors/job.hpp"
#include "actors/type_ids.hpp"
#include "base/log.hpp"
#include "base/uuid.hpp"
#include "cluster/node.hpp"
#include "store/job_store.hpp"
#include "troupe/engine.hpp"

using namespace troupe;
using clock_type = std::chrono::steady_clock;

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
           clock_type::now().time_since_epoch())
    .count();
}

/// A ~100-byte payload carrying the job's index, its enqueue time and group.
std::string payload(size_t i, int64_t t, size_t groups) {
  char buf[160];
  std::snprintf(buf, sizeof(buf), R"({"i":%zu,"t":%lld,"g":"g%zu","pad":"%s"})",
                i, static_cast<long long>(t), groups ? i % groups : 0,
                "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
  return buf;
}

/// Reads the number after `"key":` in a payload made by payload().
int64_t field(const std::string& json, const char* key) {
  auto pos = json.find(key);
  return pos == std::string::npos ? -1 : std::atoll(json.c_str() + pos + 4);
}

long rss_kib() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return -1;
}

/// The engine's message types and the node's scheduler settings.
void configure(caf::actor_system_config& cfg) {
  engine::configure(cfg);
  tune_scheduler(cfg, 2);
}

/// Polls queue `q` until it holds `n` jobs (waiting, running or delayed).
void wait_until_held(caf::actor_system& sys, const caf::actor& q, size_t n) {
  caf::scoped_actor self{sys};
  for (;;) {
    queue_stats st;
    self->request(q, caf::infinite, atom::stats_v)
      .receive([&](queue_stats& x) { st = x; }, [](caf::error&) {});
    if (st.waiting + st.in_flight + st.delayed >= n) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

struct scenario {
  std::string name;
  queue_type type = queue_type::standard;
  uint32_t concurrency = 10;
  size_t groups = 0;
  /// Every job whose index is a multiple of this fails its first attempt (0:
  /// none fail).
  size_t fail_every = 0;
  store_method store = store_method::in_memory;
};

/// What the handler actor records; shared with the main thread.
struct tally {
  explicit tally(size_t n) : first_start(n, -1), attempts(n) {}
  std::vector<int64_t> first_start; // ns latency, by job index
  std::vector<uint8_t> attempts;
  std::atomic<size_t> done{0};
  size_t total = 0;
  std::mutex mtx;
  std::condition_variable cv;
};

caf::behavior handler(caf::event_based_actor*, std::shared_ptr<tally> t,
                      size_t fail_every) {
  return {
    [t, fail_every](invoke& x) -> invoke_result {
      auto now = now_ns();
      auto i = static_cast<size_t>(field(x.data, "\"i\":"));
      if (t->first_start[i] < 0)
        t->first_start[i] = now - field(x.data, "\"t\":");
      if (fail_every && i % fail_every == 0 && t->attempts[i]++ == 0)
        return engine_error("invocation_failed", "first attempt fails");
      if (++t->done == t->total) {
        std::lock_guard<std::mutex> guard{t->mtx};
        t->cv.notify_all();
      }
      return invoke_result{true, "null"};
    },
  };
}

/// Enqueues jobs [0, n) keeping `window` requests in flight.
caf::behavior producer(caf::event_based_actor* self, caf::actor queue,
                       queue_config spec, size_t n, size_t window,
                       size_t groups) {
  auto next = std::make_shared<size_t>(0);
  auto send_one = std::make_shared<std::function<void()>>();
  *send_one = [=] {
    if (*next >= n) return;
    auto i = (*next)++;
    auto x = make_job(spec, 1 << 20, "bench::job",
                      payload(i, now_ns(), groups));
    self->request(queue, caf::infinite, std::move(*x))
      .then([=](const std::string&) { (*send_one)(); },
            [](caf::error& e) {
              std::fprintf(stderr, "enqueue failed: %s\n",
                           caf::to_string(e).c_str());
            });
  };
  for (size_t k = 0; k < window; ++k) (*send_one)();
  return {[](int) {}};
}

engine_config bench_config(const scenario& sc, const std::string& dir) {
  auto cfg = default_engine_config();
  queue_config q;
  q.name = "bench";
  q.type = sc.type;
  q.concurrency = sc.concurrency;
  q.max_retries = 3;
  q.backoff_ms = 1;
  if (sc.type == queue_type::fifo) q.message_group_field = "g";
  cfg.queue.queues = {q};
  cfg.queue.store = sc.store;
  cfg.queue.file_path = dir;
  return cfg;
}

void run(const scenario& sc, size_t n) {
  auto dir = std::filesystem::temp_directory_path()
             / ("troupe-core-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  caf::actor_system_config sys_cfg;
  configure(sys_cfg);
  caf::actor_system sys{sys_cfg};
  auto cfg = bench_config(sc, dir.string());
  auto eng = engine::start(sys, cfg);
  if (!eng) {
    std::fprintf(stderr, "%s\n", caf::to_string(eng.error()).c_str());
    std::exit(1);
  }
  auto t = std::make_shared<tally>(n);
  t->total = n;
  auto h = sys.spawn(handler, t, sc.fail_every);
  caf::anon_send((*eng)->registry(),
                 register_function{"bench::job", h, {}, {}});
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto t0 = clock_type::now();
  auto p = sys.spawn(producer,
                     caf::actor_cast<caf::actor>((*eng)->queue("bench")),
                     cfg.queue.queues[0], n, size_t{500}, sc.groups);
  {
    std::unique_lock<std::mutex> guard{t->mtx};
    t->cv.wait(guard, [&] { return t->done.load() == n; });
  }
  auto secs = std::chrono::duration<double>(clock_type::now() - t0).count();
  auto lat = t->first_start;
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double q) {
    return lat[static_cast<size_t>(q * (n - 1))] / 1e6;
  };
  std::printf("%-34s %-10s %9.0f jobs/s   p50 %8.3f ms   p99 %8.3f ms\n",
              sc.name.c_str(),
              sc.store == store_method::file_based ? "file_based" : "in_memory",
              n / secs, pct(0.5), pct(0.99));
  std::fflush(stdout);
  caf::anon_send_exit(p, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  (*eng)->stop(std::chrono::seconds(1));
  std::filesystem::remove_all(dir);
}

/// Holds every call it gets (never answers; keeps their promises in
/// `held`): with concurrency 1 one job is in flight and every other job
/// stays waiting.
caf::behavior holder(caf::event_based_actor* self,
                     std::shared_ptr<std::vector<caf::response_promise>> held) {
  return {
    [self, held](invoke&) -> caf::result<invoke_result> {
      held->push_back(self->make_response_promise());
      return held->back();
    },
  };
}

/// Enqueues `n` jobs that stay waiting; prints the RSS growth per job. With
/// `dir` (file_based), then restarts on the same store and times recovery.
void memory_and_recovery(size_t n, store_method method, size_t groups) {
  auto dir = std::filesystem::temp_directory_path()
             / ("troupe-core-bench-mem-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  scenario sc;
  sc.concurrency = 1;
  sc.store = method;
  if (groups > 0) {
    sc.type = queue_type::fifo;
    sc.groups = groups;
  }
  auto cfg = bench_config(sc, dir.string());
  cfg.queue.queues[0].timeout_ms = 3600000;
  auto before = rss_kib();
  {
    caf::actor_system_config sys_cfg;
    configure(sys_cfg);
    caf::actor_system sys{sys_cfg};
    auto eng = engine::start(sys, cfg);
    auto h = sys.spawn(holder,
                       std::make_shared<std::vector<caf::response_promise>>());
    caf::anon_send((*eng)->registry(),
                   register_function{"bench::job", h, {}, {}});
    auto q = caf::actor_cast<caf::actor>((*eng)->queue("bench"));
    auto t0 = clock_type::now();
    {
      caf::scoped_actor self{sys};
      size_t next = 0;
      size_t acked = 0;
      auto send = [&] {
        auto x = make_job(cfg.queue.queues[0], 1 << 20, "bench::job",
                          payload(next++, 0, groups));
        self->send(q, std::move(*x));
      };
      while (next < std::min<size_t>(n, 500)) send();
      while (acked < n) {
        self->receive([&](const std::string&) {
          ++acked;
          if (next < n) send();
        });
      }
    }
    auto secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto after = rss_kib();
    auto kind = groups > 0 ? "fifo, " + std::to_string(groups) + " groups, "
                           : std::string{"standard, "};
    std::printf("memory: %zu waiting jobs (100-byte payloads, %s%s): RSS "
                "%+.0f MiB (%.0f bytes per job), enqueued in %.1f s\n",
                n, kind.c_str(),
                method == store_method::file_based ? "file_based" : "in_memory",
                (after - before) / 1024.0, (after - before) * 1024.0 / n, secs);
    std::fflush(stdout);
    caf::anon_send_exit(h, caf::exit_reason::kill);
    (*eng)->stop(std::chrono::milliseconds(100));
  }
  if (method == store_method::file_based) {
    caf::actor_system_config sys_cfg;
    configure(sys_cfg);
    caf::actor_system sys{sys_cfg};
    auto t0 = clock_type::now();
    auto eng = engine::start(sys, cfg);
    auto q = caf::actor_cast<caf::actor>((*eng)->queue("bench"));
    wait_until_held(sys, q, n);
    auto secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    std::printf("recovery: %zu stored jobs back in their queue %.2f s after "
                "the engine started\n",
                n, secs);
    (*eng)->stop(std::chrono::milliseconds(100));
  }
  std::filesystem::remove_all(dir);
}

/// Writes `n` waiting jobs straight into a SQLite store, then times how
/// long engine::start and the queue take until every job is back.
void recovery(size_t n) {
  auto dir = std::filesystem::temp_directory_path()
             / ("troupe-core-bench-rec-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  {
    auto db = store::open_sqlite_store(dir.string());
    if (!db) {
      std::fprintf(stderr, "%s\n", caf::to_string(db.error()).c_str());
      std::exit(1);
    }
    std::vector<store::store_write> batch;
    for (size_t i = 0; i < n; ++i) {
      store::store_write w;
      w.op = store::store_write::kind::put;
      w.job.id = make_uuid();
      w.job.queue = "bench";
      w.job.function_id = "bench::job";
      w.job.payload = payload(i, 0, 0);
      batch.push_back(std::move(w));
      if (batch.size() == 5000 || i + 1 == n) {
        if (auto r = (*db)->apply(batch); !r) std::exit(1);
        batch.clear();
      }
    }
  }
  scenario sc;
  sc.concurrency = 1;
  sc.store = store_method::file_based;
  auto cfg = bench_config(sc, dir.string());
  caf::actor_system_config sys_cfg;
  configure(sys_cfg);
  caf::actor_system sys{sys_cfg};
  auto t0 = clock_type::now();
  auto eng = engine::start(sys, cfg);
  if (!eng) std::exit(1);
  auto t1 = clock_type::now();
  auto q = caf::actor_cast<caf::actor>((*eng)->queue("bench"));
  wait_until_held(sys, q, n);
  auto t2 = clock_type::now();
  auto secs = [](auto d) { return std::chrono::duration<double>(d).count(); };
  std::printf("recovery: %zu stored jobs: engine::start (open + load) %.2f s, "
              "back in their queue %.2f s after start\n",
              n, secs(t1 - t0), secs(t2 - t0));
  (*eng)->stop(std::chrono::milliseconds(100));
  std::filesystem::remove_all(dir);
}

} // namespace

int main(int argc, char** argv) {
  log::set_level(getenv("TROUPE_BENCH_LOG") ? log::level::info
                                            : log::level::warn);
  size_t n = 200000;
  std::string only;
  std::string stores = "both";
  size_t memory = 0;
  size_t groups = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    if (k == "--jobs")
      n = std::strtoull(argv[i + 1], nullptr, 10);
    else if (k == "--only")
      only = argv[i + 1];
    else if (k == "--store")
      stores = argv[i + 1];
    else if (k == "--recovery") {
      recovery(std::strtoull(argv[i + 1], nullptr, 10));
      return 0;
    } else if (k == "--memory")
      memory = std::strtoull(argv[i + 1], nullptr, 10);
    else if (k == "--groups")
      groups = std::strtoull(argv[i + 1], nullptr, 10);
  }
  auto wanted = [&](store_method method) {
    return stores == "both"
           || stores
                == (method == store_method::in_memory ? "in_memory"
                                                      : "file_based");
  };
  if (memory > 0) {
    for (auto method : {store_method::in_memory, store_method::file_based})
      if (wanted(method)) memory_and_recovery(memory, method, groups);
    return 0;
  }
  std::vector<scenario> all{
    {"standard, concurrency 10", queue_type::standard, 10, 0, 0},
    {"standard, concurrency 100", queue_type::standard, 100, 0, 0},
    {"fifo, 1000 groups, concurrency 100", queue_type::fifo, 100, 1000, 0},
    {"retry mix: 1 in 4 fails once", queue_type::standard, 100, 0, 4},
  };
  for (auto method : {store_method::in_memory, store_method::file_based}) {
    if (!wanted(method)) continue;
    for (auto sc : all) {
      if (!only.empty() && sc.name.find(only) == std::string::npos) continue;
      sc.store = method;
      run(sc, n);
    }
  }
  return 0;
}
