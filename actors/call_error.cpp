#include "actors/call_error.hpp"

#include <caf/sec.hpp>

#include "base/errc.hpp"
#include "protocol/frames.hpp"

namespace troupe {

invoke_result engine_error(const std::string& code,
                           const std::string& message) {
  return {false, protocol::error_body_json(code, message)};
}

invoke_result request_failure(const caf::error& err, const std::string& fn,
                              uint64_t timeout_ms) {
  if (err == caf::sec::request_timeout)
    return engine_error("timeout", "Invocation of " + fn + " timed out after "
                                     + std::to_string(timeout_ms) + " ms");
  if (err == caf::sec::request_receiver_down)
    return engine_error("invocation_stopped", "Invocation stopped");
  if (err.category() == caf::atom("troupe"))
    return engine_error(to_string(static_cast<errc>(err.code())),
                        error_text(err));
  return engine_error("engine_error", caf::to_string(err));
}

} // namespace troupe
