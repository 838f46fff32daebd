// The supervisor of one named queue. It accepts jobs (a `job` a session
// validated, or an `enqueue` from the embedding API, which it validates
// itself), keeps the waiting jobs, and hands them to
// its children through the dispatch policy of its type (queue_dispatch.hpp):
//  - standard: a pool of `concurrency` delivery actors; free completion order
//    (standard_dispatch.hpp);
//  - fifo: one group actor per message group; one job of a group at a time,
//    in enqueue order even through retries; at most `concurrency` groups
//    running at once (fifo_dispatch.hpp).
// A failed attempt is retried after backoff_ms * 2^(k-1) by a delayed message
// to itself carrying the job (or group); after max_retries attempts the job
// goes to the queue's dead-letter actor, which the supervisor spawns and
// fronts. A child that dies is replaced and its job runs again without being
// charged an attempt.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/actor_clock.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/dead_letter_actor.hpp"
#include "actors/job.hpp"
#include "actors/messages.hpp"
#include "actors/metrics.hpp"
#include "actors/queue_dispatch.hpp"
#include "actors/route_cache.hpp"
#include "actors/store_actor.hpp"
#include "store/job_store.hpp"
#include "troupe/config.hpp"
#include "troupe/handles.hpp"

namespace troupe {

class fifo_dispatch;

/// How soon a job is tried again when its function is missing during the
/// start-up grace period.
constexpr std::chrono::milliseconds startup_retry{250};

/// The supervisor's whole interface: the public one (troupe/handles.hpp)
/// plus the engine's own traffic:
///  - job: a job a session already validated (make_job); reply: receipt;
///  - (requeue, job): back from the DLQ, attempts reset;
///  - attempt_done: from its delivery and group actors;
///  - (sweep), (retry, group, id): its own timers (standard queues send an
///    empty group);
///  - (drain): stop dispatching; reply once nothing is in flight;
///  - (children): its current child actors (tests, diagnostics);
///  - (metrics): its counters for /metrics (metrics::queue_metrics);
///  - (members, self, up, owners) from the cluster's node actor: the nodes
///    that are up and those that own FIFO groups; the start-up grace period
///    counts from the first join;
///  - (fwdenq, job): a job another node forwarded because this node owns
///    its group; accepted here, never forwarded again;
///  - (handover, job): a job another node kept for a group of this node
///    while it was away (or that moved here), stored only once;
///  - (settled, from, owners): node `from` has handed over everything it
///    kept for this node's groups; (settled): the start-up hold is over;
///  - (respawn): its own timer, the end of a pause after its children died
///    more often than restart_limit allows.
///
/// FIFO queues in a cluster: every group has an owner, fifo_owner() over
/// the `owners` (the members not declared gone, up or not), and only the
/// owner runs the group's jobs. An enqueue for a group whose owner is up
/// is forwarded there (unless jobs of the group are still here, which go
/// first); for a group whose owner is down or left it is kept here (stored,
/// receipted) and waits: the owner's own jobs are older. When the owner is
/// back, the kept jobs are handed over in order, then this node sends it
/// (settled). An owner runs its groups only once every member that is up
/// has settled with it under the same owners (so handed-over jobs are in
/// place first), and not before its first join or the end of the start-up
/// grace period.
using queue_actor_type = queue_handle::extend<
  caf::replies_to<job>::with<std::string>, caf::reacts_to<atom::requeue, job>,
  caf::reacts_to<attempt_done>, caf::reacts_to<atom::sweep>,
  caf::reacts_to<atom::retry, std::string, std::string>,
  caf::replies_to<atom::drain>::with<void>,
  caf::replies_to<atom::children>::with<std::vector<caf::actor>>,
  caf::replies_to<atom::metrics>::with<metrics::queue_metrics>,
  caf::reacts_to<atom::members, std::string, std::vector<std::string>,
                 std::vector<std::string>>,
  caf::replies_to<atom::fwdenq, job>::with<std::string>,
  caf::replies_to<atom::handover, job>::with<std::string>,
  caf::reacts_to<atom::settled, std::string, std::vector<std::string>>,
  caf::reacts_to<atom::settled>, caf::reacts_to<atom::respawn>>;

/// How often a supervisor replaces children that die (OTP's restart
/// intensity): more than `max_restarts` deaths within `window` pause every
/// dispatch, so no child is replaced, for `first_pause`; each further
/// excess while the deaths go on doubles the pause, up to `max_pause`.
struct restart_limit {
  uint32_t max_restarts = 10;
  std::chrono::milliseconds window{5000};
  std::chrono::milliseconds first_pause{1000};
  std::chrono::milliseconds max_pause{30000};
};

/// What a queue supervisor works with besides its own configuration.
struct queue_links {
  /// Answers invoke.
  caf::actor registry;
  /// The store actor; invalid for the in-memory store.
  store_handle store;
  /// See queue_worker_config::startup_grace_ms.
  std::chrono::milliseconds startup_grace{10000};
  /// Largest payload an `enqueue` may carry (max_payload_bytes).
  size_t max_payload_bytes = 1024 * 1024;
  /// The engine is a cluster node: a FIFO queue holds its jobs until the
  /// node actor's view says which groups are its own.
  bool clustered = false;
  /// The queue starts paused (the store says a pause was not resumed).
  bool paused = false;
  /// How often children may die before the supervisor pauses.
  restart_limit restarts = {};
  /// The registry's providers, for delivery actors; may be null.
  std::shared_ptr<const route_cache> routes = {};
};

struct queue_state {
  queue_actor_type::pointer self = nullptr;
  queue_config spec;
  caf::actor registry;
  std::shared_ptr<const route_cache> routes;
  dead_letter_handle dead_letters;
  /// The store actor; invalid for the in-memory store.
  store_handle store;
  size_t max_payload_bytes = 1024 * 1024;
  std::string log_name;
  // In a cluster (FIFO queues only): the node actor, this node's name, the
  // names of the nodes that are up and of the group owners (this one
  // included in both; sorted). Empty outside a cluster: every group is
  // local.
  caf::actor node;
  std::string node_name;
  std::vector<std::string> view;
  std::vector<std::string> owners;
  /// See queue_links::clustered; FIFO queues only.
  bool clustered = false;
  /// The start-up hold is over: first join, or the grace period ended.
  bool hold_over = false;
  /// Per member: the owners it last settled with us under.
  std::map<std::string, std::vector<std::string>> settled_by;
  /// Members told (settled) under the current owners.
  std::set<std::string> settled_to;
  /// Groups of another node that is up, waiting for their running attempt
  /// to end before they are handed over.
  std::set<std::string> moving;
  /// Jobs handed over and not confirmed yet, per group, in order.
  std::map<std::string, std::deque<job>> in_transit;
  /// Ids of the jobs handed over to this node (the newest
  /// max_remembered_handovers), also after they ran: a handover repeated
  /// because its answer was lost (the link to the sender dropped after our
  /// commit) gets the receipt again instead of a second run. An id is
  /// forgotten when its job is handed on to another node.
  std::unordered_set<std::string> handed_here;
  std::deque<std::string> handed_here_order;
  static constexpr size_t max_remembered_handovers = 65536;
  /// Handovers whose store write is pending, with the promises of repeats
  /// that arrived meanwhile (they get the first one's answer).
  std::unordered_map<std::string,
                     std::vector<caf::typed_response_promise<std::string>>>
    adopting;
  /// Groups whose waiting for their owner was logged.
  std::set<std::string> waiting_logged;
  /// The FIFO policy (also in `policy`); null for a standard queue.
  fifo_dispatch* fifo = nullptr;
  /// Keeps the waiting jobs and the children; chosen by spec.type.
  std::unique_ptr<queue_dispatch> policy;

