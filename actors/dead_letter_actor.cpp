#include "actors/dead_letter_actor.hpp"

#include <algorithm>

#include <caf/send.hpp>

#include "actors/type_ids.hpp"
#include "base/errc.hpp"
#include "base/log.hpp"

namespace troupe {

void dead_letter_state::on_park(job& x) { jobs.push_back(std::move(x)); }

std::vector<job> dead_letter_state::on_list(uint64_t offset,
                                            uint64_t limit) const {
  std::vector<job> out;
  if (offset >= jobs.size()) return out;
  auto n = std::min<uint64_t>(limit, jobs.size() - offset);
  out.reserve(n);
  for (auto i = jobs.rbegin() + offset; n > 0; ++i, --n) out.push_back(*i);
  return out;
}

uint64_t dead_letter_state::on_redrive_all() {
  uint64_t n = jobs.size();
  for (auto& x : jobs)
    caf::anon_send(supervisor, atom::requeue_v, std::move(x));
  jobs.clear();
  if (n > 0) log::info("queue " + queue, "redrove ", n, " dead-letter jobs");
  return n;
}

uint64_t dead_letter_state::on_redrive(const std::string& id) {
  auto i = std::find_if(jobs.begin(), jobs.end(),
                        [&](const job& x) { return x.id == id; });
  if (i == jobs.end()) return 0;
  caf::anon_send(supervisor, atom::requeue_v, std::move(*i));
  jobs.erase(i);
  log::info("queue " + queue, "redrove dead-letter job ", id);
  return 1;
}

uint64_t dead_letter_state::on_discard(const std::string& id) {
  auto i = std::find_if(jobs.begin(), jobs.end(),
                        [&](const job& x) { return x.id == id; });
  if (i == jobs.end()) return 0;
  jobs.erase(i);
  log::info("queue " + queue, "discarded dead-letter job ", id);
  return 1;
}

caf::result<job> dead_letter_state::on_lookup(const std::string& id) const {
  auto i = std::find_if(jobs.begin(), jobs.end(),
                        [&](const job& x) { return x.id == id; });
  if (i == jobs.end())
    return caf::make_error(errc::job_not_found,
                           "no dead job " + id + " in queue '" + queue + "'");
  return *i;
}

job_page dead_letter_state::on_jobs(uint64_t offset, uint64_t limit) const {
  job_page out;
  out.queue = queue;
  out.state = job_status::dead;
  out.total = jobs.size();
  out.offset = offset;
  out.limit = limit;
  if (offset >= jobs.size()) return out;
  auto n = std::min<uint64_t>(limit, jobs.size() - offset);
  out.jobs.reserve(n);
  for (auto i = jobs.rbegin() + offset; n > 0; ++i, --n)
    out.jobs.push_back(describe_job(*i, job_status::dead, 0, false));
  return out;
}

dead_letter_handle::behavior_type
dead_letter_actor(dead_letter_handle::stateful_pointer<dead_letter_state> self,
                  std::string queue, caf::actor supervisor) {
  auto& st = self->state;
  st.self = self;
  st.queue = std::move(queue);
  st.supervisor = std::move(supervisor);
  return {
    [self](atom::park, job& x) { self->state.on_park(x); },
    [self](atom::list, uint64_t offset, uint64_t limit) {
      return self->state.on_list(offset, limit);
    },
    [self](atom::redrive) { return self->state.on_redrive_all(); },
    [self](atom::redrive, const std::string& id) {
      return self->state.on_redrive(id);
    },
    [self](atom::discard, const std::string& id) {
      return self->state.on_discard(id);
    },
    [self](atom::count) {
      return static_cast<uint64_t>(self->state.jobs.size());
    },
    [self](atom::lookup, const std::string& id) {
      return self->state.on_lookup(id);
    },
    [self](atom::jobs, uint64_t offset, uint64_t limit) {
      return self->state.on_jobs(offset, limit);
    },
  };
}

} // namespace troupe
