// The engine's named queues, fixed at start-up: name -> supervisor and
// configuration. Shared read-only (through shared_ptr<const>) by every
// session, so validating an enqueue needs no extra message hop.
#pragma once

#include <cstddef>
#include <string>
#include <unordered_map>

#include <caf/actor.hpp>

#include "troupe/config.hpp"

namespace troupe {

struct queue_entry {
  caf::actor supervisor;
  queue_config spec;
};

struct queue_directory {
  std::unordered_map<std::string, queue_entry> queues;
  size_t max_payload_bytes = 1024 * 1024;

  const queue_entry* find(const std::string& name) const {
    auto i = queues.find(name);
    return i == queues.end() ? nullptr : &i->second;
  }
};

} // namespace troupe
