#include "actors/route_cache.hpp"

namespace troupe {

void route_cache::publish(std::shared_ptr<const table> t) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    table_ = std::move(t);
  }
  version_.fetch_add(1, std::memory_order_release);
}

std::shared_ptr<const route_cache::table> route_cache::current() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return table_;
}

caf::actor route_cache::reader::pick(const std::string& id) {
  if (!cache_) return {};
  // One atomic load on the fast path; the lock only after a publish.
  if (auto v = cache_->version(); v != version_) {
    table_ = cache_->current();
    version_ = v;
  }
  if (!table_) return {};
  auto i = table_->find(id);
  if (i == table_->end()) return {};
  auto& r = i->second;
  if (!r.local.empty())
    return r.local[r.next->local.fetch_add(1, std::memory_order_relaxed)
                   % r.local.size()];
  if (!r.remote.empty())
    return r.remote[r.next->remote.fetch_add(1, std::memory_order_relaxed)
                    % r.remote.size()];
  return {};
}

} // namespace troupe
