// Helpers for the store tests: a fresh temporary directory per test, short
// ways to build jobs and writes, and readable failures.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <ostream>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include <caf/error.hpp>
#include <caf/message.hpp>

#include "base/errc.hpp"
#include "store/job_store.hpp"

namespace troupe::store {

inline auto fields(const stored_job& s) {
  auto& x = s.job;
  return std::tie(x.id, x.queue, x.function_id, x.payload, x.group, x.attempts,
                  x.enqueued_at, x.last_error, x.failed_at, s.seq, s.state,
                  s.due_at, s.running, s.crashes);
}

inline bool operator==(const stored_job& x, const stored_job& y) {
  return fields(x) == fields(y);
}

inline void PrintTo(const stored_job& s, std::ostream* out) {
  auto& x = s.job;
  *out << "{id " << x.id << ", queue " << x.queue << ", seq " << s.seq << ", "
       << to_string(s.state) << ", attempts " << x.attempts << ", due_at "
       << s.due_at << ", failed_at " << x.failed_at << ", last_error '"
       << x.last_error << "', running " << s.running << ", crashes "
       << s.crashes << ", payload of " << x.payload.size() << " bytes}";
}

} // namespace troupe::store

namespace troupe::store::testing {

/// A new empty directory, removed with its contents when this dies.
class temp_dir {
public:
  temp_dir() {
    auto pattern = std::filesystem::temp_directory_path() / "troupe-XXXXXX";
    path_ = pattern.string();
    if (mkdtemp(path_.data()) == nullptr)
      ADD_FAILURE() << "mkdtemp failed for " << pattern;
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const { return path_; }

  /// The SQLite store's file in this directory.
  std::string db_file() const { return path_ + "/troupe-queue.db"; }

private:
  std::string path_;
};

/// The message text of a store error.
inline std::string message(const caf::error& x) {
  auto& ctx = x.context();
  return ctx.match_elements<std::string>() ? ctx.get_as<std::string>(0)
                                           : caf::to_string(x);
}

/// A job with distinct field values derived from `id`.
inline troupe::job make_job(const std::string& id,
                            const std::string& queue = "q",
                            const std::string& group = "") {
  troupe::job x;
  x.id = id;
  x.queue = queue;
  x.function_id = "fn-" + id;
  x.payload = R"({"id":")" + id + R"("})";
  x.group = group;
  x.enqueued_at = 1700000000000;
  return x;
}

inline store_write put(troupe::job x, int64_t due_at = 0) {
  return {store_write::kind::put, std::move(x), due_at};
}

/// A write of kind `op` to job `id` with the given field values.
inline store_write write_to(store_write::kind op, const std::string& id,
                            uint32_t attempts = 0, int64_t due_at = 0,
                            const std::string& last_error = "",
                            int64_t failed_at = 0) {
  store_write w{op, {}, due_at};
  w.job.id = id;
  w.job.attempts = attempts;
  w.job.last_error = last_error;
  w.job.failed_at = failed_at;
  return w;
}

/// Owns a temp dir and a store in it; the helpers fail the test on errors.
class store_fixture {
public:
  virtual ~store_fixture() = default;

protected:
  /// (Re)opens the SQLite store in `dir`, closing the current store first.
  void open_sqlite() {
    store.reset();
    auto x = open_sqlite_store(dir.path());
    ASSERT_TRUE(x) << message(x.error());
    store = std::move(*x);
  }

  /// Applies `batch`, expecting success; returns the seqs of its puts.
  std::vector<uint64_t> apply(std::vector<store_write> batch) {
    auto x = store->apply(batch);
    EXPECT_TRUE(x) << message(x.error());
    return x ? *x : std::vector<uint64_t>{};
  }

  /// Every stored job, in for_each_job (seq) order.
  std::vector<stored_job> stored() {
    std::vector<stored_job> result;
    auto err = store->for_each_job(
      [&](stored_job&& x) { result.push_back(std::move(x)); });
    EXPECT_FALSE(err) << message(err);
    return result;
  }

  /// The ids of all stored jobs, in seq order.
  std::vector<std::string> ids() {
    std::vector<std::string> result;
    for (auto& x : stored()) result.push_back(x.job.id);
    return result;
  }

  /// The stored job `id`; a default job if there is none.
  stored_job find(const std::string& id) {
    for (auto& x : stored())
      if (x.job.id == id) return x;
    ADD_FAILURE() << "no job " << id;
    return {};
  }

  temp_dir dir;
  std::unique_ptr<job_store> store;
};

} // namespace troupe::store::testing
