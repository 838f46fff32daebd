// What the engine counts for /metrics: fixed-bucket histograms, the label
// cap, and the snapshots an actor hands out when asked (atom::metrics).
// Every actor owns its counters as plain integers and touches them only in
// its own handlers, so nothing here locks; the one exception is
// session_metrics (sessions come and go, the counts must outlive them),
// whose counters are relaxed atomics. The renderer (metrics/) turns a
// metrics_snapshot into Prometheus text.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace troupe::metrics {

// -- histograms ---------------------------------------------------------------

/// A histogram's upper bounds in base units (seconds, or a count), in
/// increasing order; +Inf is implied.
struct bounds {
  const double* values;
  size_t size;
};

/// Enqueue (or ready) to dispatch.
extern const bounds wait_seconds;
/// Dispatch to result.
extern const bounds attempt_seconds;
/// Enqueue to the final outcome, backoff included.
extern const bounds completion_seconds;
/// One store commit (one transaction, one fsync).
extern const bounds commit_seconds;
/// Writes in one store commit.
extern const bounds commit_writes;

/// The counts of one histogram, per bucket (not cumulative; the last one
/// is +Inf), and the sum of what was observed.
struct histogram {
  std::vector<uint64_t> counts;
  double sum = 0;

  histogram() = default;
  explicit histogram(const bounds& b) : counts(b.size + 1, 0) {}

  /// Counts `v` in the first bucket whose bound is >= v.
  // REQUIRES: counts.size() == b.size + 1.
  void observe(const bounds& b, double v) {
    size_t i = 0;
    while (i < b.size && v > b.values[i]) ++i;
    ++counts[i];
    sum += v;
  }

  uint64_t count() const {
    uint64_t n = 0;
    for (auto c : counts) n += c;
    return n;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, histogram& x) {
  return f(caf::meta::type_name("troupe::metrics::histogram"), x.counts,
           x.sum);
}

// -- the label cap ------------------------------------------------------------

/// The value that stands for every label value past the cap.
constexpr const char* other_label = "_other";

/// How many distinct function ids (or routes) one actor keeps its own
/// series for.
constexpr size_t default_label_cap = 100;

/// Maps label values (function ids, routes) to slots: the first `cap`
/// distinct values get their own slot, every later one shares the slot of
/// `_other`, so that a flood of ids cannot grow the series without bound.
/// Slot numbers are dense from 0; the caller keeps its per-slot data in a
/// vector and sizes it by size().
class label_cap {
public:
  explicit label_cap(size_t cap = default_label_cap) : cap_(cap) {}

  /// The slot of `value`, taking a new one while under the cap.
  size_t slot(const std::string& value) {
    auto i = slots_.find(value);
    if (i != slots_.end()) return i->second;
    if (names_.size() < cap_) return add(value);
    if (other_ == npos) other_ = add(other_label);
    return other_;
  }

  /// The label value of slot `i`.
  const std::string& name(size_t i) const { return names_[i]; }

  size_t size() const { return names_.size(); }

private:
  static constexpr size_t npos = static_cast<size_t>(-1);

  size_t add(const std::string& value) {
    names_.push_back(value);
    return slots_[value] = names_.size() - 1;
  }

