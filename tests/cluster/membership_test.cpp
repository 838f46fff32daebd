// Tests for cluster/membership: the fixed hashes (against vectors computed
// once by an independent implementation), FIFO ownership, the queue config
// digest and its differences, the redial backoff and member statuses.
#include "base/membership.hpp"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

using namespace troupe;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string> three{"node-a:7000", "node-b:7000",
                                     "node-c:7000"};

queue_config make_queue(std::string name,
                        queue_type type = queue_type::standard,
                        std::string field = "") {
  queue_config q;
  q.name = std::move(name);
  q.type = type;
  q.message_group_field = std::move(field);
  return q;
}

std::vector<queue_config> seed_queues() {
  return {make_queue("default"),
          make_queue("payment", queue_type::fifo, "orderId")};
}

} // namespace

// -- fixed hashes
// ---------------------------------------------------------------

// The vectors below come from a 10-line Python FNV-1a/fmix64; if one of
// these tests fails, nodes of the old and new build would disagree.

TEST(membership, fnv1a64_matches_the_standard_vectors) {
  EXPECT_EQ(fnv1a64(""), 0xcbf29ce484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xaf63dc4c8601ec8cULL);
  EXPECT_EQ(fnv1a64("foobar"), 0x85944171f73967e8ULL);
  EXPECT_EQ(fnv1a64(std::string_view{"a\0b", 3}),
            fnv1a64(std::string{"a\0b", 3}));
  EXPECT_NE(fnv1a64(std::string_view{"a\0b", 3}), fnv1a64("ab"));
}

TEST(membership, hrw_score_is_fixed) {
  EXPECT_EQ(hrw_score("node-b:7000", "payment", "order-1"),
            0xc43f47aef5d6a036ULL);
  EXPECT_EQ(hrw_score("node-c:7000", "payment", "order-2"),
            0xf73b8f3572e7f753ULL);
  EXPECT_EQ(hrw_score("node-a:7000", "emails", "customer-42"),
            0x6be9d2bb3ed1689aULL);
}

TEST(membership, fifo_owner_matches_the_fixed_vectors) {
  EXPECT_EQ(fifo_owner(three, "payment", "order-1"), "node-b:7000");
  EXPECT_EQ(fifo_owner(three, "payment", "order-2"), "node-c:7000");
  EXPECT_EQ(fifo_owner(three, "emails", "customer-42"), "node-a:7000");
}

TEST(membership, fifo_owner_ignores_member_order) {
  auto reversed = three;
  std::reverse(reversed.begin(), reversed.end());
  for (int i = 0; i < 200; ++i) {
    auto g = "order-" + std::to_string(i);
    EXPECT_EQ(fifo_owner(three, "payment", g),
              fifo_owner(reversed, "payment", g));
  }
}

TEST(membership, fifo_owner_of_no_members_is_empty) {
  EXPECT_EQ(fifo_owner({}, "payment", "order-1"), "");
  EXPECT_EQ(fifo_owner({"solo"}, "payment", "order-1"), "solo");
}

TEST(membership, ties_go_to_the_smaller_name) {
  auto same = [](std::string_view) { return uint64_t{7}; };
  EXPECT_EQ(detail::hrw_argmax({"b", "c", "a"}, same), "a");
  EXPECT_EQ(detail::hrw_argmax({"c", "b"}, same), "b");
  auto by_length = [](std::string_view x) { return uint64_t{x.size()}; };
  EXPECT_EQ(detail::hrw_argmax({"zz", "yy", "x"}, by_length), "yy");
  EXPECT_EQ(detail::hrw_argmax({}, same), "");
}

TEST(membership, groups_spread_evenly_even_when_only_a_suffix_differs) {
  std::map<std::string, int> count;
  for (int i = 0; i < 10000; ++i)
    ++count[fifo_owner(three, "payment", "order-" + std::to_string(i))];
  ASSERT_EQ(count.size(), 3u);
  for (const auto& [member, n] : count) {
    EXPECT_GT(n, 3000) << member;
    EXPECT_LT(n, 3700) << member;
  }
}

TEST(membership, a_fourth_member_takes_about_a_quarter_of_the_groups) {
  auto four = three;
  four.push_back("node-d:7000");
  int moved = 0;
  for (int i = 0; i < 10000; ++i) {
    auto g = "g" + std::to_string(i);
    auto before = fifo_owner(three, "q", g);
    auto after = fifo_owner(four, "q", g);
    if (before == after) continue;
    ++moved;
    EXPECT_EQ(after, "node-d:7000") << g << " moved between old members";
  }
  EXPECT_GT(moved, 2000);
  EXPECT_LT(moved, 3000);
}

TEST(membership, a_leaving_member_hands_over_only_its_own_groups) {
  std::vector<std::string> two{"node-a:7000", "node-c:7000"};
  for (int i = 0; i < 2000; ++i) {
    auto g = "g" + std::to_string(i);
    auto before = fifo_owner(three, "q", g);
    if (before != "node-b:7000") {
      EXPECT_EQ(fifo_owner(two, "q", g), before) << g;
    }
  }
}

