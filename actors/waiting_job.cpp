#include "actors/waiting_job.hpp"

#include <algorithm>

namespace troupe {

std::shared_ptr<const std::string> function_names::intern(std::string&& name) {
  if (!last_ || *last_ != name)
    last_ = std::make_shared<const std::string>(std::move(name));
  return last_;
}

waiting_job::waiting_job(job&& x, function_names& names)
    : attempts_(x.attempts), enqueued_at_(x.enqueued_at),
      function_id_(names.intern(std::move(x.function_id))),
      payload_(std::move(x.payload)) {
  // A NUL inside the id would cut it short: such an id goes the long way.
  auto uuid_like = x.id.size() == uuid_size
                   && x.id.find('\0') == std::string::npos;
  if (uuid_like) std::copy(x.id.begin(), x.id.end(), uuid_);
  if (!uuid_like || !x.last_error.empty()) {
    rare_ = std::make_unique<rare>();
    if (!uuid_like) rare_->id = std::move(x.id);
    rare_->last_error = std::move(x.last_error);
  }
}

std::string_view waiting_job::id() const {
  if (rare_ && uuid_[0] == '\0') return rare_->id;
  return {uuid_, uuid_size};
}

job waiting_job::shell(const std::string& queue,
                       const std::string& group) const {
  job x;
  x.id = std::string{id()};
  x.queue = queue;
  x.group = group;
  x.attempts = attempts_;
  x.enqueued_at = enqueued_at_;
  if (function_id_) x.function_id = *function_id_;
  return x;
}

job waiting_job::release(const std::string& queue, const std::string& group) {
  auto x = shell(queue, group);
  x.payload = std::move(payload_);
  if (rare_) x.last_error = std::move(rare_->last_error);
  function_id_.reset();
  rare_.reset();
  return x;
}

job waiting_job::to_job(const std::string& queue,
                        const std::string& group) const {
  auto x = shell(queue, group);
  x.payload = payload_;
  if (rare_) x.last_error = rare_->last_error;
  return x;
}

} // namespace troupe
