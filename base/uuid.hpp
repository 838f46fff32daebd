// Random UUID v4 strings for receipts, invocation ids and worker ids.
// Each thread draws from its own generator seeded from std::random_device.
#pragma once

#include <string>

namespace troupe {

/// A new random UUID v4, lower-case, e.g. "0f8fad5b-d9cb-469f-a165-70867728950e".
std::string make_uuid();

/// True if `s` has the 8-4-4-4-12 hex shape of a UUID.
bool looks_like_uuid(const std::string& s);

} // namespace troupe
