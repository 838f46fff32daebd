#include "actors/store_actor.hpp"

#include "actors/type_ids.hpp"
#include "base/errc.hpp"
#include "base/log.hpp"

namespace troupe {

namespace {

constexpr auto log_name = "store";

using kind = store::store_write::kind;

store::store_write to_store_write(job_write&& w) {
  store::store_write out;
  out.op = static_cast<kind>(w.op);
  auto& s = out.job;
  auto& x = w.x;
  s.id = std::move(x.id);
  s.queue = std::move(x.queue);
  s.function_id = std::move(x.function_id);
  s.payload = std::move(x.payload);
  s.group = std::move(x.group);
  s.attempts = x.attempts;
  s.enqueued_at = x.enqueued_at;
  s.due_at = w.due_at;
  s.last_error = std::move(x.last_error);
  s.failed_at = x.failed_at;
  return out;
}

} // namespace

job_write make_write(store::store_write::kind op, const job& x,
                     int64_t due_at) {
  job_write w;
  w.op = static_cast<uint8_t>(op);
  w.due_at = due_at;
  w.x.id = x.id;
  switch (op) {
    case kind::put:
      w.x = x;
      break;
    case kind::retry:
    case kind::dead:
      w.x.attempts = x.attempts;
      w.x.last_error = x.last_error;
      w.x.failed_at = x.failed_at;
      break;
    default:
      break;
  }
  return w;
}

job from_stored(store::stored_job&& s) {
  job x;
  x.id = std::move(s.id);
  x.queue = std::move(s.queue);
  x.function_id = std::move(s.function_id);
  x.payload = std::move(s.payload);
  x.group = std::move(s.group);
  x.attempts = s.attempts;
  x.enqueued_at = s.enqueued_at;
  x.last_error = std::move(s.last_error);
  x.failed_at = s.failed_at;
  return x;
}

caf::result<void> store_state::on_persist(job_write& w) {
  batch.push_back(to_store_write(std::move(w)));
  if (!flush_scheduled) {
    // Behind everything already in the mailbox: whatever arrives before it
    // joins this commit.
    flush_scheduled = true;
    self->send(self, atom::flush_v);
  }
  auto rp = self->make_response_promise();
  if (!rp.pending()) return rp; // fire-and-forget write
  waiters.push_back(rp);
  return rp;
}

void store_state::on_flush() {
  flush_scheduled = false;
  if (batch.empty()) return;
  auto result = db->apply(batch);
  ++commits;
  writes += batch.size();
  batch.clear();
  if (result) {
    for (auto& rp : waiters) rp.deliver(caf::unit);
  } else {
    log::error(log_name, "commit of a batch failed; its writes are lost: ",
               caf::to_string(result.error()));
    for (auto& rp : waiters)
      rp.deliver(caf::make_error(errc::store_failure,
                                 "the job store failed to commit"));
  }
  waiters.clear();
}

caf::behavior store_actor(caf::stateful_actor<store_state>* self,
                          std::shared_ptr<store::job_store> db) {
  self->state.self = self;
  self->state.db = std::move(db);
  return {
    [self](atom::persist, job_write& w) { return self->state.on_persist(w); },
    // Also a request: answered once everything sent before it is committed.
    [self](atom::flush) { self->state.on_flush(); },
  };
}

} // namespace troupe
