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

  /// Runs the SQL script `sql` on a fresh store file (an older schema, ...).
  void write_raw(const char* sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dir.db_file().c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    auto rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << err;
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

// Batches of bookkeeping only (starts, acks, retries, moves to the DLQ)
// commit without waiting for fsync, those with puts or a user's operation
// with it; switching between the two loses nothing a reopen reads.
TEST_F(sqlite_store_test, bookkeeping_and_durable_batches_interleave) {
  open_sqlite();
  apply({put(make_job("a")), put(make_job("b")), put(make_job("c"))});
  apply({write_to(kind::start, "a"), write_to(kind::start, "b")});
  apply({write_to(kind::ack, "a"),
         write_to(kind::retry, "b", 1, 5000, R"({"code":"x"})")});
  apply({put(make_job("d")), write_to(kind::start, "c")});
  apply({write_to(kind::dead, "c", 3, 0, R"({"code":"y"})", 7000)});
  apply({write_to(kind::requeue, "c"), write_to(kind::start, "d")});
  auto before = stored();
  ASSERT_EQ(before.size(), 3u);
  open_sqlite();
  EXPECT_EQ(stored(), before);
  EXPECT_EQ(find("b").state, job_state::delayed);
  EXPECT_EQ(find("b").job.attempts, 1u);
  EXPECT_EQ(find("c").state, job_state::waiting);
  EXPECT_TRUE(find("d").running);
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
  run_sql("UPDATE meta SET value = 4 WHERE key = 'schema_version'");
  EXPECT_EQ(open_error(dir.path()), "store at " + dir.path()
                                      + " has schema version 4; this troupe "
                                        "reads version 3");
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

namespace {

/// The schema of a version 1 store, as troupe wrote it before the queues
/// table.
constexpr const char* schema_v1 = R"(
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO meta VALUES ('schema_version', 1), ('next_seq', 8);
CREATE TABLE jobs (
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, queue TEXT NOT NULL,
  grp TEXT NOT NULL, function_id TEXT NOT NULL, state INTEGER NOT NULL,
  attempts INTEGER NOT NULL, enqueued_at INTEGER NOT NULL,
  due_at INTEGER NOT NULL, failed_at INTEGER NOT NULL,
  last_error TEXT NOT NULL, payload TEXT NOT NULL);
INSERT INTO jobs VALUES (3, 'a', 'q', 'g', 'fn', 1, 2, 100, 5000, 0,
  '{"code":"x"}', '{"n":1}');
INSERT INTO jobs VALUES (7, 'b', 'r', '', 'fn', 2, 3, 200, 0, 6000,
  '{"code":"y"}', '{"n":2}');
)";

} // namespace

TEST_F(sqlite_store_test, a_version_1_store_is_migrated_keeping_its_jobs) {
  ASSERT_NO_FATAL_FAILURE(write_raw(schema_v1));
  open_sqlite();
  auto all = stored();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].job.id, "a");
  EXPECT_EQ(all[0].seq, 3u);
  EXPECT_EQ(all[0].state, job_state::delayed);
  EXPECT_EQ(all[0].due_at, 5000);
  EXPECT_EQ(all[0].job.payload, R"({"n":1})");
  EXPECT_EQ(all[1].state, job_state::dead);
  EXPECT_EQ(all[1].job.failed_at, 6000);
  EXPECT_TRUE(store->paused_queues()->empty());
  // The new table works, seqs go on from the old next_seq, and the file
  // now says version 3.
  auto seqs = apply({put(make_job("c")), make_pause_write("q", true)});
  ASSERT_EQ(seqs.size(), 1u);
  EXPECT_EQ(seqs[0], 8u);
  store.reset();
  EXPECT_EQ(run_sql("SELECT value FROM meta WHERE key = 'schema_version'"),
            "3");
  open_sqlite();
  EXPECT_EQ(*store->paused_queues(), std::vector<std::string>{"q"});
  EXPECT_EQ(ids(), (std::vector<std::string>{"a", "b", "c"}));
}

namespace {

/// A version 2 store: version 1 plus the queues table, without the
/// `running` and `crashes` columns.
constexpr const char* schema_v2 = R"(
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT INTO meta VALUES ('schema_version', 2), ('next_seq', 4);
CREATE TABLE jobs (
  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, queue TEXT NOT NULL,
  grp TEXT NOT NULL, function_id TEXT NOT NULL, state INTEGER NOT NULL,
  attempts INTEGER NOT NULL, enqueued_at INTEGER NOT NULL,
  due_at INTEGER NOT NULL, failed_at INTEGER NOT NULL,
  last_error TEXT NOT NULL, payload TEXT NOT NULL);
CREATE TABLE queues (name TEXT PRIMARY KEY, paused INTEGER NOT NULL)
  WITHOUT ROWID;
INSERT INTO queues VALUES ('q', 1);
INSERT INTO jobs VALUES (3, 'a', 'q', '', 'fn', 1, 2, 100, 5000, 0,
  '{"code":"x"}', '{"n":1}');
)";

} // namespace

TEST_F(sqlite_store_test, a_version_2_store_is_migrated_keeping_its_jobs) {
  ASSERT_NO_FATAL_FAILURE(write_raw(schema_v2));
  open_sqlite();
  auto all = stored();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].job.id, "a");
  EXPECT_EQ(all[0].state, job_state::delayed);
  EXPECT_EQ(all[0].job.attempts, 2u);
  EXPECT_FALSE(all[0].running);
  EXPECT_EQ(all[0].crashes, 0u);
  EXPECT_EQ(*store->paused_queues(), std::vector<std::string>{"q"});
  apply({write_to(kind::start, "a"), write_to(kind::crashed, "a")});
  store.reset();
  EXPECT_EQ(run_sql("SELECT value FROM meta WHERE key = 'schema_version'"),
            "3");
  open_sqlite();
  EXPECT_EQ(find("a").crashes, 1u);
}

TEST_F(sqlite_store_test, a_new_store_has_version_3_and_a_queues_table) {
  open_sqlite();
  store.reset();
  EXPECT_EQ(run_sql("SELECT value FROM meta WHERE key = 'schema_version'"),
            "3");
  EXPECT_EQ(run_sql("SELECT count(*) FROM sqlite_master WHERE name = 'queues'"),
            "1");
}