  // Counters for engine::queue::stats.
  uint64_t enqueued_total = 0;
  uint64_t succeeded_total = 0;
  uint64_t failed_attempts_total = 0;
  uint64_t dead_total = 0;
  /// Jobs waiting for their retry timer.
  uint64_t delayed = 0;

  // Counters for /metrics only (see on_metrics).
  uint64_t redriven_total = 0;
  uint64_t discarded_total = 0;
  /// Function ids of the attempts, capped; slots index `attempts_by_fn`.
  metrics::label_cap function_slots;
  std::vector<metrics::function_attempts> attempts_by_fn;
  metrics::histogram wait_hist{metrics::wait_seconds};
  metrics::histogram succeeded_hist{metrics::completion_seconds};
  metrics::histogram dead_hist{metrics::completion_seconds};

  /// Until then, a missing function is not charged (actor clock).
  caf::actor_clock::time_point grace_until;
  std::chrono::milliseconds startup_grace{0};
  /// In a cluster, the grace period starts again at the first join: the
  /// functions of the other nodes only arrive then.
  bool joined = false;

  /// A timeout sweep is scheduled (only while attempts run).
  bool sweep_armed = false;

  /// Child deaths: the limit, when the recent ones happened (actor clock,
  /// oldest first, none older than the window), and the pause they caused.
  restart_limit restarts;
  std::deque<caf::actor_clock::time_point> child_deaths;
  /// Set while dispatching is paused for deaths; `respawn_pause` is the
  /// length of the last pause (0 once deaths are back under the limit).
  bool respawn_held = false;
  std::chrono::milliseconds respawn_pause{0};

