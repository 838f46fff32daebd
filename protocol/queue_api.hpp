// The JSON of the queue functions (README: Queues, the dead-letter table):
// each function's input, parsed from the call's `data` text into a plain
// struct, each result rendered as JSON text, and in a cluster the merge of
// every node's answer into one. Pure functions; they never throw. The
// queue functions actor parses, asks the queue supervisor (or every node),
// then renders.
// This header does not include nlohmann/json.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <caf/meta/type_name.hpp>

#include "troupe/job.hpp"
#include "troupe/job_info.hpp"
#include "troupe/messages.hpp"

namespace troupe::protocol {

/// `{code, message}` as a queue function answers a bad call. Codes:
/// invalid_argument (wrong type, data not an object), queue_not_set,
/// message_id_not_set, queue_not_found.
struct queue_api_error {
  std::string code;
  std::string message;
};

/// A parsed request, or why the call is refused.
template <class T>
class queue_api_expected {
public:
  queue_api_expected(T x) : value_(std::move(x)) {
    // nop
  }

  queue_api_expected(queue_api_error e) : error_(std::move(e)), ok_(false) {
    // nop
  }

  explicit operator bool() const noexcept { return ok_; }

  /// REQUIRES: `*this` holds a value.
  const T& operator*() const noexcept { return value_; }
  const T* operator->() const noexcept { return &value_; }

