// The store's one error shape: errc::store_failure with a message that says
// which operation failed, on what, and why.
#pragma once

#include <string>
#include <utility>

#include <caf/error.hpp>

#include "base/errc.hpp"

namespace troupe::store {

inline caf::error store_error(std::string what) {
  return caf::make_error(errc::store_failure, std::move(what));
}

} // namespace troupe::store
