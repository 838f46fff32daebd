// How many jobs a store holds, as cheaply as the store allows: recovery
// asks it first, to report its progress as "N of M jobs loaded". The SQLite
// store counts the rows of its smallest b-tree without decoding one (a
// fraction of a GROUP BY over every row, which job_store::count() is);
// any other store sums job_store::count().
#pragma once

#include <cstdint>

#include <caf/expected.hpp>

#include "store/job_store.hpp"

namespace troupe::store {

caf::expected<uint64_t> count_stored_jobs(job_store& db);

} // namespace troupe::store
