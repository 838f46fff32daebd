// The memory store: job_store semantics in a hash map, the reference the
// SQLite store is tested against. The engine does not use it: `in_memory`
// queues keep their jobs in the queue actors and write nothing.

#include "store/job_store.hpp"

#include <algorithm>
#include <set>
#include <string_view>
#include <unordered_map>

#include "store/store_error.hpp"

namespace troupe::store {

namespace {

using kind = store_write::kind;

class memory_store final : public job_store {
public:
  caf::expected<std::vector<uint64_t>>
  apply(const std::vector<store_write>& batch) override {
    if (auto err = check(batch)) return err;
    std::vector<uint64_t> seqs;
    for (auto& w : batch) write(w, seqs);
    return seqs;
  }

  caf::error
  for_each_job(const std::function<void(stored_job&&)>& each) override {
    std::vector<const stored_job*> order;
    order.reserve(jobs_.size());
    for (auto& kvp : jobs_) order.push_back(&kvp.second);
    std::sort(order.begin(), order.end(),
              [](const stored_job* x, const stored_job* y) {
                return x->seq < y->seq;
              });
    for (auto* x : order) each(stored_job{*x});
    return {};
  }

  caf::expected<state_counts> count() override {
    state_counts result;
    for (auto& kvp : jobs_) {
      switch (kvp.second.state) {
        case job_state::waiting: ++result.waiting; break;
        case job_state::delayed: ++result.delayed; break;
        case job_state::dead: ++result.dead; break;
      }
    }
    return result;
  }

  caf::expected<std::vector<std::string>> paused_queues() override {
    return std::vector<std::string>(paused_.begin(), paused_.end());
  }

private:
  /// Fails if a write in `batch` would fail (a put of a stored id, an
  /// unknown kind), so that write() can then change the jobs without undo.
  caf::error check(const std::vector<store_write>& batch) const {
    // Ids the batch has put (true) or deleted (false) so far.
    std::unordered_map<std::string_view, bool> present;
    for (auto& w : batch) {
      auto& id = w.job.id;
      auto i = present.find(id);
      auto stored = i != present.end() ? i->second : jobs_.count(id) > 0;
      switch (w.op) {
        case kind::put:
          if (stored)
            return store_error("put of job " + id + ": id already stored");
          present[id] = true;
          break;
        case kind::adopt: present[id] = true; break;
        case kind::ack:
        case kind::discard: present[id] = false; break;
        case kind::retry:
        case kind::dead:
        case kind::requeue:
        case kind::pause:
        case kind::resume:
        case kind::start:
        case kind::crashed: break;
        default:
          return store_error("unknown write to job " + id + ": "
                             + to_string(w.op));
      }
    }
    return {};
  }

  // REQUIRES: check() accepted the batch `w` is in.
  void write(const store_write& w, std::vector<uint64_t>& seqs) {
    if (w.op == kind::pause || w.op == kind::resume) {
      if (w.op == kind::pause)
        paused_.insert(w.job.queue);
      else
        paused_.erase(w.job.queue);
      return;
    }
    // Like the SQLite store: a requeue takes a seq even for an unknown id.
    auto seq = w.op == kind::put || w.op == kind::adopt || w.op == kind::requeue
                 ? next_seq_++
                 : 0;
    if (w.op == kind::put || w.op == kind::adopt) {
      seqs.push_back(seq);
      jobs_.emplace(w.job.id,
                    stored_job{w.job, seq, job_state::waiting, w.due_at});
      return;
    }
    auto i = jobs_.find(w.job.id);
    if (i == jobs_.end()) return;
    auto& s = i->second;
    auto& x = s.job;
    switch (w.op) {
      case kind::retry:
        x.attempts = w.job.attempts;
        x.last_error = w.job.last_error;
        s.state = job_state::delayed;
        s.due_at = w.due_at;
        s.running = false;
        s.crashes = 0;
        break;
      case kind::dead:
        x.attempts = w.job.attempts;
        x.last_error = w.job.last_error;
        x.failed_at = w.job.failed_at;
        s.state = job_state::dead;
        s.running = false;
        s.crashes = 0;
        break;
      case kind::start: s.running = true; break;
      case kind::crashed:
        s.running = false;
        ++s.crashes;
        break;
      case kind::requeue:
        s.running = false;
        s.crashes = 0;
        x.attempts = 0;
        x.last_error.clear();
        x.failed_at = 0;
        s.state = job_state::waiting;
        s.due_at = 0;
        s.seq = seq;
        break;
      default: // ack, discard
        jobs_.erase(i);
    }
  }

  std::unordered_map<std::string, stored_job> jobs_;
  std::set<std::string> paused_;
  uint64_t next_seq_ = 1;
};

} // namespace

std::unique_ptr<job_store> make_memory_store() {
  return std::make_unique<memory_store>();
}

} // namespace troupe::store
