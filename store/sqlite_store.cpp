// The SQLite store: one database file in WAL mode. A batch that creates or
// restores jobs, or that a user's operation waits for, commits with
// synchronous=FULL, so it is on disk when apply() returns; one of only the
// engine's own bookkeeping (attempt starts, acks, retries, moves to the DLQ)
// commits with synchronous=NORMAL: written to the WAL (kept through a crash
// of the process) and made durable by the next FULL commit or checkpoint.
// The connection holds an exclusive lock for its lifetime: a second engine
// on the same directory is refused at open. The only library file that
// includes sqlite3.h.

#include "store/job_count.hpp"
#include "store/job_store.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include <sqlite3.h>

#include "store/sqlite_schema.hpp"
#include "store/store_error.hpp"

namespace troupe::store {

namespace {

using kind = store_write::kind;

struct db_closer {
  void operator()(sqlite3* x) const { sqlite3_close_v2(x); }
};
using db_ptr = std::unique_ptr<sqlite3, db_closer>;

struct stmt_finalizer {
  void operator()(sqlite3_stmt* x) const { sqlite3_finalize(x); }
};
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;

/// Resets a statement when leaving scope, so it can run again.
class stmt_scope {
public:
  explicit stmt_scope(const stmt_ptr& x) : x_(x.get()) {}
  ~stmt_scope() { sqlite3_reset(x_); }
  stmt_scope(const stmt_scope&) = delete;
  stmt_scope& operator=(const stmt_scope&) = delete;

private:
  sqlite3_stmt* x_;
};

// Bound strings are not copied: they must outlive the next step. Every run
// binds all parameters again, so stale pointers are never read.
int bind_one(sqlite3_stmt* x, int i, const std::string& str) {
  return sqlite3_bind_text64(x, i, str.data(), str.size(), SQLITE_STATIC,
                             SQLITE_UTF8);
}

int bind_one(sqlite3_stmt* x, int i, int64_t num) {
  return sqlite3_bind_int64(x, i, num);
}

/// Binds `xs` to parameters 1, 2, ... and runs the statement once. Returns
/// SQLITE_OK or the first error.
template <class... Ts>
int run(const stmt_ptr& x, const Ts&... xs) {
  stmt_scope scope{x};
  auto i = 0;
  auto rc = SQLITE_OK;
  ((rc = rc == SQLITE_OK ? bind_one(x.get(), ++i, xs) : rc), ...);
  if (rc == SQLITE_OK) rc = sqlite3_step(x.get());
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

std::string column_text(sqlite3_stmt* x, int i) {
  auto str = reinterpret_cast<const char*>(sqlite3_column_text(x, i));
  return str ? std::string(str, sqlite3_column_bytes(x, i)) : std::string{};
}

caf::error make_store_directory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return store_error("cannot create store directory '" + dir
                       + "': " + ec.message());
  return {};
}

// synchronous=FULL: a commit is on disk (the WAL is fsynced) when it returns;
// write_all() sets NORMAL for a batch of bookkeeping only (see above).
// An 8 MiB page cache: the engine holds every live job in memory anyway,
// and the pages of the id index a commit touches come from the OS's cache.
// With 1M waiting jobs, 64 MiB cost 66 MiB more RSS than in_memory and
// 8 MiB costs 4 MiB, for about the same put rate. Checkpointing every
// 64 MiB of WAL instead of every 4 MiB raises the put rate by about half (1M
// jobs, batches of 500: 65k/s instead of 44k/s) at the cost of an apply()
// that checkpoints taking up to ~100 ms.
constexpr const char* tuning = "PRAGMA synchronous = FULL;"
                               "PRAGMA cache_size = -8192;"
                               "PRAGMA wal_autocheckpoint = 16384;";

class sqlite_store final : public job_store {
public:
  caf::error open(const std::string& dir) {
    dir_ = dir;
    path_ = (std::filesystem::path{dir} / sql::file_name).string();
    // SQLite takes an empty file for a new database: a store file that lost
    // its contents would start as an empty store, its jobs gone unnoticed.
    std::error_code ec;
    if (std::filesystem::is_regular_file(path_, ec)
        && std::filesystem::file_size(path_, ec) == 0 && !ec)
      return store_error("store file '" + path_
                         + "' is empty (0 bytes), not a troupe store; "
                           "remove it to start with an empty store");
    sqlite3* db = nullptr;
    auto rc = sqlite3_open_v2(path_.c_str(), &db,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
                                | SQLITE_OPEN_NOMUTEX,
                              nullptr);
    db_.reset(db); // Even on error: the handle must be closed.
    if (rc != SQLITE_OK)
      return db ? fail("opening") : store_error("out of memory");
    if (auto err = configure()) return err;
    if (auto err = check_schema()) return err;
    return prepare_all();
  }