// -- config digest
// --------------------------------------------------------------

TEST(membership, digest_is_fixed) {
  EXPECT_EQ(queue_config_digest(seed_queues()), "29b16a98faff934d");
  EXPECT_EQ(queue_config_digest({}), "40f72102dcdca219");
}

TEST(membership, digest_ignores_order_and_per_node_settings) {
  auto a = seed_queues();
  auto b = seed_queues();
  std::reverse(b.begin(), b.end());
  for (auto& q : b) {
    q.concurrency = 1;
    q.max_retries = 99;
    q.backoff_ms = 7;
    q.max_backoff_ms = 8;
    q.timeout_ms = 9;
    q.poll_interval_ms = 10;
  }
  EXPECT_EQ(queue_config_digest(a), queue_config_digest(b));
  EXPECT_TRUE(queue_config_differences(a, b).empty());
}

TEST(membership, digest_changes_with_names_types_and_group_fields) {
  auto base = queue_config_digest(seed_queues());
  auto renamed = seed_queues();
  renamed[1].name = "payments";
  EXPECT_NE(queue_config_digest(renamed), base);
  auto retyped = seed_queues();
  retyped[0].type = queue_type::fifo;
  retyped[0].message_group_field = "k";
  EXPECT_NE(queue_config_digest(retyped), base);
  auto regrouped = seed_queues();
  regrouped[1].message_group_field = "customerId";
  EXPECT_NE(queue_config_digest(regrouped), base);
  auto more = seed_queues();
  more.push_back(make_queue("email"));
  EXPECT_NE(queue_config_digest(more), base);
}

TEST(membership, differences_name_each_queue_in_words) {
  std::vector<queue_config> here{
    make_queue("default"), make_queue("payment", queue_type::fifo, "orderId"),
    make_queue("x"), make_queue("grouped", queue_type::fifo, "a")};
  std::vector<queue_config> there{make_queue("default"), make_queue("payment"),
                                  make_queue("y"),
                                  make_queue("grouped", queue_type::fifo, "b")};
  EXPECT_EQ(queue_config_differences(here, there),
            (std::vector<std::string>{
              "queue 'grouped': message_group_field 'a' here, 'b' there",
              "queue 'payment': type fifo here, standard there",
              "queue 'x' only here",
              "queue 'y' only there",
            }));
}

// -- cookie proof
// ---------------------------------------------------------------

TEST(membership, cookie_proof_is_fixed_and_hides_the_cookie) {
  EXPECT_EQ(cookie_proof("s3cret", "inc-a", ""), "8f93f49aeeedf351");
  EXPECT_EQ(cookie_proof("s3cret", "inc-b", "inc-a"), "245ea71d749c9fdc");
  EXPECT_EQ(cookie_proof("s3cret", "inc-a", "").find("s3cret"),
            std::string::npos);
}

TEST(membership, cookie_proof_depends_on_cookie_and_both_incarnations) {
  auto base = cookie_proof("s3cret", "inc-a", "inc-b");
  EXPECT_NE(cookie_proof("s3cret!", "inc-a", "inc-b"), base);
  EXPECT_NE(cookie_proof("s3cret", "inc-b", "inc-a"), base);
  EXPECT_NE(cookie_proof("s3cret", "inc-a", "inc-c"), base);
  EXPECT_NE(cookie_proof("s3cret", "inc-a", ""), base);
  EXPECT_EQ(cookie_proof("s3cret", "inc-a", "inc-b"), base);
}

TEST(membership, no_cookie_means_an_empty_proof) {
  EXPECT_EQ(cookie_proof("", "inc-a", "inc-b"), "");
}

// -- redial and status
// ----------------------------------------------------------

TEST(membership, redial_delay_doubles_from_250_ms_to_a_5_s_cap) {
  EXPECT_EQ(redial_delay(0), 250ms);
  EXPECT_EQ(redial_delay(1), 250ms);
  EXPECT_EQ(redial_delay(2), 500ms);
  EXPECT_EQ(redial_delay(3), 1000ms);
  EXPECT_EQ(redial_delay(4), 2000ms);
  EXPECT_EQ(redial_delay(5), 4000ms);
  EXPECT_EQ(redial_delay(6), 5000ms);
  EXPECT_EQ(redial_delay(33), 5000ms);
  EXPECT_EQ(redial_delay(UINT32_MAX), 5000ms);
}

TEST(membership, member_status_has_stable_wire_values_and_names) {
  std::vector<std::pair<member_status, std::string>> all{
    {member_status::connecting, "connecting"},
    {member_status::up, "up"},
    {member_status::down, "down"},
    {member_status::left, "left"},
    {member_status::refused, "refused"}};
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(static_cast<size_t>(all[i].first), i);
    EXPECT_EQ(to_string(all[i].first), all[i].second);
    EXPECT_EQ(member_status_from(static_cast<uint8_t>(i)), all[i].first);
  }
  EXPECT_EQ(member_status_from(5), std::nullopt);
  EXPECT_EQ(member_status_from(255), std::nullopt);
}
