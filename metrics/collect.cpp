#include "metrics/collect.hpp"

#include <optional>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/job.hpp"
#include "actors/type_ids.hpp"
#include "base/log.hpp"

namespace troupe::metrics {

namespace {

constexpr auto log_name = "metrics";

} // namespace

snapshot collect(caf::actor_system& sys, const targets& t,
                 std::chrono::milliseconds timeout) {
  snapshot out;
  out.now_ms = now_ms();
  caf::scoped_actor self{sys};
  auto failed = [](const char* who) {
    return [who](caf::error& err) {
      log::warn(log_name, "no metrics from ", who,
                " in this scrape: ", caf::to_string(err));
    };
  };
  // Every request goes out first: the timeouts run side by side, and each
  // receive below takes its own answer.
  using queue_reply = decltype(self->request(caf::actor{}, timeout,
                                             atom::metrics_v));
  using store_reply = decltype(self->request(store_handle{}, timeout,
                                             atom::metrics_v));
  std::vector<queue_reply> queue_replies;
  queue_replies.reserve(t.queues.size());
  for (auto& q : t.queues)
    queue_replies.push_back(self->request(q, timeout, atom::metrics_v));
  std::optional<store_reply> store_r;
  if (t.store) store_r.emplace(self->request(t.store, timeout, atom::metrics_v));
  std::optional<queue_reply> http_r;
  if (t.http_router)
    http_r.emplace(self->request(t.http_router, timeout, atom::metrics_v));
  for (auto& r : queue_replies)
    r.receive([&](queue_metrics& m) { out.queues.push_back(std::move(m)); },
              failed("a queue"));
  if (store_r)
    store_r->receive(
      [&](store_metrics& m) {
        out.has_store = true;
        out.store = std::move(m);
      },
      failed("the store"));
  if (http_r)
    http_r->receive(
      [&](std::vector<http_count>& xs) {
        out.has_http = true;
        out.http = std::move(xs);
      },
      failed("the HTTP router"));
  if (auto& s = t.sessions) {
    out.workers_connected = s->connected.load(std::memory_order_relaxed);
    out.worker_connections = s->connections.load(std::memory_order_relaxed);
    for (size_t k = 0; k < call_kinds; ++k)
      for (size_t o = 0; o < call_outcomes; ++o)
        out.calls[k][o] = s->calls[k][o].load(std::memory_order_relaxed);
  }
  return out;
}

} // namespace troupe::metrics