  caf::expected<std::vector<uint64_t>>
  apply(const std::vector<store_write>& batch) override {
    std::vector<uint64_t> seqs;
    if (batch.empty()) return seqs;
    if (auto err = write_all(batch, seqs)) return err;
    return seqs;
  }

  caf::error
  for_each_job(const std::function<void(stored_job&&)>& each) override {
    auto x = all_jobs_.get();
    stmt_scope scope{all_jobs_};
    int rc;
    stored_job row;
    auto& job = row.job;
    while ((rc = sqlite3_step(x)) == SQLITE_ROW) {
      row.seq = static_cast<uint64_t>(sqlite3_column_int64(x, 0));
      job.id = column_text(x, 1);
      job.queue = column_text(x, 2);
      job.group = column_text(x, 3);
      job.function_id = column_text(x, 4);
      auto state = sqlite3_column_int64(x, 5);
      if (state < 0 || state > static_cast<int>(job_state::dead))
        return store_error("store file '" + path_ + "': job " + job.id
                           + " has unknown state " + std::to_string(state));
      row.state = static_cast<job_state>(state);
      job.attempts = static_cast<uint32_t>(sqlite3_column_int64(x, 6));
      job.enqueued_at = sqlite3_column_int64(x, 7);
      row.due_at = sqlite3_column_int64(x, 8);
      job.failed_at = sqlite3_column_int64(x, 9);
      job.last_error = column_text(x, 10);
      job.payload = column_text(x, 11);
      row.running = sqlite3_column_int64(x, 12) != 0;
      row.crashes = static_cast<uint32_t>(sqlite3_column_int64(x, 13));
      each(std::move(row));
    }
    if (rc != SQLITE_DONE) return fail("loading jobs");
    return {};
  }

  caf::expected<state_counts> count() override {
    state_counts result;
    auto x = count_.get();
    stmt_scope scope{count_};
    int rc;
    while ((rc = sqlite3_step(x)) == SQLITE_ROW) {
      auto n = static_cast<uint64_t>(sqlite3_column_int64(x, 1));
      switch (sqlite3_column_int64(x, 0)) {
        case static_cast<int>(job_state::waiting): result.waiting = n; break;
        case static_cast<int>(job_state::delayed): result.delayed = n; break;
        case static_cast<int>(job_state::dead): result.dead = n; break;
      }
    }
    if (rc != SQLITE_DONE) return fail("counting jobs");
    return result;
  }

  caf::expected<uint64_t> size() {
    auto x = size_.get();
    stmt_scope scope{size_};
    if (sqlite3_step(x) != SQLITE_ROW) return fail("counting jobs");
    return static_cast<uint64_t>(sqlite3_column_int64(x, 0));
  }

  caf::expected<std::vector<std::string>> paused_queues() override {
    std::vector<std::string> result;
    auto x = paused_queues_.get();
    stmt_scope scope{paused_queues_};
    int rc;
    while ((rc = sqlite3_step(x)) == SQLITE_ROW)
      result.push_back(column_text(x, 0));
    if (rc != SQLITE_DONE) return fail("reading the paused queues");
    return result;
  }

private:
  /// An error for the failed operation `what`, with SQLite's reason.
  caf::error fail(const std::string& what) const {
    auto code = sqlite3_errcode(db_.get());
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
      return store_error("store file '" + path_
                         + "' is in use by another process (another troupe "
                           "engine?): "
                         + what + ": " + sqlite3_errmsg(db_.get()));
    return store_error("store file '" + path_ + "': " + what + ": "
                       + sqlite3_errmsg(db_.get()));
  }

  /// Runs `sql` and returns its first row's first value ("" if none).
  caf::expected<std::string> query(const char* sql, const char* what) {
    sqlite3_stmt* raw = nullptr;
    auto rc = sqlite3_prepare_v2(db_.get(), sql, -1, &raw, nullptr);
    stmt_ptr x{raw};
    if (rc != SQLITE_OK) return fail(what);
    rc = sqlite3_step(x.get());
    if (rc == SQLITE_ROW) return column_text(x.get(), 0);
    if (rc == SQLITE_DONE) return std::string{};
    return fail(what);
  }

