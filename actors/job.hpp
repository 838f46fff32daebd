// Making jobs: validating an enqueue against its queue's configuration.
// The job itself is public (troupe/job.hpp).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <caf/expected.hpp>

#include "troupe/config.hpp"
#include "troupe/job.hpp"

namespace troupe {

/// Milliseconds since the epoch, now.
int64_t now_ms();

/// Validates an enqueue for queue `q` and makes the job, with a fresh
/// receipt id. Errors carry iii's enqueue_error texts (README: Queues).
caf::expected<job> make_job(const queue_config& q, size_t max_payload_bytes,
                            std::string function_id, std::string payload);

} // namespace troupe
