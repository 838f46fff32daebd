// The SQLite store's on-disk format, version 2, and every statement the
// store runs. A format change bumps `schema_version` and adds a migration
// from the previous version, which open applies in one transaction; a store
// with a newer version is refused (an older troupe cannot know what it
// means). Version 1 had no `queues` table.
//
// jobs: one row per stored job. `seq` is the rowid, so puts append,
// for_each_job reads the table in seq order without sorting, and a requeue
// moves the row to the end. The UNIQUE index on `id` serves the by-id
// writes. Small columns come first so that count() and by-id updates rarely
// touch overflow pages.
// meta: `schema_version`, and `next_seq`, the next seq to assign (kept so
// that seqs are never reused, even after the newest jobs were deleted).
// queues (since version 2): one row per queue with a stored setting; today
// only `paused` (engine::queue::pause), and a resumed queue's row is
// deleted.
#pragma once

namespace troupe::store::sql {

constexpr int schema_version = 2;

/// The database file inside the store directory.
constexpr const char* file_name = "troupe-queue.db";

constexpr const char* create_schema = R"(
BEGIN;
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO meta VALUES ('schema_version', 2), ('next_seq', 1);
CREATE TABLE jobs (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  queue TEXT NOT NULL,
  grp TEXT NOT NULL,
  function_id TEXT NOT NULL,
  state INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  enqueued_at INTEGER NOT NULL,
  due_at INTEGER NOT NULL,
  failed_at INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  payload TEXT NOT NULL
);
CREATE TABLE queues (
  name TEXT PRIMARY KEY,
  paused INTEGER NOT NULL
) WITHOUT ROWID;
COMMIT;
)";

/// Version 1 to 2: the queues table.
constexpr const char* migrate_v1_to_v2 = R"(
BEGIN;
CREATE TABLE queues (
  name TEXT PRIMARY KEY,
  paused INTEGER NOT NULL
) WITHOUT ROWID;
UPDATE meta SET value = 2 WHERE key = 'schema_version';
COMMIT;
)";

// Open-time queries; each answers one value in its first row.
constexpr const char* has_meta
  = "SELECT count(*) FROM sqlite_master WHERE type = 'table' "
    "AND name = 'meta'";
constexpr const char* has_tables = "SELECT count(*) FROM sqlite_master";
constexpr const char* read_version
  = "SELECT value FROM meta WHERE key = 'schema_version'";
constexpr const char* read_next_seq
  = "SELECT max(coalesce((SELECT value FROM meta WHERE key = 'next_seq'), 1),"
    " coalesce((SELECT max(seq) FROM jobs), 0) + 1)";

// Prepared once, run many times.
constexpr const char* begin = "BEGIN IMMEDIATE";
constexpr const char* commit = "COMMIT";
constexpr const char* rollback = "ROLLBACK";
constexpr const char* save_next_seq
  = "UPDATE meta SET value = ?1 WHERE key = 'next_seq'";
constexpr const char* put
  = "INSERT INTO jobs (seq, id, queue, grp, function_id, state, attempts,"
    " enqueued_at, due_at, failed_at, last_error, payload)"
    " VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8, ?9, ?10, ?11)";
constexpr const char* adopt
  = "INSERT OR IGNORE INTO jobs (seq, id, queue, grp, function_id, state,"
    " attempts, enqueued_at, due_at, failed_at, last_error, payload)"
    " VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6, ?7, ?8, ?9, ?10, ?11)";
constexpr const char* remove = "DELETE FROM jobs WHERE id = ?1";
constexpr const char* retry
  = "UPDATE jobs SET attempts = ?2, state = 1, due_at = ?3, last_error = ?4"
    " WHERE id = ?1";
constexpr const char* dead
  = "UPDATE jobs SET attempts = ?2, state = 2, last_error = ?3,"
    " failed_at = ?4 WHERE id = ?1";
constexpr const char* requeue
  = "UPDATE jobs SET seq = ?2, attempts = 0, state = 0, due_at = 0,"
    " last_error = '', failed_at = 0 WHERE id = ?1";
constexpr const char* all_jobs
  = "SELECT seq, id, queue, grp, function_id, state, attempts, enqueued_at,"
    " due_at, failed_at, last_error, payload FROM jobs ORDER BY seq";
constexpr const char* count = "SELECT state, count(*) FROM jobs GROUP BY state";
/// count(*) alone: SQLite counts the cells of the smallest b-tree (the id
/// index) without decoding a row.
constexpr const char* size = "SELECT count(*) FROM jobs";
constexpr const char* pause
  = "INSERT OR REPLACE INTO queues (name, paused) VALUES (?1, 1)";
constexpr const char* resume = "DELETE FROM queues WHERE name = ?1";
constexpr const char* paused_queues
  = "SELECT name FROM queues WHERE paused = 1 ORDER BY name";

} // namespace troupe::store::sql
