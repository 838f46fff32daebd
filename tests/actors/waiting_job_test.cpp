#include "actors/waiting_job.hpp"

#include <gtest/gtest.h>

namespace troupe {
namespace {

job sample(std::string id) {
  job x;
  x.id = std::move(id);
  x.queue = "orders";
  x.function_id = "orders::process-payment";
  x.payload = std::string(100, 'p');
  x.group = "customer-7";
  x.attempts = 2;
  x.enqueued_at = 1764000000123;
  return x;
}

void expect_same(const job& a, const job& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.queue, b.queue);
  EXPECT_EQ(a.function_id, b.function_id);
  EXPECT_EQ(a.payload, b.payload);
  EXPECT_EQ(a.group, b.group);
  EXPECT_EQ(a.attempts, b.attempts);
  EXPECT_EQ(a.enqueued_at, b.enqueued_at);
  EXPECT_EQ(a.last_error, b.last_error);
  EXPECT_EQ(a.failed_at, 0);
}

constexpr auto uuid = "0b9e5f0c-3d5a-4c7e-9f1e-2a6b8c4d0e1f";

TEST(waiting_job, a_uuid_job_comes_back_whole) {
  function_names names;
  auto x = sample(uuid);
  waiting_job w{job{x}, names};
  EXPECT_EQ(w.id(), uuid);
  EXPECT_EQ(w.enqueued_at(), x.enqueued_at);
  EXPECT_EQ(w.payload_size(), 100u);
  expect_same(w.to_job("orders", "customer-7"), x);
  expect_same(w.release("orders", "customer-7"), x);
}

TEST(waiting_job, other_ids_and_errors_are_kept_too) {
  function_names names;
  for (std::string id :
       {std::string{}, std::string{"job-1"},
        std::string(36, 'x').replace(3, 1, 1, '\0'), std::string(37, 'y')}) {
    auto x = sample(id);
    x.last_error = R"({"code":"boom","message":"it failed"})";
    waiting_job w{job{x}, names};
    EXPECT_EQ(w.id(), id);
    expect_same(w.release("orders", "customer-7"), x);
  }
}

TEST(waiting_job, is_smaller_than_a_job) {
  // The point of it: a waiting job costs this much plus its payload.
  EXPECT_LE(sizeof(waiting_job), 112u);
  EXPECT_LT(sizeof(waiting_job), sizeof(job) / 2);
}

TEST(function_names, consecutive_jobs_share_the_function_id) {
  function_names names;
  auto a = names.intern("fn::a");
  auto b = names.intern("fn::a");
  auto c = names.intern("fn::c");
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), c.get());
  EXPECT_EQ(*a, "fn::a");
  EXPECT_EQ(*c, "fn::c");
}

} // namespace
} // namespace troupe
