// The queue functions every worker can call with trigger(), served by the
// engine itself (README: Queues, dead-letter queue, operations):
// iii::queue::redrive, iii::queue::redrive_message,
// iii::queue::discard_message, engine::queue::dlq_messages,
// engine::queue::dlq_topics, engine::queue::stats, and the operations
// engine::queue::job, engine::queue::jobs, engine::queue::groups,
// engine::queue::pause, engine::queue::resume and engine::queue::retry_now.
// A worker's `limit` (dlq_messages, jobs, groups) is capped at
// protocol::max_page_limit. register_queue_functions() registers them with the
// actor as their owner, so workers, remote nodes and embedders reach them
// like any function.
//
// Without a cluster each call answers for this node. In a cluster the
// engine hands the actor its node actor: a call from the registry (a
// worker's, an embedder's) then asks every node that is up through it and
// replies with the merged answer (protocol/queue_api.hpp), while
// (localcall, invoke), which the node actor sends on behalf of the other
// nodes and of this one, answers for this node only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/behavior.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/result.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/messages.hpp"
#include "actors/queue_directory.hpp"
#include "protocol/queue_api.hpp"

namespace troupe {

/// The ids of the functions the actor serves.
const std::vector<std::string>& queue_function_ids();

/// Serves invoke for the ids above: parses the call's data
/// (protocol/queue_api.hpp), asks the queue supervisor named in it (or, in
/// a cluster, every node) and replies with the rendered result, or with
/// `{code, message}` for a bad call or a failed request (never an
/// exception).
struct queue_functions_state {
  caf::event_based_actor* self = nullptr;
  std::shared_ptr<const queue_directory> queues;
  /// The node actor while this engine is in a cluster.
  caf::actor node;

  static inline const char* name = "troupe.queue_functions";

  /// A call from the registry: the cluster's answer in a cluster, else
  /// this node's. Bad input and unknown queues are refused here, without
  /// asking the other nodes (every member has the same queues).
  caf::result<invoke_result> on_invoke(invoke& x);
  /// This node's answer only.
  caf::result<invoke_result> on_localcall(invoke& x);
  /// From now on, calls from the registry answer for the cluster of
  /// `node_hdl`.
  void on_cluster(caf::actor node_hdl);

private:
  /// Checks the call, asks every node through the node actor and replies
  /// with the merged answer.
  caf::result<invoke_result> cluster_call(invoke& x);
  /// Refuses `req` when it is bad or names an unknown queue; else sends
  /// `x` to every node and replies with `merge(answers, *req)`.
  template <class Request, class Merge>
  caf::result<invoke_result>
  fan_out(invoke x, const protocol::queue_api_expected<Request>& req,
          Merge merge);
  caf::result<invoke_result> redrive(const protocol::redrive_request& x);
  caf::result<invoke_result>
  redrive_message(const protocol::message_request& x);
  caf::result<invoke_result>
  discard_message(const protocol::message_request& x);
  caf::result<invoke_result>
  dlq_messages(const protocol::dlq_messages_request& x);
  caf::result<invoke_result> dlq_topics(const protocol::dlq_topics_request&);
  caf::result<invoke_result> stats(const protocol::stats_request& x);
  caf::result<invoke_result> lookup_job(const protocol::job_request& x);
  caf::result<invoke_result> list_jobs(const protocol::jobs_request& x);
  caf::result<invoke_result> list_groups(const protocol::groups_request& x);
  caf::result<invoke_result> pause(const protocol::pause_request& x);
  caf::result<invoke_result> resume(const protocol::pause_request& x);
  caf::result<invoke_result> retry_now(const protocol::retry_now_request& x);
  /// Sends `op` (pause or resume) to the queue; replies with its state.
  template <class Atom>
  caf::result<invoke_result> set_paused(const protocol::pause_request& x,
                                        Atom op);
  /// This node's answer; `cap`: a worker's call, whose limits are capped.
  caf::result<invoke_result> local_call(invoke& x, bool cap);
  /// Runs `handler` on a parsed request, or refuses the call.
  template <class Request>
  caf::result<invoke_result>
  route(const protocol::queue_api_expected<Request>& req,
        caf::result<invoke_result> (queue_functions_state::*handler)(
          const Request&));
  /// Sends `xs...` to the queue and replies with `render(count)`.
  template <class Render, class... Ts>
  caf::result<invoke_result> forward_count(const queue_entry* q, Render render,
                                           Ts... xs);
  /// Asks every queue in `qs` for its stats, then replies with
  /// `render(stats ordered by queue name)`.
  template <class Render>
  caf::result<invoke_result> gather_stats(std::vector<const queue_entry*> qs,
                                          Render render);
};

caf::behavior
queue_functions_actor(caf::stateful_actor<queue_functions_state>* self,
                      std::shared_ptr<const queue_directory> queues);

/// Registers every queue function with `functions` (a queue functions
/// actor) as its owner. Sent from the calling thread, so a call the same
/// thread sends to `registry` afterwards finds them.
void register_queue_functions(const caf::actor& registry,
                              const caf::actor& functions);

} // namespace troupe
