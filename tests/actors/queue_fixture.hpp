// A queue supervisor under test: a real registry publishing to a route cache
// (so deliveries take the path they take in the engine), a scripted owner of
// function "f", and helpers to enqueue, read the calls in order, the
// queue's stats and its dead letters. Each test suite spawns the queue with
// the links it needs (a store actor, a start-up grace period).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "actor_fixture.hpp"
#include "actors/queue_actor.hpp"
#include "actors/registry_actor.hpp"

namespace troupe::testing {

struct queue_fixture : actor_fixture {
  std::shared_ptr<route_cache> routes = std::make_shared<route_cache>();
  caf::actor registry = spawn(registry_actor, std::string{"registry"}, routes);
  std::shared_ptr<owner_script> script = std::make_shared<owner_script>();
  caf::actor owner = spawn(scripted_owner, script);
  caf::actor queue;
  queue_config spec;

  queue_fixture() {
    caf::anon_send(registry, register_function{"f", owner, {}, {}});
    run();
  }

  /// Spawns the queue `q` (named "q" unless it has a name) with `links`,
  /// whose registry and route cache are this fixture's.
  void spawn_queue(queue_config q, queue_links links,
                   recovered_jobs recovered = {}) {
    spec = std::move(q);
    if (spec.name.empty()) spec.name = "q";
    links.registry = registry;
    links.routes = routes;
    queue = caf::actor_cast<caf::actor>(
      spawn(queue_actor, spec, std::move(links), std::move(recovered)));
    run();
  }

  /// The payload of job `name` in `group`: {"n":name,"g":group}.
  static std::string payload(const std::string& name,
                             const std::string& group) {
    return R"({"n":")" + name + R"(","g":")" + group + R"("})";
  }

  /// Enqueues job `name` for function `fn`; returns its id.
  std::string enqueue(const std::string& name, const std::string& group = "",
                      const std::string& fn = "f") {
    auto x = make_job(spec, 1 << 20, fn, payload(name, group));
    EXPECT_TRUE(x) << caf::to_string(x.error());
    return ask<std::string>(queue, std::move(*x));
  }

  /// The job names in the order the owner saw them.
  std::vector<std::string> call_order() const {
    std::vector<std::string> out;
    for (auto& c : script->calls) {
      auto from = c.data.find(R"("n":")") + 5;
      out.push_back(c.data.substr(from, c.data.find('"', from) - from));
    }
    return out;
  }

  queue_stats stats() { return ask<queue_stats>(queue, atom::stats_v); }

  std::vector<job> dead() {
    return ask<std::vector<job>>(queue, atom::list_v, uint64_t{0},
                                 uint64_t{100});
  }

  /// Expects exactly one dead job, `id`, after `attempts` attempts.
  job expect_one_dead(const std::string& id, uint32_t attempts) {
    auto d = dead();
    EXPECT_EQ(d.size(), 1u);
    if (d.empty()) return {};
    EXPECT_EQ(d[0].id, id);
    EXPECT_EQ(d[0].attempts, attempts);
    return d[0];
  }
};

/// A standard queue's configuration with these limits.
inline queue_config standard(uint32_t concurrency, uint32_t max_retries,
                             uint64_t backoff_ms) {
  queue_config q;
  q.concurrency = concurrency;
  q.max_retries = max_retries;
  q.backoff_ms = backoff_ms;
  return q;
}

/// The same for a FIFO queue grouped by "g".
inline queue_config fifo(uint32_t concurrency, uint32_t max_retries,
                         uint64_t backoff_ms) {
  auto q = standard(concurrency, max_retries, backoff_ms);
  q.type = queue_type::fifo;
  q.message_group_field = "g";
  return q;
}

} // namespace troupe::testing
