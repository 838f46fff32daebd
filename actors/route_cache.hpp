// Who serves each function id, readable without a message to the registry.
// A job's delivery and a worker's sync call used to ask the registry actor
// on every call, one more actor hop (and wake-up) per job. The registry is
// the cache's only writer: after its providers change it publishes an
// immutable table, and callers pick a provider from the latest one, taking
// turns with the registry's own dispatch (the round-robin positions are
// shared). A caller that finds no provider asks the registry, which has the
// last word: an id registered a moment ago is only there until its next
// publish, and remote-only ids that must stay local go through it anyway.
// Removals are published before the registry handles its next message, so a
// provider the registry has dropped is not picked after that.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/actor.hpp>

namespace troupe {

class route_cache {
public:
  /// Round-robin positions of one function id, one per list; they count
  /// turns (the position is the count modulo the list's size).
  struct turns {
    std::atomic<size_t> local{0};
    std::atomic<size_t> remote{0};
  };

  /// One function id's providers: this node's first, then other nodes'.
  struct routes {
    std::vector<caf::actor> local;
    std::vector<caf::actor> remote;
    /// Shared with the registry and with the tables before and after.
    std::shared_ptr<turns> next;
  };

  using table = std::unordered_map<std::string, routes>;

  /// Replaces the table; readers see it at their next pick.
  void publish(std::shared_ptr<const table> t);

  /// How many tables were published.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

  /// One caller's view (not shared between threads): picks from a table it
  /// keeps, and takes a newer one when the registry published it.
  class reader {
  public:
    reader() = default;

    /// A null `cache` reads nothing: every pick misses.
    explicit reader(std::shared_ptr<const route_cache> cache)
        : cache_(std::move(cache)) {
      // nop
    }

    /// The provider whose turn it is: on this node if any, else on another
    /// node; an invalid handle when the table has none.
    caf::actor pick(const std::string& id);

  private:
    std::shared_ptr<const route_cache> cache_;
    uint64_t version_ = 0;
    std::shared_ptr<const table> table_;
  };

private:
  std::shared_ptr<const table> current() const;

  mutable std::mutex mtx_;
  std::shared_ptr<const table> table_;
  std::atomic<uint64_t> version_{0};
};

} // namespace troupe