  /// REQUIRES: `*this` holds an error.
  const queue_api_error& error() const noexcept { return error_; }

private:
  T value_{};
  queue_api_error error_;
  bool ok_ = true;
};

// -- requests ---------------------------------------------------------------
//
// Each parser takes the call's `data` (raw JSON). Checks, in this order:
// data is an object (null or empty text counts as `{}`), each known member
// has its type (JSON null counts as absent), required members are set.
// Unknown members are ignored.

/// `iii::queue::redrive`: `{queue}`.
struct redrive_request {
  std::string queue;
};

/// `iii::queue::redrive_message` and `iii::queue::discard_message`:
/// `{queue, message_id}`.
struct message_request {
  std::string queue;
  std::string message_id;
};

constexpr uint64_t default_dlq_limit = 50;

/// The largest `limit` a worker's call of dlq_messages, jobs or groups
/// gets: a larger one is lowered to this, not refused. The parsers keep
/// the limit as given; the queue functions cap it (cap_limit) on the calls
/// from workers, not on the calls a node sends the others for a merge.
constexpr uint64_t max_page_limit = 500;

/// `limit`, lowered to max_page_limit.
constexpr uint64_t cap_limit(uint64_t limit) {
  return limit < max_page_limit ? limit : max_page_limit;
}

/// `engine::queue::dlq_messages`: `{queue, offset=0, limit=50}`.
struct dlq_messages_request {
  std::string queue;
  uint64_t offset = 0;
  uint64_t limit = default_dlq_limit;
};

/// `engine::queue::dlq_topics`: `{}` (members are ignored).
struct dlq_topics_request {};

/// `engine::queue::stats`: `{queue?}`.
struct stats_request {
  /// Empty: every queue (also for `"queue":""`).
  std::string queue;
};

/// queue: a non-empty string, else queue_not_set.
queue_api_expected<redrive_request> parse_redrive(std::string_view data);

/// queue as for redrive; message_id: a non-empty string, else
/// message_id_not_set.
queue_api_expected<message_request>
parse_message_request(std::string_view data);

/// queue as for redrive; offset and limit: non-negative integers.
queue_api_expected<dlq_messages_request>
parse_dlq_messages(std::string_view data);

/// data must only be an object or null.
queue_api_expected<dlq_topics_request> parse_dlq_topics(std::string_view data);

/// queue: a string when present.
queue_api_expected<stats_request> parse_stats(std::string_view data);

/// `engine::queue::job`: `{queue?, id}`.
struct job_request {
  /// Empty: look in every queue.
  std::string queue;
  std::string id;
};

/// `engine::queue::jobs`: `{queue, state, offset=0, limit=50}`.
struct jobs_request {
  std::string queue;
  job_status state = job_status::waiting;
  uint64_t offset = 0;
  uint64_t limit = default_dlq_limit;
};

/// `engine::queue::groups`: `{queue, offset=0, limit=50}`.
struct groups_request {
  std::string queue;
  uint64_t offset = 0;
  uint64_t limit = default_dlq_limit;
};

/// `engine::queue::pause` and `engine::queue::resume`: `{queue}`.
struct pause_request {
  std::string queue;
};

/// `engine::queue::retry_now`: `{queue, id}`.
struct retry_now_request {
  std::string queue;
  std::string id;
};

/// queue: a string when present; id: a non-empty string, else
/// invalid_argument.
queue_api_expected<job_request> parse_job_request(std::string_view data);

/// queue as for redrive; state: one of waiting, in_flight, delayed, dead,
/// held, else invalid_argument; offset and limit as for dlq_messages.
queue_api_expected<jobs_request> parse_jobs_request(std::string_view data);

/// queue as for redrive; offset and limit as for dlq_messages.
queue_api_expected<groups_request> parse_groups_request(std::string_view data);

/// queue as for redrive.
queue_api_expected<pause_request> parse_pause_request(std::string_view data);

/// queue as for redrive; id as for job.
queue_api_expected<retry_now_request>
parse_retry_now_request(std::string_view data);

/// queue_not_found for a queue no configuration names.
queue_api_error queue_not_found(std::string_view queue);

// -- results ----------------------------------------------------------------
//
// The answer of one node (what these functions render when there is no
// cluster).

/// `{"queue":...,"redriven":n}`
std::string redrive_result_json(std::string_view queue, uint64_t redriven);

/// `{"queue":...,"message_id":...,"redriven":0|1}`
std::string redrive_message_result_json(std::string_view queue,
                                        std::string_view message_id,
                                        uint64_t redriven);

/// `{"queue":...,"message_id":...,"discarded":0|1}`
std::string discard_message_result_json(std::string_view queue,
                                        std::string_view message_id,
                                        uint64_t discarded);

/// `[{id, function_id, payload, error, enqueued_at, failed_at, retries,
/// size_bytes}]` in the order given (the DLQ lists newest first). payload
/// and error are embedded as the raw JSON they are; an empty one is null.
std::string dlq_messages_json(const std::vector<job>& dead);

/// `[{topic, broker_type: "builtin", message_count}]`, one per queue.
std::string dlq_topics_json(const std::vector<queue_stats>& queues);

/// `{queue, waiting, in_flight, delayed, dlq, enqueued_total,
/// succeeded_total, failed_attempts_total, dead_total, held, waiting_on,
/// paused}`
std::string stats_json(const queue_stats& x);

/// An array of stats_json objects, in the order given.
std::string stats_list_json(const std::vector<queue_stats>& xs);

/// `{id, queue, function_id, payload, state, attempts, max_attempts,
/// enqueued_at, next_attempt_at, failed_at, error, group, attempts_log:
/// [{number, started_at, duration_ms, ok, error}]}`. next_attempt_at is
/// null unless delayed, failed_at unless dead, group on standard queues,
/// error when no attempt failed; a running attempt has duration_ms and ok
/// null. payload and error are the raw JSON they are.
std::string job_json(const job_info& x);

/// `{queue, state, total, offset, limit, jobs: [{id, function_id, state,
/// attempts, max_attempts, enqueued_at, next_attempt_at, failed_at, error,
/// group, payload_size}]}`.
std::string job_page_json(const job_page& x);

/// `[{group, jobs, running, blocked_by_retry, next_attempt_at, head_id,
/// held}]` in the order given; next_attempt_at is null unless blocked.
std::string groups_json(const group_page& x);

/// `{"queue":...,"paused":true|false}`
std::string pause_result_json(std::string_view queue, bool paused);

/// `{"queue":...,"id":...,"retried":0|1}`
std::string retry_now_result_json(std::string_view queue, std::string_view id,
                                  uint64_t retried);

// -- a cluster's answer -----------------------------------------------------
//
// In a cluster a worker's call asks every node that is up and merges the
// answers: counts are summed, and every object in the result gains
// `nodes`, one entry per node asked, in the order given (this node first):
// `{node, <that node's counts>}`, or `{node, error: {code, message}}` when
// the node failed or did not answer in time. The merged call fails, with
// the first answer's error, only when no node answered.

/// One node's answer to a queue function: its result when `ok`, else its
/// error `{code, message}`. Local only (the node actor's reply to the
/// queue functions actor); the answers themselves cross nodes as
/// invoke_result.
struct node_answer {
  std::string node;
  bool ok = false;
  std::string body;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_answer& x) {
  return f(caf::meta::type_name("troupe::node_answer"), x.node, x.ok, x.body);
}

/// The data each node gets for `x`: offset 0 and limit offset+limit
/// (saturating), so that the merged list can be paged after merging.
std::string dlq_messages_fanout_data(const dlq_messages_request& x);

/// stats {queue}: stats_json of the sums, plus `nodes`.
invoke_result merge_stats(const std::vector<node_answer>& answers,
                          std::string_view queue);

/// stats {}: stats_list_json of the sums per queue (by queue name), each
/// with its `nodes`.
invoke_result merge_stats_list(const std::vector<node_answer>& answers);

/// dlq_topics: message_count summed per topic (by topic name), each with
/// `nodes: [{node, message_count}]`.
invoke_result merge_dlq_topics(const std::vector<node_answer>& answers);

/// dlq_messages: every node's entries, each gaining `node`, newest first
/// by failed_at (ties keep the order of the answers), then `x.offset` and
/// `x.limit` applied. A node that failed has no entries; there is no
/// `nodes` here (the result is the array the function always returns).
invoke_result merge_dlq_messages(const std::vector<node_answer>& answers,
                                 const dlq_messages_request& x);

/// The data each node gets for jobs and groups: offset 0 and limit
/// offset+limit (saturating), as for dlq_messages.
std::string jobs_fanout_data(const jobs_request& x);
std::string groups_fanout_data(const groups_request& x);

/// job: the first node's answer that found the job, gaining `node`. When
/// no node has it: job_not_found (naming the nodes that failed instead of
/// answering, if any).
invoke_result merge_job(const std::vector<node_answer>& answers,
                        const job_request& x);

/// jobs: `total` summed, every node's entries gaining `node`, ordered as
/// job_page says (ties keep the order of the answers), then `x.offset` and
/// `x.limit` applied; plus `nodes: [{node, total}]`.
invoke_result merge_jobs(const std::vector<node_answer>& answers,
                         const jobs_request& x);

/// groups: every node's groups gaining `node`, ordered as group_page says
/// (ties keep the order of the answers), then `x.offset` and `x.limit`
/// applied. An array, as on one node.
invoke_result merge_groups(const std::vector<node_answer>& answers,
                           const groups_request& x);

/// pause and resume: `paused` true if any node that answered is paused,
/// `nodes: [{node, paused}]`.
invoke_result merge_pause(const std::vector<node_answer>& answers,
                          std::string_view queue);

/// retry_now: `retried` summed (0 or 1), `nodes: [{node, retried}]`.
invoke_result merge_retry_now(const std::vector<node_answer>& answers,
                              const retry_now_request& x);

/// redrive: `redriven` summed, `nodes: [{node, redriven}]`.
invoke_result merge_redrive(const std::vector<node_answer>& answers,
                            std::string_view queue);

/// redrive_message: `redriven` summed (0 or 1), `nodes: [{node,
/// redriven}]`.
invoke_result merge_redrive_message(const std::vector<node_answer>& answers,
                                    const message_request& x);

/// discard_message: `discarded` summed (0 or 1), `nodes: [{node,
/// discarded}]`.
invoke_result merge_discard_message(const std::vector<node_answer>& answers,
                                    const message_request& x);

} // namespace troupe::protocol
