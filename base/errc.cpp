#include "base/errc.hpp"

#include <caf/message.hpp>

namespace troupe {

std::string to_string(errc x) {
  switch (x) {
    case errc::none: return "none";
    case errc::bad_config: return "bad_config";
    case errc::bad_frame: return "bad_frame";
    case errc::unknown_queue: return "unknown_queue";
    case errc::enqueue_rejected: return "enqueue_rejected";
    case errc::store_failure: return "store_failure";
    case errc::shutting_down: return "shutting_down";
    case errc::job_not_found: return "job_not_found";
    case errc::invalid_argument: return "invalid_argument";
  }
  return "errc(" + std::to_string(static_cast<int>(x)) + ")";
}

std::string error_text(const caf::error& err) {
  auto& ctx = err.context();
  if (ctx.match_elements<std::string>()) return ctx.get_as<std::string>(0);
  return caf::to_string(err);
}

std::string render_errc(uint8_t code, caf::atom_value,
                        const caf::message& ctx) {
  auto result = to_string(static_cast<errc>(code));
  if (!ctx.empty()) {
    result += ": ";
    result += ctx.match_elements<std::string>() ? ctx.get_as<std::string>(0)
                                                : to_string(ctx);
  }
  return result;
}

} // namespace troupe