  // Graceful stop.
  bool draining = false;
  std::vector<caf::response_promise> drain_waiters;

  /// engine::queue::pause: no attempt starts while set.
  bool paused = false;

  /// One attempt in a job's log; `since` times it on the actor clock.
  struct attempt_entry {
    attempt_record rec;
    caf::actor_clock::time_point since;
  };
  /// The attempts this process saw, per job id, oldest first, at most
  /// max_attempt_records each; a job's log goes when it succeeds, is
  /// discarded or handed over.
  std::unordered_map<std::string, std::deque<attempt_entry>> attempt_logs;

  static inline const char* name = "troupe.queue";

  void init(queue_actor_type::pointer self_ptr, queue_config q,
            queue_links links);
  /// Takes over the jobs recovered from the store (ordered by seq).
  void recover(std::deque<store::stored_job>& jobs);

  /// A new job. Reply: its receipt id. In a cluster, a FIFO job whose group
  /// another node owns goes there (the receipt comes from that node).
  caf::result<std::string> on_enqueue(job& x);
  /// Accepts `x` on this node: stores it (once, if `adopted`: a handed-over
  /// job), then replies with its receipt.
  caf::result<std::string> accept_here(job& x, bool adopted = false);
  /// The cluster's view changed.
  void on_members(std::string& self_name, std::vector<std::string>& up,
                  std::vector<std::string>& all_owners);
  /// A job another node hands over (see the type's comment).
  caf::result<std::string> on_handover(job& x);
  void remember_handover(const std::string& id);
  /// Member `from` settled with this node under `under`.
  void on_settled(const std::string& from, std::vector<std::string>& under);
  /// The start-up hold ends.
  void on_hold_over();
  /// In a cluster: true if this node may run FIFO group `group` now.
  bool may_run(const std::string& group) const;
  /// A new job not validated yet (the public enqueue). Reply: its receipt
  /// id, or errc::enqueue_rejected with the worker's enqueue_error text.
  caf::result<std::string> on_enqueue(enqueue& x);
  /// A job comes back from the DLQ (attempts reset) or from recovery.
  void on_requeue(job& x);
  /// Discards a dead job. Reply: 1 if it was in the DLQ, else 0.
  caf::result<uint64_t> on_discard(const std::string& id);
  void on_attempt_done(attempt_done& x);
  /// Fails every attempt that has run longer than timeout_ms.
  void on_sweep();
  /// The pause after too many child deaths is over: dispatch again.
  void on_respawn();
  /// Schedules the next sweep unless one is scheduled.
  void arm_sweep();
  void on_group_retry(const std::string& group, const std::string& job_id);
  void on_child_down(const caf::down_msg& dm);
  /// Counts a child's death against `restarts`; past the limit, pauses
  /// dispatching and arms (respawn).
  void count_child_death();
  queue_stats local_stats() const;
  caf::result<queue_stats> on_stats();
  /// The queue's counters and gauges for /metrics.
  caf::result<metrics::queue_metrics> on_metrics();
  caf::result<void> on_drain();
  /// Job `id` in any state, with its attempts log; errc::job_not_found.
  caf::result<job_info> on_lookup(const std::string& id);
  /// A page of the jobs in `state` (see job_page for the order).
  caf::result<job_page> on_jobs(job_status state, uint64_t offset,
                                uint64_t limit);
  /// A page of a FIFO queue's groups; errc::invalid_argument otherwise.
  caf::result<group_page> on_groups(uint64_t offset, uint64_t limit);
  /// Pauses (`on`) or resumes dispatch; stores the state with a durable
  /// store and replies after the commit. Reply: the new state.
  caf::result<bool> on_pause(bool on);
  /// A delayed job `id` becomes waiting now. Reply: 1, or 0.
  uint64_t on_retry_now(const std::string& id);
  std::vector<caf::actor> on_children() const;
  void on_exit(const caf::exit_msg& msg);

