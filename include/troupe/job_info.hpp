// What the engine tells about its jobs beyond the job itself: where a job
// is (its state), the attempts this engine process saw, pages of jobs per
// state and the groups of a FIFO queue. Queue supervisors answer these
// (troupe/handles.hpp: lookup, jobs, groups); the queue functions
// engine::queue::job, engine::queue::jobs and engine::queue::groups render
// them as JSON (README: Queues). Plain structs with inspect(); every field
// has a default.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "troupe/job.hpp"

namespace troupe {

/// Where a job is. Values are stable.
enum class job_status : uint8_t {
  /// Ready to run, behind others (or, FIFO, behind its group's head).
  waiting = 0,
  /// An attempt is running.
  in_flight = 1,
  /// Waiting for its retry timer (next_attempt_at).
  delayed = 2,
  /// In the dead-letter queue.
  dead = 3,
  /// FIFO queues in a cluster: kept on this node for a group that another
  /// node owns, until it is handed over.
  held = 4,
};

/// "waiting", "in_flight", "delayed", "dead", "held".
inline std::string_view to_string(job_status x) {
  switch (x) {
    case job_status::waiting: return "waiting";
    case job_status::in_flight: return "in_flight";
    case job_status::delayed: return "delayed";
    case job_status::dead: return "dead";
    case job_status::held: return "held";
  }
  return "unknown";
}

/// Reads the names to_string() writes. Returns false for any other text.
inline bool from_string(std::string_view text, job_status& out) {
  for (auto x : {job_status::waiting, job_status::in_flight,
                 job_status::delayed, job_status::dead, job_status::held})
    if (text == to_string(x)) {
      out = x;
      return true;
    }
  return false;
}

/// One attempt of a job, as the engine process that ran it saw it.
struct attempt_record {
  /// 1 for the first attempt (attempts before it + 1). An attempt not
  /// charged (a missing function during the start-up grace period) repeats
  /// its number; the numbers start at 1 again after a redrive.
  uint32_t number = 0;
  /// Milliseconds since the epoch.
  int64_t started_at = 0;
  /// -1 while the attempt runs.
  int64_t duration_ms = -1;
  bool ok = false;
  /// The error body `{code, message, ...}` (raw JSON) of a failed attempt;
  /// empty when it succeeded or still runs.
  std::string error = {};
};

/// A job and where it is.
struct job_info {
  /// The job. Its payload is empty in the entries of a job_page (see
  /// payload_size).
  troupe::job job = {};
  job_status state = job_status::waiting;
  /// The queue's max_retries as it applies (0 counts as 1).
  uint32_t max_attempts = 0;
  /// Delayed jobs: when the next attempt is due (ms since the epoch); 0
  /// otherwise.
  int64_t next_attempt_at = 0;
  uint64_t payload_size = 0;
  /// Lookups only: the attempts this engine process saw, oldest first, at
  /// most max_attempt_records. Empty after a restart.
  std::vector<attempt_record> attempts_log = {};
};

/// How many attempts a job's attempts_log keeps (the newest).
constexpr size_t max_attempt_records = 20;

/// One page of a queue's jobs in one state.
struct job_page {
  std::string queue = {};
  job_status state = job_status::waiting;
  /// Jobs in that state, all pages together.
  uint64_t total = 0;
  uint64_t offset = 0;
  uint64_t limit = 0;
  /// Ordered: waiting, in_flight and held by enqueued_at (a FIFO group's
  /// jobs in their order), delayed by next_attempt_at, dead newest first.
  std::vector<job_info> jobs = {};
};

/// One message group of a FIFO queue that has jobs on this node.
struct group_info {
  std::string group = {};
  /// Jobs of the group here, its head included.
  uint64_t jobs = 0;
  /// The head's attempt is running.
  bool running = false;
  /// The head waits for its retry timer; the rest of the group waits too.
  bool blocked_by_retry = false;
  /// When blocked: when the head's next attempt is due (ms since the
  /// epoch); 0 otherwise.
  int64_t next_attempt_at = 0;
  /// The job at the group's front (the next or running one).
  std::string head_id = {};
  /// In a cluster: another node owns the group; its jobs wait here.
  bool held = false;
};

/// One page of a FIFO queue's groups: blocked groups first (soonest retry
/// first), then running ones, then the rest, each by name.
struct group_page {
  std::string queue = {};
  uint64_t total = 0;
  uint64_t offset = 0;
  uint64_t limit = 0;
  std::vector<group_info> groups = {};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attempt_record& x) {
  return f(caf::meta::type_name("troupe::attempt_record"), x.number,
           x.started_at, x.duration_ms, x.ok, x.error);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_info& x) {
  return f(caf::meta::type_name("troupe::job_info"), x.job, x.state,
           x.max_attempts, x.next_attempt_at, x.payload_size, x.attempts_log);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_page& x) {
  return f(caf::meta::type_name("troupe::job_page"), x.queue, x.state, x.total,
           x.offset, x.limit, x.jobs);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_info& x) {
  return f(caf::meta::type_name("troupe::group_info"), x.group, x.jobs,
           x.running, x.blocked_by_retry, x.next_attempt_at, x.head_id, x.held);
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, group_page& x) {
  return f(caf::meta::type_name("troupe::group_page"), x.queue, x.total,
           x.offset, x.limit, x.groups);
}

} // namespace troupe
