// The queue functions every worker can call with trigger(), served by the
// engine itself (README: Queues, dead-letter queue): iii::queue::redrive,
// iii::queue::redrive_message, iii::queue::discard_message,
// engine::queue::dlq_messages, engine::queue::dlq_topics and
// engine::queue::stats. The actor registers them in the registry as their
// owner, so workers, remote nodes and embedders reach them like any function.
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

namespace troupe {

/// The ids of the functions the actor serves.
const std::vector<std::string>& queue_function_ids();

struct queue_functions_state {
  caf::event_based_actor* self = nullptr;
  std::shared_ptr<const queue_directory> queues;

  static inline const char* name = "troupe.queue_functions";

  caf::result<invoke_result> on_invoke(invoke& x);

private:
  caf::result<invoke_result> redrive(const std::string& data);
  /// redrive_message, or discard_message when `discard`.
  caf::result<invoke_result> message_op(const std::string& data, bool discard);
  caf::result<invoke_result> dlq_messages(const std::string& data);
  caf::result<invoke_result> dlq_topics();
  caf::result<invoke_result> stats(const std::string& data);
  /// Sends `xs...` to the queue and replies with `render(count)`.
  template <class Render, class... Ts>
  caf::result<invoke_result> forward_count(const queue_entry* q, Render render,
                                           Ts... xs);
  /// Asks every queue (or the one named) for its stats, then replies with
  /// `render(all stats)`.
  template <class Render>
  caf::result<invoke_result> gather_stats(std::vector<const queue_entry*> qs,
                                          Render render);
};

caf::behavior
queue_functions_actor(caf::stateful_actor<queue_functions_state>* self,
                      std::shared_ptr<const queue_directory> queues,
                      caf::actor registry);

} // namespace troupe
