// The dashboard's files (admin/dashboard/), built into the binary by
// cmake/EmbedFiles.cmake: the admin listener serves them from memory, so
// the binary needs nothing beside it.
#pragma once

#include <cstddef>
#include <string_view>

namespace troupe::admin {

struct dashboard_asset {
  /// The path under admin/dashboard/, such as "index.html" or "js/app.js".
  const char* name;
  const unsigned char* data;
  size_t size;
  /// The Content-Type it is served with.
  const char* content_type;
};

/// Every file, sorted by name (the generated table).
const dashboard_asset* dashboard_assets_begin();
const dashboard_asset* dashboard_assets_end();

/// The file called `name`, or nullptr.
const dashboard_asset* find_dashboard_asset(std::string_view name);

} // namespace troupe::admin
