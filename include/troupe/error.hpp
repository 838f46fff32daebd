// troupe's error codes: the `troupe` category of caf::error. Engine calls
// that fail return (or deliver) a caf::error with one of these codes and,
// as its context, one string saying what went wrong in words a user can act
// on. Values are stable: they cross the network between troupe nodes.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/make_message.hpp>

namespace troupe {

/// Values 5, 6 and 7 belonged to codes nothing produced any more; they stay
/// unused so that an older node never misreads a newer code.
enum class errc : uint8_t {
  none = 0,
  /// A configuration file or value is invalid; the message says where.
  bad_config = 1,
  /// A frame or request could not be parsed or had wrong field types.
  bad_frame = 2,
  /// No queue of that name is configured ("Queue 'Q' not found").
  unknown_queue = 3,
  /// An enqueue was rejected (FIFO field missing, payload too large, ...);
  /// the message is the `enqueue_error` text a worker would get.
  enqueue_rejected = 4,
  /// The durable store failed (I/O, corruption, wrong schema).
  store_failure = 8,
  /// The engine is shutting down and takes no new work.
  shutting_down = 9,
  /// No job with that id is in the queue (or in any queue).
  job_not_found = 10,
  /// A request's argument is out of its range (e.g. the groups of a
  /// standard queue).
  invalid_argument = 11,
};

/// The code's name, e.g. "enqueue_rejected".
std::string to_string(errc x);

/// The message of a troupe error (its context string), or CAF's rendering
/// of any other error.
std::string error_text(const caf::error& err);

} // namespace troupe

CAF_ERROR_CODE_ENUM(troupe::errc, "troupe")
