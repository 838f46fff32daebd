#include "actors/store_actor.hpp"

#include <chrono>

#include "actors/type_ids.hpp"
#include "base/errc.hpp"
#include "base/log.hpp"

namespace troupe {

namespace {

constexpr auto log_name = "store";

} // namespace

caf::result<void> store_state::on_persist(store::store_write& w) {
  batch.push_back(std::move(w));
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
  auto t0 = std::chrono::steady_clock::now();
  auto result = db->apply(batch);
  auto took = std::chrono::steady_clock::now() - t0;
  ++commits;
  writes += batch.size();
  ++counters.commits;
  counters.writes += batch.size();
  if (!result) ++counters.failed;
  counters.writes_per_commit.observe(metrics::commit_writes,
                                     static_cast<double>(batch.size()));
  counters.duration.observe(metrics::commit_seconds,
                            std::chrono::duration<double>(took).count());
  batch.clear();
  if (result) {
    for (auto& rp : waiters) rp.deliver(caf::unit);
  } else {
    log::error(log_name, "commit of a batch failed; its writes are lost: ",
               caf::to_string(result.error()));
    for (auto& rp : waiters)
      rp.deliver(
        caf::make_error(errc::store_failure, "the job store failed to commit"));
  }
  waiters.clear();
}

store_handle::behavior_type
store_actor(store_handle::stateful_pointer<store_state> self,
            std::shared_ptr<store::job_store> db) {
  self->state.self = self;
  self->state.db = std::move(db);
  return {
    [self](atom::persist, store::store_write& w) {
      return self->state.on_persist(w);
    },
    // Also a request: answered once everything before it is committed.
    [self](atom::flush) { self->state.on_flush(); },
    [self](atom::metrics) { return self->state.counters; },
  };
}

} // namespace troupe
