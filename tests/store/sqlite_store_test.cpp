// What only the SQLite store promises: everything survives a reopen, the
// file is in WAL mode, and bad files or directories give clear errors, never
// a crash. The tests open the file with SQLite directly to inspect or damage
// it.

#include "store/job_store.hpp"

#include <fstream>

#include <sqlite3.h>

#include "store_fixture.hpp"

using namespace troupe;
using namespace troupe::store;
using namespace troupe::store::testing;
using kind = store_write::kind;

namespace {

class sqlite_store_test : public ::testing::Test, public store_fixture {
protected:
  /// Expects open_sqlite_store(`at`) to fail with a store_failure; returns
  /// its message.
  std::string open_error(const std::string& at) {
    auto x = open_sqlite_store(at);
    EXPECT_FALSE(x);
    if (x) return "";
    EXPECT_EQ(x.error(), errc::store_failure);
    return message(x.error());
  }

  /// Runs one statement on the store's file through a separate connection
  /// and returns the first value it answers ("" if none).
  std::string run_sql(const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(dir.db_file().c_str(), &db), SQLITE_OK);
    sqlite3_stmt* x = nullptr;
    std::string result;
    auto rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &x, nullptr);
    if (rc == SQLITE_OK) rc = sqlite3_step(x);
    if (rc == SQLITE_ROW)
      result = reinterpret_cast<const char*>(sqlite3_column_text(x, 0));
    else if (rc != SQLITE_DONE)
      ADD_FAILURE() << sql << ": " << sqlite3_errmsg(db);
    sqlite3_finalize(x);
    sqlite3_close(db);
    return result;
  }

  /// Replaces the store's file with `bytes`.
  void write_file(const std::string& bytes) {
    std::ofstream out{dir.db_file(), std::ios::binary | std::ios::trunc};
    out << bytes;
  }
};

bool contains(const std::string& str, const std::string& part) {
  return str.find(part) != std::string::npos;
}

TEST_F(sqlite_store_test, reopen_keeps_everything) {
  open_sqlite();
  apply({put(make_job("a", "q", "g")), put(make_job("b", "q", "g")),
         put(make_job("c", "r")), put(make_job("d", "r"))});
  apply({write_to(kind::retry, "a", 1, 1000, R"({"code":"x"})"),
         write_to(kind::dead, "c", 5, 0, R"({"code":"y"})", 2000),
         write_to(kind::requeue, "b")});
  auto before = stored();
  ASSERT_EQ(before.size(), 4u);
  open_sqlite();
  EXPECT_EQ(stored(), before);
  EXPECT_EQ(find("c").job.attempts, 5u);
  EXPECT_EQ(find("c").state, job_state::dead);
}

TEST_F(sqlite_store_test, creates_missing_parent_directories) {
  auto x = open_sqlite_store(dir.path() + "/a/b/c");
  ASSERT_TRUE(x) << message(x.error());
  EXPECT_TRUE(std::filesystem::exists(dir.path() + "/a/b/c/troupe-queue.db"));
}

TEST_F(sqlite_store_test, uncreatable_directory_is_refused) {
  std::ofstream{dir.path() + "/plain"} << "a file";
  auto at = dir.path() + "/plain/store";
  EXPECT_EQ(open_error(at),
            "cannot create store directory '" + at + "': Not a directory");
}

TEST_F(sqlite_store_test, garbage_file_is_refused_naming_it) {
  write_file(std::string(8192, '\x5a'));
  auto msg = open_error(dir.path());
  EXPECT_TRUE(contains(msg, dir.db_file())) << msg;
  EXPECT_TRUE(contains(msg, "not a database")) << msg;
}

TEST_F(sqlite_store_test, empty_file_is_refused_not_started_as_a_new_store) {
  write_file("");
  auto msg = open_error(dir.path());
  EXPECT_TRUE(contains(msg, dir.db_file())) << msg;
  EXPECT_TRUE(contains(msg, "is empty (0 bytes), not a troupe store")) << msg;
}

TEST_F(sqlite_store_test, corrupted_file_is_refused_naming_it) {
  open_sqlite();
  for (int i = 0; i < 200; ++i)
    apply({put(make_job("job-" + std::to_string(i)))});
  store.reset();
  auto size = std::filesystem::file_size(dir.db_file());
  ASSERT_GT(size, 3 * 4096u);
  // Overwrite everything after the header page with a pattern.
  std::fstream out{dir.db_file(),
                   std::ios::binary | std::ios::in | std::ios::out};
  out.seekp(4096);
  out << std::string(size - 4096, '\x5a');
  out.close();
  auto msg = open_error(dir.path());
  EXPECT_TRUE(contains(msg, dir.db_file())) << msg;
}

TEST_F(sqlite_store_test, foreign_database_is_refused) {
  std::filesystem::remove(dir.db_file());
  run_sql("CREATE TABLE t (x)");
  auto msg = open_error(dir.path());
  EXPECT_TRUE(contains(msg, "not a troupe store")) << msg;
}

TEST_F(sqlite_store_test, newer_schema_version_is_refused) {
  open_sqlite();
  store.reset();
  run_sql("UPDATE meta SET value = 2 WHERE key = 'schema_version'");
  EXPECT_EQ(open_error(dir.path()), "store at " + dir.path()
                                      + " has schema version 2; this troupe "
                                        "reads version 1");
}

TEST_F(sqlite_store_test, wal_mode_is_on) {
  open_sqlite();
  apply({put(make_job("a"))});
  EXPECT_TRUE(std::filesystem::exists(dir.db_file() + "-wal"));
  store.reset();
  EXPECT_EQ(run_sql("PRAGMA journal_mode"), "wal");
}

TEST_F(sqlite_store_test, second_open_of_a_directory_is_refused) {
  open_sqlite();
  auto msg = open_error(dir.path());
  EXPECT_TRUE(contains(msg, "locked")) << msg;
  apply({put(make_job("a"))}); // the first store still works
  EXPECT_EQ(ids(), (std::vector<std::string>{"a"}));
}

} // namespace
