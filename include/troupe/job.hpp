// A job: one enqueued call of a function, from its receipt to its last
// attempt. The receipt id is the job's id everywhere (DLQ, logs, stats).
// Dead-letter listings hand jobs out in this shape.
#pragma once

#include <cstdint>
#include <string>

#include <caf/meta/type_name.hpp>

namespace troupe {

struct job {
  /// The messageReceiptId (UUID v4).
  std::string id = {};
  std::string queue = {};
  std::string function_id = {};
  /// The payload, raw JSON, delivered to the function exactly as enqueued.
  std::string payload = {};
  /// FIFO group (the message_group_field's value); empty on standard queues.
  std::string group = {};
  /// Attempts made so far.
  uint32_t attempts = 0;
  /// Milliseconds since the epoch.
  int64_t enqueued_at = 0;
  /// The last failed attempt's error body `{code, message, ...}` (raw JSON).
  std::string last_error = {};
  /// When the job moved to the DLQ (ms since the epoch); 0 while alive.
  int64_t failed_at = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job& x) {
  return f(caf::meta::type_name("troupe::job"), x.id, x.queue, x.function_id,
           x.payload, x.group, x.attempts, x.enqueued_at, x.last_error,
           x.failed_at);
}

} // namespace troupe