  uint64_t in_flight() const { return policy->in_flight(); }
  uint64_t waiting() const { return policy->waiting(); }

  // -- for the dispatch policies ----------------------------------------------

  /// What a policy does with a job after settle(): nothing more (it
  /// succeeded), schedule its retry after `delay`, or to_dead_letters().
  struct verdict {
    enum kind { succeeded, retry, dead } next = succeeded;
    std::chrono::milliseconds delay{0};
  };

  caf::actor spawn_child(const std::string& group);
  /// Sends `x` to `child`; returns the start time.
  std::chrono::steady_clock::time_point start_attempt(const caf::actor& child,
                                                      const job& x);
  /// Counts the attempt of `j` that ended with `x` (attempts, counters,
  /// last_error, `delayed`), stores an ack or a retry, and says what next.
  verdict settle(job& j, attempt_done& x);
  void to_dead_letters(job&& x);

private:
  /// Adds `x` behind the waiting jobs (of its group), or as a handed-over
  /// job, and dispatches.
  void accept(job&& x, bool handed);
  /// Open: the start-up hold is over and every member up has settled.
  bool gate_open() const;
  /// Sets the fresh marks and, once open, lets the groups run.
  void update_gate();
  /// Hands over moving groups whose attempt ended.
  void move_finished();
  void dispatch();
  /// Ends the attempt that `who` ran, with outcome `x`.
  void finish_attempt(const caf::actor_addr& who, attempt_done& x);
  /// True while a function_not_found failure is not charged.
  bool waiting_for_workers(const std::string& error_body) const;
  /// Counts the attempt; returns the delay before the next one, or -1 when
  /// the job is exhausted (its last_error is set either way).
  int64_t charge_failure(job& x, std::string&& error_body);
  /// Opens a log entry for the attempt of `x` starting now (closing one a
  /// lost child left open). Returns true for the job's first attempt in
  /// this process.
  bool log_attempt_start(const job& x);
  /// Counts an attempt of `function_id` that ended with `r` after
  /// `seconds`.
  void count_attempt(const std::string& function_id, metrics::attempt_result r,
                     double seconds);
  /// How long the open attempt of job `id` has run, in seconds (0 when
  /// its log has no open entry).
  double attempt_seconds(const std::string& id) const;
  /// Closes the open log entry of job `id` with the outcome.
  void log_attempt_end(const std::string& id, bool ok, const std::string& body);
  /// Where `state` (from the policy) puts a job of `group` for a caller:
  /// held for a waiting job of a group another node owns.
  job_status status_of(const std::string& group, job_status state) const;
  /// `x` described for a lookup, its attempts log included.
  job_info lookup_info(const job& x, job_status state, int64_t due_at) const;
  /// Sends a write to the store actor (nothing without a durable store).
  void persist(store::store_write::kind op, const job& x, int64_t due_at = 0);
  void check_drained();
  /// The owner of `group` (FIFO in a cluster).
  std::string owner_of(const std::string& group) const;
  bool is_up(const std::string& name) const;
  /// Every member up has settled with us under `owners`.
  bool settled() const;
  /// Hands over the groups of other nodes that are up (those not running),
  /// then tells each member up with nothing left for it (settled).
  void rebalance();
  /// Hands `group`'s jobs to its owner, in order.
  void hand_over(const std::string& group, const std::string& to);
  /// The handover of `id` of `group` failed: it and those after it are
  /// kept here again, in front, in order.
  void handover_failed(const std::string& group, const std::string& id,
                       const caf::error& err);
  void send_settled();
};

/// Jobs recovered from the store for one queue, handed over at spawn. A
/// deque: a million of them are loaded one by one without being moved
/// again as the list grows.
using recovered_jobs = std::shared_ptr<std::deque<store::stored_job>>;

/// REQUIRES: `q` is valid (config/ checked it); `recovered` may be null.
queue_actor_type::behavior_type
queue_actor(queue_actor_type::stateful_pointer<queue_state> self,
            queue_config q, queue_links links, recovered_jobs recovered);

} // namespace troupe