  caf::error configure() {
    // The first statement that reads the file: a file that is not a
    // database fails here. The lock is held until close.
    if (sqlite3_exec(db_.get(), "PRAGMA locking_mode = EXCLUSIVE", nullptr,
                     nullptr, nullptr)
        != SQLITE_OK)
      return fail("locking");
    auto mode = query("PRAGMA journal_mode = WAL", "switching to WAL mode");
    if (!mode) return std::move(mode.error());
    if (*mode != "wal")
      return store_error("store file '" + path_
                         + "': cannot switch to WAL mode (journal mode is "
                         + *mode + ")");
    if (sqlite3_exec(db_.get(), tuning, nullptr, nullptr, nullptr) != SQLITE_OK)
      return fail("configuring");
    auto check = query("PRAGMA quick_check(1)", "checking integrity");
    if (!check) return std::move(check.error());
    if (*check != "ok") {
      std::replace(check->begin(), check->end(), '\n', ' ');
      return store_error("store file '" + path_ + "' is corrupted: " + *check);
    }
    return {};
  }

  caf::error check_schema() {
    auto meta = query(sql::has_meta, "reading the schema");
    auto tables = query(sql::has_tables, "reading the schema");
    if (!meta || !tables)
      return std::move(meta ? tables.error() : meta.error());
    if (*meta == "0" && *tables != "0")
      return store_error("store file '" + path_
                         + "' is not a troupe store (no meta table)");
    if (*meta == "0"
        && sqlite3_exec(db_.get(), sql::create_schema, nullptr, nullptr,
                        nullptr)
             != SQLITE_OK)
      return fail("creating the schema");
    auto version = query(sql::read_version, "reading the schema version");
    if (!version) return std::move(version.error());
    auto n = std::atoll(version->c_str());
    if (*version == "1") {
      if (sqlite3_exec(db_.get(), sql::migrate_v1_to_v2, nullptr, nullptr,
                       nullptr)
          != SQLITE_OK) {
        auto err = fail("migrating the schema from version 1 to 2");
        if (!sqlite3_get_autocommit(db_.get()))
          sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
        return err;
      }
      n = 2;
      *version = "2";
    }
    if (*version == "2") {
      if (sqlite3_exec(db_.get(), sql::migrate_v2_to_v3, nullptr, nullptr,
                       nullptr)
          != SQLITE_OK) {
        auto err = fail("migrating the schema from version 2 to 3");
        if (!sqlite3_get_autocommit(db_.get()))
          sqlite3_exec(db_.get(), "ROLLBACK", nullptr, nullptr, nullptr);
        return err;
      }
      n = 3;
      *version = "3";
    }
    if (n > sql::schema_version)
      return store_error("store at " + dir_ + " has schema version " + *version
                         + "; this troupe reads version "
                         + std::to_string(sql::schema_version));
    if (n != sql::schema_version)
      return store_error("store at " + dir_ + " has unknown schema version '"
                         + *version + "'");
    auto next = query(sql::read_next_seq, "reading the next seq");
    if (!next) return std::move(next.error());
    next_seq_ = std::strtoull(next->c_str(), nullptr, 10);
    return {};
  }

