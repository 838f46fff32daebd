#include "store/job_store.hpp"

#include <algorithm>

namespace troupe::store {

job_store::~job_store() = default;

caf::expected<std::vector<stored_job>> job_store::load() {
  std::vector<stored_job> result;
  if (auto err = for_each_job(
        [&](stored_job&& x) { result.push_back(std::move(x)); }))
    return err;
  // Seq order is kept within each queue.
  std::stable_sort(result.begin(), result.end(),
                   [](const stored_job& x, const stored_job& y) {
                     return x.queue < y.queue;
                   });
  return result;
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
  }
  return "store_write::kind(" + std::to_string(static_cast<int>(x)) + ")";
}

} // namespace troupe::store
