// Error bodies the engine itself produces for a call, in the shape the SDK
// turns into an InvocationError: `{"code":...,"message":...}`.
#pragma once

#include <cstdint>
#include <string>

#include <caf/error.hpp>

#include "actors/messages.hpp"
#include "troupe/error.hpp"

namespace troupe {

/// An invoke_result carrying the engine's error `{code, message}`.
invoke_result engine_error(const std::string& code, const std::string& message);

/// Maps a failed request to an error body: `timeout` after `timeout_ms`,
/// `invocation_stopped` when the owner went away, the troupe error code for
/// our own errors.
invoke_result request_failure(const caf::error& err, const std::string& fn,
                              uint64_t timeout_ms);

} // namespace troupe
