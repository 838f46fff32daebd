#include "store/job_store.hpp"

namespace troupe::store {

job_store::~job_store() = default;

store_write make_write(store_write::kind op, const troupe::job& x,
                       int64_t due_at) {
  using kind = store_write::kind;
  store_write w;
  w.op = op;
  w.due_at = due_at;
  if (op == kind::put || op == kind::adopt) {
    w.job = x;
    return w;
  }
  w.job.id = x.id;
  if (op == kind::pause || op == kind::resume) w.job.queue = x.queue;
  if (op == kind::retry || op == kind::dead) {
    w.job.attempts = x.attempts;
    w.job.last_error = x.last_error;
    w.job.failed_at = x.failed_at;
  }
  return w;
}

store_write make_pause_write(const std::string& queue, bool paused) {
  store_write w;
  w.op = paused ? store_write::kind::pause : store_write::kind::resume;
  w.job.queue = queue;
  return w;
}

std::string to_string(job_state x) {
  switch (x) {
    case job_state::waiting: return "waiting";
    case job_state::delayed: return "delayed";
    case job_state::dead: return "dead";
  }
  return "job_state(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string to_string(store_write::kind x) {
  using kind = store_write::kind;
  switch (x) {
    case kind::put: return "put";
    case kind::ack: return "ack";
    case kind::retry: return "retry";
    case kind::dead: return "dead";
    case kind::requeue: return "requeue";
    case kind::discard: return "discard";
    case kind::adopt: return "adopt";
    case kind::pause: return "pause";
    case kind::resume: return "resume";
    case kind::start: return "start";
    case kind::crashed: return "crashed";
  }
  return "store_write::kind(" + std::to_string(static_cast<int>(x)) + ")";
}

} // namespace troupe::store
