// Engine error codes, carried as caf::error values across actors and nodes.
// Values are stable: they cross the network between troupe nodes.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace troupe {

enum class errc : uint8_t {
  none = 0,
  /// A configuration file or value is invalid; the message says where.
  bad_config = 1,
  /// A frame or request could not be parsed or had wrong field types.
  bad_frame = 2,
  /// No queue of that name is configured.
  unknown_queue = 3,
  /// An enqueue was rejected (FIFO field missing, payload too large, ...).
  enqueue_rejected = 4,
  /// No worker has registered the function.
  function_not_found = 5,
  /// The worker running the invocation went away before answering.
  invocation_stopped = 6,
  /// The invocation did not answer in time.
  timeout = 7,
  /// The durable store failed (I/O, corruption, wrong schema).
  store_failure = 8,
  /// The engine is shutting down and takes no new work.
  shutting_down = 9,
};

std::string to_string(errc x);

/// Renders errors of the "troupe" category for caf::actor_system::render.
std::string render_errc(uint8_t code, caf::atom_value, const caf::message& ctx);

} // namespace troupe

CAF_ERROR_CODE_ENUM(troupe::errc, "troupe")
