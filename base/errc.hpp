// The engine's error codes (public in troupe/error.hpp) and how the actor
// system renders them.
#pragma once

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/message.hpp>

#include "troupe/error.hpp"

namespace troupe {

/// Renders errors of the "troupe" category for caf::actor_system::render.
std::string render_errc(uint8_t code, caf::atom_value, const caf::message& ctx);

} // namespace troupe
