// Making jobs: validating an enqueue against its queue's configuration.
// The job itself is public (troupe/job.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "troupe/config.hpp"
#include "troupe/job.hpp"
#include "troupe/job_info.hpp"

namespace troupe {

/// Milliseconds since the epoch, now.
int64_t now_ms();

/// Validates an enqueue for queue `q` and makes the job, with a fresh
/// receipt id. Errors carry iii's enqueue_error texts (README: Queues).
caf::expected<job> make_job(const queue_config& q, size_t max_payload_bytes,
                            std::string function_id, std::string payload);

/// `x` as a lookup (with its payload) or a list entry (without: only
/// payload_size) shows it, in state `state`, due at `due_at` when delayed.
/// max_attempts and attempts_log stay for the caller to fill.
job_info describe_job(const job& x, job_status state, int64_t due_at,
                      bool with_payload);

} // namespace troupe
