// libFuzzer target: the text of an iii-config.yaml through
// parse_engine_config(), with a fixed environment (PORT=3111, HOST=127.0.0.1,
// EMPTY set to "", nothing else set).
// Checked beyond "no crash":
// - a refused text is errc::bad_config with a message `fuzz.yaml: ...` or
//   `fuzz.yaml:LINE:COL: ...`, LINE and COL inside the text as written;
// - an accepted one holds what config.hpp promises: a queue `default`,
//   unique queue names, limits within their ranges, FIFO queues with a
//   group field, cluster timing rules, and parsing is repeatable.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz/fuzz_check.hpp"
#include "troupe/config.hpp"
#include "troupe/error.hpp"

namespace {

using troupe::fuzz::message_of;

const char* file_name = "fuzz.yaml";

std::optional<std::string> fake_env(const std::string& name) {
  if (name == "PORT") return "3111";
  if (name == "HOST") return "127.0.0.1";
  if (name == "EMPTY") return "";
  return std::nullopt;
}

/// Parses "LINE:COL: " at the front of `s`; false when it is not there.
bool position(const std::string& s, size_t& line, size_t& col) {
  size_t i = 0;
  auto number = [&](size_t& out) {
    size_t start = i;
    out = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 12)
      out = out * 10 + static_cast<size_t>(s[i++] - '0');
    return i > start;
  };
  if (!number(line) || i >= s.size() || s[i++] != ':') return false;
  return number(col) && s.compare(i, 2, ": ") == 0;
}

/// The longest line of `text` (bytes), and its number of lines.
void measure(const std::string& text, size_t& lines, size_t& longest) {
  lines = 1;
  longest = 0;
  size_t len = 0;
  for (char c : text) {
    if (c == '\n') {
      ++lines;
      len = 0;
    } else {
      longest = std::max(longest, ++len);
    }
  }
}

void check_error(const caf::error& err, const std::string& text) {
  FUZZ_CHECK(err == troupe::errc::bad_config, "not a bad_config error");
  auto msg = message_of(err);
  std::string prefix = file_name;
  FUZZ_CHECK(msg.compare(0, prefix.size(), prefix) == 0, msg);
  auto rest = msg.substr(prefix.size());
  FUZZ_CHECK(rest.size() > 2, msg);
  if (rest.compare(0, 2, ": ") == 0) {
    FUZZ_CHECK(rest.size() > 2, "no words after the file name");
    return;
  }
  FUZZ_CHECK(rest[0] == ':', msg);
  size_t line = 0;
  size_t col = 0;
  FUZZ_CHECK(position(rest.substr(1), line, col), msg);
  size_t lines = 0;
  size_t longest = 0;
  measure(text, lines, longest);
  FUZZ_CHECK(line >= 1 && line <= lines, msg);
  // One past the end of the longest line: a mark at a line's end.
  FUZZ_CHECK(col >= 1 && col <= longest + 2, msg);
}

void check_config(const troupe::engine_config& cfg) {
  FUZZ_CHECK(cfg.source == file_name, cfg.source);
  FUZZ_CHECK(cfg.find_queue("default") != nullptr, "no default queue");
  auto& queues = cfg.queue.queues;
  for (size_t i = 0; i < queues.size(); ++i) {
    auto& q = queues[i];
    FUZZ_CHECK(!q.name.empty(), "a queue without a name");
    for (size_t k = i + 1; k < queues.size(); ++k)
      FUZZ_CHECK(queues[k].name != q.name, q.name);
    FUZZ_CHECK(q.concurrency >= 1 && q.concurrency <= troupe::max_concurrency,
               q.name);
    if (q.type == troupe::queue_type::fifo)
      FUZZ_CHECK(!q.message_group_field.empty(), q.name);
    FUZZ_CHECK(troupe::max_attempts(q) >= 1, q.name);
    // Saturates, never wraps or traps, for any count of failures.
    for (uint32_t n : {1u, 2u, 63u, 64u, 65u, 4000000000u}) {
      auto d = troupe::retry_delay_ms(q, n);
      if (q.max_backoff_ms) FUZZ_CHECK(d <= *q.max_backoff_ms, q.name);
    }
  }
  auto& wm = cfg.worker_manager;
  FUZZ_CHECK(wm.max_frame_bytes >= 1
               && wm.max_frame_bytes <= troupe::max_message_bytes,
             std::to_string(wm.max_frame_bytes));
  FUZZ_CHECK(cfg.http.max_body_bytes >= 1
               && cfg.http.max_body_bytes <= troupe::max_message_bytes,
             std::to_string(cfg.http.max_body_bytes));
  FUZZ_CHECK(cfg.queue.max_payload_bytes <= troupe::max_message_bytes,
             std::to_string(cfg.queue.max_payload_bytes));
  FUZZ_CHECK(cfg.http_functions.max_response_bytes <= troupe::max_message_bytes,
             std::to_string(cfg.http_functions.max_response_bytes));
  FUZZ_CHECK(!cfg.http_functions.require_https, "require_https accepted");
  auto& c = cfg.cluster;
  FUZZ_CHECK(c.heartbeat_ms >= 50, std::to_string(c.heartbeat_ms));
  FUZZ_CHECK(c.peer_timeout_ms >= 2 * uint64_t{c.heartbeat_ms},
             std::to_string(c.peer_timeout_ms));
  FUZZ_CHECK(c.name.size() <= 255, c.name);
  if (c.enabled && c.port != 0) FUZZ_CHECK(!c.name.empty(), "no node name");
}

bool same_queues(const troupe::engine_config& a,
                 const troupe::engine_config& b) {
  if (a.queue.queues.size() != b.queue.queues.size()) return false;
  for (size_t i = 0; i < a.queue.queues.size(); ++i) {
    auto& x = a.queue.queues[i];
    auto& y = b.queue.queues[i];
    if (x.name != y.name || x.concurrency != y.concurrency
        || x.max_retries != y.max_retries || x.type != y.type
        || x.backoff_ms != y.backoff_ms || x.timeout_ms != y.timeout_ms)
      return false;
  }
  return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text{reinterpret_cast<const char*>(data), size};
  auto cfg = troupe::parse_engine_config(text, file_name, fake_env);
  if (!cfg) {
    check_error(cfg.error(), text);
    return 0;
  }
  check_config(*cfg);
  auto again = troupe::parse_engine_config(text, file_name, fake_env);
  FUZZ_CHECK(again && same_queues(*cfg, *again), "parsing is not repeatable");
  return 0;
}
