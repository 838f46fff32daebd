#include "admin/dashboard_assets.hpp"

#include <algorithm>

namespace troupe::admin {

const dashboard_asset* find_dashboard_asset(std::string_view name) {
  auto first = dashboard_assets_begin();
  auto last = dashboard_assets_end();
  auto i = std::lower_bound(first, last, name,
                            [](const dashboard_asset& x, std::string_view n) {
                              return std::string_view{x.name} < n;
                            });
  return i != last && std::string_view{i->name} == name ? i : nullptr;
}

} // namespace troupe::admin