  size_t cap_;
  size_t other_ = npos;
  std::unordered_map<std::string, size_t> slots_;
  std::vector<std::string> names_;
};

// -- snapshots ----------------------------------------------------------------

/// How an attempt of a job ended; the `result` label.
enum class attempt_result : uint8_t { ok, error, timeout, stopped, not_found };
constexpr size_t attempt_results = 5;
const char* to_label(attempt_result x);

/// Classifies an attempt's error body by its `code` ("timeout",
/// "invocation_stopped", "function_not_found"; anything else is an error).
attempt_result classify_error(const std::string& code);

/// One function's attempts in one queue.
struct function_attempts {
  std::string function;
  /// Indexed by attempt_result.
  std::vector<uint64_t> results = std::vector<uint64_t>(attempt_results, 0);
  histogram duration{attempt_seconds};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, function_attempts& x) {
  return f(caf::meta::type_name("troupe::metrics::function_attempts"),
           x.function, x.results, x.duration);
}

/// One queue as its supervisor sees it. Reply to (metrics).
struct queue_metrics {
  std::string queue;
  std::string type;        // standard | fifo
  std::string group_field; // fifo only
  uint64_t concurrency = 0;
  bool paused = false;
  uint64_t waiting = 0;
  uint64_t in_flight = 0;
  uint64_t delayed = 0;
  uint64_t dead = 0;
  /// The oldest waiting job's enqueue time (ms since the epoch); 0: none.
  int64_t oldest_waiting_ms = 0;
  uint64_t enqueued = 0;
  uint64_t dead_lettered = 0;
  uint64_t redriven = 0;
  uint64_t discarded = 0;
  std::vector<function_attempts> functions;
  histogram wait{wait_seconds};
  histogram succeeded{completion_seconds};
  histogram dead_after{completion_seconds};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, queue_metrics& x) {
  return f(caf::meta::type_name("troupe::metrics::queue_metrics"), x.queue,
           x.type, x.group_field, x.concurrency, x.paused, x.waiting,
           x.in_flight, x.delayed, x.dead, x.oldest_waiting_ms, x.enqueued,
           x.dead_lettered, x.redriven, x.discarded, x.functions, x.wait,
           x.succeeded, x.dead_after);
}

/// The store actor's commits. Reply to (metrics).
struct store_metrics {
  uint64_t commits = 0;
  uint64_t writes = 0;
  uint64_t failed = 0;
  histogram writes_per_commit{commit_writes};
  histogram duration{commit_seconds};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, store_metrics& x) {
  return f(caf::meta::type_name("troupe::metrics::store_metrics"), x.commits,
           x.writes, x.failed, x.writes_per_commit, x.duration);
}

/// Requests the HTTP router answered with one status on one route.
struct http_count {
  std::string method;
  /// The route's api_path pattern; "" when no route matched.
  std::string route;
  uint32_t status = 0;
  uint64_t count = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, http_count& x) {
  return f(caf::meta::type_name("troupe::metrics::http_count"), x.method,
           x.route, x.status, x.count);
}

/// What a worker's trigger() was: the `kind` label.
enum class call_kind : uint8_t { sync, void_call, enqueue };
constexpr size_t call_kinds = 3;
/// How it ended: the `outcome` label (a Void call is only `sent`).
enum class call_outcome : uint8_t {
  ok,
  error,
  timeout,
  not_found,
  stopped,
  sent
};
constexpr size_t call_outcomes = 6;
const char* to_label(call_kind x);
const char* to_label(call_outcome x);

/// Classifies a failed call by its error body's `code`.
call_outcome classify_call(const std::string& code);

/// Counted by every session of one engine (shared; relaxed atomics: a
/// session only adds, a scrape only reads).
struct session_metrics {
  std::atomic<uint64_t> connected{0};
  std::atomic<uint64_t> connections{0};
  std::array<std::array<std::atomic<uint64_t>, call_outcomes>, call_kinds>
    calls{};

  void count_call(call_kind k, call_outcome o) {
    calls[static_cast<size_t>(k)][static_cast<size_t>(o)].fetch_add(
      1, std::memory_order_relaxed);
  }
};

/// Everything one scrape renders.
struct snapshot {
  std::string version;
  std::vector<queue_metrics> queues;
  /// Set only with a durable store.
  bool has_store = false;
  store_metrics store;
  /// Set only with the REST API (iii-http).
  bool has_http = false;
  std::vector<http_count> http;
  uint64_t workers_connected = 0;
  uint64_t worker_connections = 0;
  /// [kind][outcome].
  std::array<std::array<uint64_t, call_outcomes>, call_kinds> calls{};
  /// The scrape's wall-clock time (ms since the epoch): the oldest waiting
  /// timestamp of a queue with nothing waiting.
  int64_t now_ms = 0;
};

} // namespace troupe::metrics
