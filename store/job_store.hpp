// The job store: what must survive a crash (README: The durable store),
// behind one interface. The SQLite store backs `file_based` queues; the
// memory store is the reference it is tested against (`in_memory` queues use
// no store at all). The engine reads every job once at start-up
// (for_each_job), before it spawns the store actor; from then on the store
// actor is the only user: it batches the writes of all queues into one
// apply() per commit.
// Not thread-safe: one caller at a time (any thread). Nothing here throws;
// failures are caf::error values with errc::store_failure and a message.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>

#include "troupe/job.hpp"

namespace troupe::store {

/// Where a stored job is. A job in flight stays `waiting` (or `delayed`, its
/// due_at past, if it failed before), marked `running` by a `start` write, so
/// after a restart it runs again with its attempts kept (at-least-once), and
/// the queue knows that a crash cut its attempt off (stored_job::crashes).
enum class job_state : uint8_t {
  waiting = 0,
  /// Failed at least once; runs again at `due_at`.
  delayed = 1,
  /// In its queue's DLQ.
  dead = 2,
};

std::string to_string(job_state x);

/// One job as the store keeps it: the job plus where it is in the store.
struct stored_job {
  /// Its id (the receipt id) is unique in the store.
  troupe::job job;
  /// Enqueue order, assigned by the store; see job_store::apply.
  uint64_t seq = 0;
  job_state state = job_state::waiting;
  /// When a delayed job runs again (ms since the epoch); 0 otherwise.
  int64_t due_at = 0;
  /// An attempt had started (a `start` write) and had not ended (no retry,
  /// dead, ack or crashed write since) when the store was last written:
  /// loaded as true, the engine stopped or crashed while it ran.
  bool running = false;
  /// Attempts of the job's current attempt number that an engine crash cut
  /// off (`crashed` writes since the last retry, dead or requeue).
  uint32_t crashes = 0;
};

/// One change to the store; the store actor receives these from the queues
/// (with atom::persist). Every kind but `put` finds its job by `job.id` and
/// reads only the fields named below; a write to an unknown id is a no-op,
/// not an error.
struct store_write {
  enum class kind : uint8_t {
    /// Inserts `job` (every field, payload byte for byte) and `due_at` as
    /// waiting with a new seq. An id already stored fails the whole batch.
    put,
    /// Deletes the job: it succeeded.
    ack,
    /// Sets attempts, last_error, `due_at` and state delayed; not running,
    /// crashes 0.
    retry,
    /// Sets attempts, last_error, failed_at and state dead; not running,
    /// crashes 0.
    dead,
    /// Back to the end of its queue (and group): a new seq, state waiting,
    /// attempts 0, due_at 0, last_error empty, failed_at 0, not running,
    /// crashes 0.
    requeue,
    /// Deletes the job: discarded from the DLQ.
    discard,
    /// Like put, but a no-op when the id is stored already: a job another
    /// node hands over, which may have been handed over before (the sender
    /// crashed before it deleted its copy). Appended last so that stored
    /// kinds keep their values.
    adopt,
    /// Queue `job.queue` is paused (engine::queue::pause); it stays paused
    /// across restarts until a resume. Touches no job.
    pause,
    /// Queue `job.queue` is no longer paused.
    resume,
    /// An attempt of the job starts: marks it running until the next
    /// retry, dead, ack or crashed write.
    start,
    /// The job's attempt was cut off by a crash (it was loaded running):
    /// crashes + 1, no longer running.
    crashed,
  };
  kind op = kind::put;
  troupe::job job;
  /// For a retry: when the job runs again (ms since the epoch).
  int64_t due_at = 0;
};

/// The write of kind `op` to `x`. A put carries all of `x`; the other kinds
/// carry only the fields they read, so they never copy the payload.
store_write make_write(store_write::kind op, const troupe::job& x,
                       int64_t due_at = 0);

/// The write that pauses (or resumes) queue `queue`.
store_write make_pause_write(const std::string& queue, bool paused);

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, store_write& x) {
  return f(caf::meta::type_name("troupe::store::store_write"), x.op, x.job,
           x.due_at);
}

std::string to_string(store_write::kind x);

/// Number of stored jobs in each state.
struct state_counts {
  uint64_t waiting = 0;
  uint64_t delayed = 0;
  uint64_t dead = 0;
};

class job_store {
public:
  virtual ~job_store();

  /// Applies `batch` in order, all or nothing: on success the writes are
  /// durable when this returns (SQLite: one transaction, one fsync), except
  /// that a batch of only starts, crashed marks, acks, retries and dead
  /// moves may be kept through a crash of the process but not yet through a
  /// power cut (no fsync; the next commit with one covers it); on error
  /// none of them happened. Each put and each requeue takes the next seq, in
  /// batch order; seqs only grow, also across restarts, and are never
  /// reused (there may be gaps). Returns the seq of each put and adopt, in
  /// order (an adopt of a stored id still takes one).
  virtual caf::expected<std::vector<uint64_t>>
  apply(const std::vector<store_write>& batch) = 0;

  /// Calls `each` with every stored job in seq order: per queue (and so per
  /// FIFO group) in enqueue order, requeued jobs behind the others. The
  /// engine calls it once at start-up and moves each job into its queue's
  /// recovered list. Stops at the first error (SQLite: a row it cannot read)
  /// and returns it; the jobs handed over before stay handed over.
  virtual caf::error for_each_job(const std::function<void(stored_job&&)>& each)
    = 0;

  /// How many jobs are stored in each state. The engine does not use it
  /// (recovery counts per queue as it takes the jobs over).
  virtual caf::expected<state_counts> count() = 0;

  /// The queues a pause write paused and no resume write resumed since,
  /// sorted. Read once at start-up, like for_each_job.
  virtual caf::expected<std::vector<std::string>> paused_queues() = 0;
};

/// A store that keeps everything in this process: lost on exit.
std::unique_ptr<job_store> make_memory_store();

/// Opens (or creates) the SQLite store in `dir`/troupe-queue.db, creating
/// `dir` and its parents if needed. Fails if the directory cannot be made,
/// if the file is not a troupe store, is corrupted, has a newer schema, or is
/// in use by another process.
caf::expected<std::unique_ptr<job_store>>
open_sqlite_store(const std::string& dir);

} // namespace troupe::store
