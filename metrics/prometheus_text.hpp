// A metrics snapshot (metrics/collect.hpp) as Prometheus text format 0.0.4,
// through prometheus-cpp's data model (MetricFamily) and TextSerializer; its
// registry and HTTP server are not used (the actors own the counters, and
// the admin listener serves the text). README (Metrics) lists the names.
#pragma once

#include <string>

#include "actors/metrics.hpp"

namespace troupe::metrics {

/// The Content-Type of what render() returns.
constexpr const char* prometheus_content_type
  = "text/plain; version=0.0.4; charset=utf-8";

/// Renders `x`, families in a fixed order, series sorted within each.
std::string render(const snapshot& x);

} // namespace troupe::metrics