  caf::error prepare_all() {
    std::pair<stmt_ptr*, const char*> table[] = {
      {&begin_, sql::begin},
      {&commit_, sql::commit},
      {&rollback_, sql::rollback},
      {&save_next_seq_, sql::save_next_seq},
      {&put_, sql::put},
      {&adopt_, sql::adopt},
      {&remove_, sql::remove},
      {&retry_, sql::retry},
      {&dead_, sql::dead},
      {&requeue_, sql::requeue},
      {&start_, sql::start},
      {&crashed_, sql::crashed},
      {&all_jobs_, sql::all_jobs},
      {&count_, sql::count},
      {&size_, sql::size},
      {&pause_, sql::pause},
      {&resume_, sql::resume},
      {&paused_queues_, sql::paused_queues},
    };
    for (auto& [out, text] : table) {
      sqlite3_stmt* raw = nullptr;
      auto rc = sqlite3_prepare_v3(db_.get(), text, -1,
                                   SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
      out->reset(raw);
      if (rc != SQLITE_OK) return fail(std::string{"preparing '"} + text + "'");
    }
    return {};
  }

  /// One transaction for `batch`; on any error, rolled back and `next_seq_`
  /// restored.
  caf::error write_all(const std::vector<store_write>& batch,
                       std::vector<uint64_t>& seqs) {
    auto full = needs_fsync(batch);
    if (full != synchronous_full_) {
      if (sqlite3_exec(db_.get(),
                       full ? "PRAGMA synchronous = FULL"
                            : "PRAGMA synchronous = NORMAL",
                       nullptr, nullptr, nullptr)
          != SQLITE_OK)
        return fail("setting the commit's durability");
      synchronous_full_ = full;
    }
    if (run(begin_) != SQLITE_OK) return fail("beginning a transaction");
    auto first_seq = next_seq_;
    auto err = caf::error{};
    for (auto i = batch.begin(); !err && i != batch.end(); ++i)
      err = write(*i, seqs);
    if (!err && next_seq_ != first_seq
        && run(save_next_seq_, static_cast<int64_t>(next_seq_)) != SQLITE_OK)
      err = fail("saving the next seq");
    if (!err && run(commit_) != SQLITE_OK) err = fail("committing");
    if (err) {
      next_seq_ = first_seq;
      // A failed COMMIT may leave the transaction open; SQLite may also
      // have rolled it back already.
      if (!sqlite3_get_autocommit(db_.get())) run(rollback_);
    }
    return err;
  }

  /// True unless every write of `batch` is bookkeeping whose loss in a power
  /// cut (not a crash of the process) leaves every job accounted for: an
  /// attempt that starts or was cut off, an ack (the job runs again), a
  /// retry or a move to the DLQ (the attempt runs again). Puts and adopts
  /// are receipts; requeues, discards and pauses answer a user.
  static bool needs_fsync(const std::vector<store_write>& batch) {
    for (auto& w : batch) {
      switch (w.op) {
        case kind::start:
        case kind::crashed:
        case kind::ack:
        case kind::retry:
        case kind::dead: break;
        default: return true;
      }
    }
    return false;
  }

  caf::error write(const store_write& w, std::vector<uint64_t>& seqs) {
    auto& x = w.job;
    auto seq = int64_t{0};
    if (w.op == kind::put || w.op == kind::adopt || w.op == kind::requeue)
      seq = static_cast<int64_t>(next_seq_++);
    auto attempts = static_cast<int64_t>(x.attempts);
    int rc;
    switch (w.op) {
      case kind::put:
        seqs.push_back(static_cast<uint64_t>(seq));
        rc = run(put_, seq, x.id, x.queue, x.group, x.function_id, attempts,
                 x.enqueued_at, w.due_at, x.failed_at, x.last_error, x.payload);
        break;
      case kind::adopt:
        seqs.push_back(static_cast<uint64_t>(seq));
        rc = run(adopt_, seq, x.id, x.queue, x.group, x.function_id, attempts,
                 x.enqueued_at, w.due_at, x.failed_at, x.last_error, x.payload);
        break;
      case kind::ack:
      case kind::discard: rc = run(remove_, x.id); break;
      case kind::retry:
        rc = run(retry_, x.id, attempts, w.due_at, x.last_error);
        break;
      case kind::dead:
        rc = run(dead_, x.id, attempts, x.last_error, x.failed_at);
        break;
      case kind::requeue: rc = run(requeue_, x.id, seq); break;
      case kind::start: rc = run(start_, x.id); break;
      case kind::crashed: rc = run(crashed_, x.id); break;
      case kind::pause: rc = run(pause_, x.queue); break;
      case kind::resume: rc = run(resume_, x.queue); break;
      default:
        return store_error("unknown write to job " + x.id + ": "
                           + to_string(w.op));
    }
    if (rc != SQLITE_OK)
      return fail(w.op == kind::pause || w.op == kind::resume
                    ? to_string(w.op) + " of queue " + x.queue
                    : to_string(w.op) + " of job " + x.id);
    return {};
  }

  std::string dir_;
  std::string path_;
  uint64_t next_seq_ = 1;
  /// The connection's synchronous setting: FULL (the tuning's) or NORMAL.
  bool synchronous_full_ = true;
  // Declared before the statements, so it is closed after them.
  db_ptr db_;
  stmt_ptr begin_;
  stmt_ptr commit_;
  stmt_ptr rollback_;
  stmt_ptr save_next_seq_;
  stmt_ptr put_;
  stmt_ptr adopt_;
  stmt_ptr remove_;
  stmt_ptr retry_;
  stmt_ptr dead_;
  stmt_ptr requeue_;
  stmt_ptr start_;
  stmt_ptr crashed_;
  stmt_ptr all_jobs_;
  stmt_ptr count_;
  stmt_ptr size_;
  stmt_ptr pause_;
  stmt_ptr resume_;
  stmt_ptr paused_queues_;
};

} // namespace

caf::expected<std::unique_ptr<job_store>>
open_sqlite_store(const std::string& dir) {
  if (auto err = make_store_directory(dir)) return err;
  auto result = std::make_unique<sqlite_store>();
  if (auto err = result->open(dir)) return err;
  return std::unique_ptr<job_store>{std::move(result)};
}

caf::expected<uint64_t> count_stored_jobs(job_store& db) {
  if (auto* x = dynamic_cast<sqlite_store*>(&db)) return x->size();
  auto n = db.count();
  if (!n) return n.error();
  return n->waiting + n->delayed + n->dead;
}

} // namespace troupe::store
