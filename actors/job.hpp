// A job: one enqueued call of a function, from its receipt to its last
// attempt. The receipt id is the job's id everywhere (DLQ, logs, stats).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>
#include <caf/meta/type_name.hpp>

#include "troupe/config.hpp"

namespace troupe {

struct job {
  /// The messageReceiptId (UUID v4).
  std::string id;
  std::string queue;
  std::string function_id;
  /// The payload, raw JSON, delivered to the function exactly as enqueued.
  std::string payload;
  /// FIFO group (the message_group_field's value); empty on standard queues.
  std::string group;
  /// Attempts made so far.
  uint32_t attempts = 0;
  /// Milliseconds since the epoch.
  int64_t enqueued_at = 0;
  /// The last failed attempt's error body `{code, message, ...}` (raw JSON).
  std::string last_error;
  /// When the job moved to the DLQ (ms since the epoch); 0 while alive.
  int64_t failed_at = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job& x) {
  return f(caf::meta::type_name("troupe::job"), x.id, x.queue, x.function_id,
           x.payload, x.group, x.attempts, x.enqueued_at, x.last_error,
           x.failed_at);
}

/// Milliseconds since the epoch, now.
int64_t now_ms();

/// Validates an enqueue for queue `q` and makes the job, with a fresh
/// receipt id. Errors carry iii's enqueue_error texts (queue-semantics §2).
caf::expected<job> make_job(const queue_config& q, size_t max_payload_bytes,
                            std::string function_id, std::string payload);

} // namespace troupe
