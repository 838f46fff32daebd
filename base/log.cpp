#include "base/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace troupe::log {

namespace {

std::atomic<level> min_level{level::info};
std::mutex out_mtx;

const char* label(level x) {
  switch (x) {
    case level::debug: return "DEBUG";
    case level::info: return "INFO ";
    case level::warn: return "WARN ";
    case level::error: return "ERROR";
    default: return "     ";
  }
}

} // namespace

void set_level(level x) { min_level = x; }

level current_level() { return min_level.load(std::memory_order_relaxed); }

bool parse_level(std::string_view text, level& out) {
  if (text == "debug")
    out = level::debug;
  else if (text == "info")
    out = level::info;
  else if (text == "warn" || text == "warning")
    out = level::warn;
  else if (text == "error")
    out = level::error;
  else if (text == "off")
    out = level::off;
  else
    return false;
  return true;
}

void write(level lvl, std::string_view who, std::string_view what) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[64];
  std::snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  std::lock_guard<std::mutex> guard{out_mtx};
  std::fprintf(stderr, "%s %s [%.*s] %.*s\n", stamp, label(lvl),
               static_cast<int>(who.size()), who.data(),
               static_cast<int>(what.size()), what.data());
}

} // namespace troupe::log
