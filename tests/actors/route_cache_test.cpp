// The route cache: what readers pick from a published table, and what the
// registry publishes (additions at its next flush, removals before its next
// message), with the round robin shared between the cache and the registry.

#include "actors/route_cache.hpp"

#include <memory>
#include <string>
#include <vector>

#include <caf/send.hpp>

#include "actor_fixture.hpp"
#include "actors/registry_actor.hpp"

using namespace troupe;
using namespace troupe::testing;

namespace {

struct route_cache_test : actor_fixture {
  std::shared_ptr<route_cache> cache = std::make_shared<route_cache>();
  caf::actor registry = spawn(registry_actor, std::string{"registry"}, cache);
  std::shared_ptr<owner_script> script_a = std::make_shared<owner_script>();
  std::shared_ptr<owner_script> script_b = std::make_shared<owner_script>();
  caf::actor a = spawn(scripted_owner, script_a);
  caf::actor b = spawn(scripted_owner, script_b);
  route_cache::reader reader{cache};

  void reg(const std::string& id, const caf::actor& owner,
           const std::string& node = {}) {
    caf::anon_send(registry, register_function{id, owner, {}, {}, node});
  }

  /// Publishes a table with one id served by `local` and `remote`.
  void publish(const std::string& id, std::vector<caf::actor> local,
               std::vector<caf::actor> remote = {}) {
    auto t = std::make_shared<route_cache::table>();
    (*t)[id] = route_cache::routes{std::move(local), std::move(remote),
                                   std::make_shared<route_cache::turns>()};
    cache->publish(std::move(t));
  }
};

} // namespace

TEST_F(route_cache_test, a_reader_without_a_cache_or_a_table_misses) {
  route_cache::reader none;
  EXPECT_FALSE(none.pick("f"));
  EXPECT_FALSE(reader.pick("f"));
}

TEST_F(route_cache_test, picks_take_turns_over_local_providers_first) {
  publish("f", {a, b}, {registry});
  std::vector<caf::actor> got;
  for (int i = 0; i < 4; ++i) got.push_back(reader.pick("f"));
  EXPECT_EQ(got, (std::vector<caf::actor>{a, b, a, b}));
  EXPECT_FALSE(reader.pick("g"));
  publish("f", {}, {b});
  EXPECT_EQ(reader.pick("f"), b) << "no local provider: a remote one";
}

TEST_F(route_cache_test, a_reader_takes_each_newer_table) {
  publish("f", {a});
  EXPECT_EQ(reader.pick("f"), a);
  publish("f", {b});
  EXPECT_EQ(reader.pick("f"), b);
  cache->publish(nullptr);
  EXPECT_FALSE(reader.pick("f"));
}

TEST_F(route_cache_test, the_registry_publishes_a_registration_at_its_flush) {
  reg("f", a);
  // The registration is handled, the flush behind it not yet: a caller
  // that misses asks the registry, which knows f already.
  sched.run_once();
  EXPECT_FALSE(reader.pick("f"));
  run();
  EXPECT_EQ(reader.pick("f"), a);
  reg("f", b, "node-2");
  run();
  EXPECT_EQ(reader.pick("f"), a) << "the local provider first";
}

TEST_F(route_cache_test, a_departure_is_published_before_the_next_message) {
  reg("f", a);
  reg("f", b);
  reg("g", b);
  run();
  auto v = cache->version();
  caf::anon_send_exit(b, caf::exit_reason::kill);
  run();
  EXPECT_GT(cache->version(), v);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(reader.pick("f"), a);
  EXPECT_FALSE(reader.pick("g"));
  caf::anon_send(registry, unregister_function{"f", a});
  sched.run_once();
  EXPECT_FALSE(reader.pick("f")) << "published while handling the unregister";
}

TEST_F(route_cache_test, the_cache_and_the_registry_share_the_turns) {
  reg("f", a);
  reg("f", b);
  run();
  EXPECT_EQ(reader.pick("f"), a);
  // The registry's own dispatch takes the next turn: b.
  auto r = ask<invoke_result>(registry, invoke{"f", "{}", {}, {}, {}, 0});
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(script_b->calls.size(), 1u);
  EXPECT_TRUE(script_a->calls.empty());
  EXPECT_EQ(reader.pick("f"), a);
}
