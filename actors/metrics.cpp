#include "actors/metrics.hpp"

namespace troupe::metrics {

namespace {

// Buckets from docs/architecture.md (Metrics); 30 s is the default
// timeout_ms, so a timed-out attempt lands in its own bucket.
constexpr double wait_values[] = {.001, .005, .01, .05, .1, .5, 1,
                                  5,    10,   30,  60,  300, 900, 3600};
constexpr double attempt_values[] = {.001, .0025, .005, .01, .025, .05,
                                     .1,   .25,   .5,   1,   2.5,  5,
                                     10,   30,    60,   300};
constexpr double completion_values[] = {.005, .01,  .05,  .1,    .5,
                                        1,    5,    10,   30,    60,
                                        300,  900,  3600, 21600, 86400};
constexpr double commit_values[] = {.0001, .00025, .0005, .001, .0025, .005,
                                    .01,   .025,   .05,   .1,   .25,   1};
constexpr double writes_values[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000};

template <size_t N>
constexpr bounds make_bounds(const double (&xs)[N]) {
  return bounds{xs, N};
}

} // namespace

const bounds wait_seconds = make_bounds(wait_values);
const bounds attempt_seconds = make_bounds(attempt_values);
const bounds completion_seconds = make_bounds(completion_values);
const bounds commit_seconds = make_bounds(commit_values);
const bounds commit_writes = make_bounds(writes_values);

const char* to_label(attempt_result x) {
  switch (x) {
    case attempt_result::ok:
      return "ok";
    case attempt_result::error:
      return "error";
    case attempt_result::timeout:
      return "timeout";
    case attempt_result::stopped:
      return "stopped";
    case attempt_result::not_found:
      return "not_found";
  }
  return "error";
}

attempt_result classify_error(const std::string& code) {
  if (code == "timeout") return attempt_result::timeout;
  if (code == "invocation_stopped") return attempt_result::stopped;
  if (code == "function_not_found") return attempt_result::not_found;
  return attempt_result::error;
}

const char* to_label(call_kind x) {
  switch (x) {
    case call_kind::sync:
      return "sync";
    case call_kind::void_call:
      return "void";
    case call_kind::enqueue:
      return "enqueue";
  }
  return "sync";
}

const char* to_label(call_outcome x) {
  switch (x) {
    case call_outcome::ok:
      return "ok";
    case call_outcome::error:
      return "error";
    case call_outcome::timeout:
      return "timeout";
    case call_outcome::not_found:
      return "not_found";
    case call_outcome::stopped:
      return "stopped";
    case call_outcome::sent:
      return "sent";
  }
  return "error";
}

call_outcome classify_call(const std::string& code) {
  switch (classify_error(code)) {
    case attempt_result::timeout:
      return call_outcome::timeout;
    case attempt_result::stopped:
      return call_outcome::stopped;
    case attempt_result::not_found:
      return call_outcome::not_found;
    default:
      return call_outcome::error;
  }
}

} // namespace troupe::metrics
