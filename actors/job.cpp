#include "actors/job.hpp"

#include <chrono>

#include "base/errc.hpp"
#include "base/uuid.hpp"
#include "protocol/json_member.hpp"

namespace troupe {

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

caf::expected<job> make_job(const queue_config& q, size_t max_payload_bytes,
                            std::string function_id, std::string payload) {
  auto reject = [](std::string msg) {
    return caf::make_error(errc::enqueue_rejected, std::move(msg));
  };
  if (payload.size() > max_payload_bytes)
    return reject("Payload of " + std::to_string(payload.size())
                  + " bytes for queue '" + q.name + "' exceeds the limit of "
                  + std::to_string(max_payload_bytes) + " bytes");
  job x;
  if (q.type == queue_type::fifo) {
    auto field = protocol::find_member(payload, q.message_group_field);
    switch (field.state) {
      case protocol::member_state::found:
        x.group = std::move(field.value);
        break;
      case protocol::member_state::null:
        return reject("FIFO queue '" + q.name + "': field '"
                      + q.message_group_field + "' must not be null");
      default:
        return reject("FIFO queue '" + q.name + "' requires field '"
                      + q.message_group_field
                      + "' in data, but it was not found");
    }
  }
  x.id = make_uuid();
  x.queue = q.name;
  x.function_id = std::move(function_id);
  x.payload = std::move(payload);
  x.enqueued_at = now_ms();
  return x;
}

job_info describe_job(const job& x, job_status state, int64_t due_at,
                      bool with_payload) {
  job_info out;
  auto& y = out.job;
  y.id = x.id;
  y.queue = x.queue;
  y.function_id = x.function_id;
  if (with_payload) y.payload = x.payload;
  y.group = x.group;
  y.attempts = x.attempts;
  y.enqueued_at = x.enqueued_at;
  y.last_error = x.last_error;
  y.failed_at = x.failed_at;
  out.state = state;
  out.next_attempt_at = state == job_status::delayed ? due_at : 0;
  out.payload_size = x.payload.size();
  return out;
}

} // namespace troupe
