// Tests for cluster/cluster_messages.hpp and cluster/cluster_type_ids.hpp:
// the messages survive CAF's binary serialization (what BASP sends), alone
// and inside a caf::message, and the type-ID block follows the engine's.
#include "cluster/cluster_messages.hpp"

#include <set>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/binary_deserializer.hpp>
#include <caf/binary_serializer.hpp>
#include <caf/message.hpp>
#include <gtest/gtest.h>

#include "cluster/cluster_type_ids.hpp"
#include "troupe/messages.hpp"

using namespace troupe;

namespace {

struct cluster_messages : testing::Test {
  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.file-verbosity", caf::atom("quiet"));
    cfg.set("logger.console-verbosity", caf::atom("quiet"));
    cfg.add_message_types<caf::id_block::troupe>();
    cfg.add_message_types<caf::id_block::troupe_cluster>();
    return cfg;
  }

  /// `x` serialized, then deserialized into a fresh T.
  template <class T>
  T round_trip(T x) {
    std::vector<char> buf;
    caf::binary_serializer sink{sys, buf};
    auto err = sink(x);
    EXPECT_FALSE(err) << sys.render(err);
    EXPECT_FALSE(buf.empty());
    T result;
    caf::binary_deserializer source{sys, buf};
    err = source(result);
    EXPECT_FALSE(err) << sys.render(err);
    EXPECT_EQ(source.remaining(), 0u);
    return result;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys{init(cfg)};
};

node_hello sample_hello() {
  node_hello x;
  x.name = "node-a";
  x.incarnation = "5f0c6f9e-1d2b-4c47-9a59-0e4d3c2b1a00";
  x.advertise = "[::1]:7000";
  x.config_digest = "29b16a98faff934d";
  x.heartbeat_ms = 1000;
  x.peer_timeout_ms = 5000;
  x.cookie_proof = "8f93f49aeeedf351";
  x.members = {{"node-b", "10.0.0.2:7000", "inc-b", 1},
               {"node-c", "10.0.0.3:7000", "", 4}};
  return x;
}

void expect_equal(const member_info& a, const member_info& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.advertise, b.advertise);
  EXPECT_EQ(a.incarnation, b.incarnation);
  EXPECT_EQ(a.status, b.status);
}

void expect_equal(const node_hello& a, const node_hello& b) {
  EXPECT_EQ(a.protocol, b.protocol);
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.incarnation, b.incarnation);
  EXPECT_EQ(a.advertise, b.advertise);
  EXPECT_EQ(a.config_digest, b.config_digest);
  EXPECT_EQ(a.heartbeat_ms, b.heartbeat_ms);
  EXPECT_EQ(a.peer_timeout_ms, b.peer_timeout_ms);
  EXPECT_EQ(a.cookie_proof, b.cookie_proof);
  ASSERT_EQ(a.members.size(), b.members.size());
  for (size_t i = 0; i < a.members.size(); ++i)
    expect_equal(a.members[i], b.members[i]);
}

} // namespace

TEST_F(cluster_messages, node_hello_round_trips) {
  auto x = sample_hello();
  auto y = round_trip(x);
  EXPECT_EQ(y.protocol, cluster_protocol);
  expect_equal(x, y);
  expect_equal(node_hello{}, round_trip(node_hello{}));
}

TEST_F(cluster_messages, hello_round_trips_inside_a_message) {
  auto msg = caf::make_message(atom::hello_v, sample_hello());
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto err = sink(msg);
  ASSERT_FALSE(err) << sys.render(err);
  caf::message copy;
  caf::binary_deserializer source{sys, buf};
  err = source(copy);
  ASSERT_FALSE(err) << sys.render(err);
  ASSERT_TRUE((copy.match_elements<atom::hello, node_hello>()));
  expect_equal(sample_hello(), copy.get_as<node_hello>(1));
}

TEST_F(cluster_messages, fn_update_and_refusal_round_trip) {
  fn_update x{{{"svc::echo", "echoes", "{\"v\":1}"}, {"svc::b", "", ""}},
              {"svc::gone"}};
  auto y = round_trip(x);
  ASSERT_EQ(y.added.size(), 2u);
  EXPECT_EQ(y.added[0].id, "svc::echo");
  EXPECT_EQ(y.added[0].description, "echoes");
  EXPECT_EQ(y.added[0].metadata, "{\"v\":1}");
  EXPECT_EQ(y.added[1].id, "svc::b");
  EXPECT_EQ(y.removed, std::vector<std::string>{"svc::gone"});
  auto r = round_trip(hello_refusal{"queue 'x' only here"});
  EXPECT_EQ(r.reason, "queue 'x' only here");
  auto members = round_trip(sample_hello().members);
  ASSERT_EQ(members.size(), 2u);
  expect_equal(members[1], sample_hello().members[1]);
}

TEST_F(cluster_messages, http_update_round_trips_inside_a_message) {
  http_update x{{{"t-1", "orders::create",
                  R"({"api_path":"/orders","http_method":"POST"})",
                  R"({"team":"x"})"},
                 {"t-2", "f", "{}", ""}},
                {"t-0"}};
  auto msg = caf::make_message(atom::httproute_v, x);
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto err = sink(msg);
  ASSERT_FALSE(err) << sys.render(err);
  caf::message copy;
  caf::binary_deserializer source{sys, buf};
  err = source(copy);
  ASSERT_FALSE(err) << sys.render(err);
  ASSERT_TRUE((copy.match_elements<atom::httproute, http_update>()));
  auto& y = copy.get_as<http_update>(1);
  ASSERT_EQ(y.added.size(), 2u);
  EXPECT_EQ(y.added[0].id, "t-1");
  EXPECT_EQ(y.added[0].function_id, "orders::create");
  EXPECT_EQ(y.added[0].config, x.added[0].config);
  EXPECT_EQ(y.added[0].metadata, R"({"team":"x"})");
  EXPECT_EQ(y.added[1].metadata, "");
  EXPECT_EQ(y.removed, std::vector<std::string>{"t-0"});
}

TEST_F(cluster_messages, call_and_result_batches_round_trip_inside_a_message) {
  call_batch x{{{7, true,
                 invoke{"svc::echo", R"({"s":"h\u00e9"})", R"({"trace":"t"})",
                        "00-ab-cd-01", "k=v", 5000}},
                {0, false, invoke{"svc::sink", "null", {}, {}, {}, 0}}}};
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  auto err = sink(caf::make_message(x));
  ASSERT_FALSE(err) << sys.render(err);
  caf::message copy;
  caf::binary_deserializer source{sys, buf};
  err = source(copy);
  ASSERT_FALSE(err) << sys.render(err);
  ASSERT_TRUE((copy.match_elements<call_batch>()));
  auto& y = copy.get_as<call_batch>(0);
  ASSERT_EQ(y.calls.size(), 2u);
  EXPECT_EQ(y.calls[0].id, 7u);
  EXPECT_TRUE(y.calls[0].reply);
  EXPECT_EQ(y.calls[0].call.function_id, "svc::echo");
  EXPECT_EQ(y.calls[0].call.data, x.calls[0].call.data);
  EXPECT_EQ(y.calls[0].call.metadata, R"({"trace":"t"})");
  EXPECT_EQ(y.calls[0].call.traceparent, "00-ab-cd-01");
  EXPECT_EQ(y.calls[0].call.baggage, "k=v");
  EXPECT_EQ(y.calls[0].call.timeout_ms, 5000u);
  EXPECT_FALSE(y.calls[1].reply);

  result_batch r{{{7, invoke_result{false, R"({"code":"x"})"}},
                  {8, invoke_result{true, "[1]"}}},
                 {y.calls[0]}};
  auto z = round_trip(r);
  ASSERT_EQ(z.results.size(), 2u);
  EXPECT_EQ(z.results[0].id, 7u);
  EXPECT_FALSE(z.results[0].result.ok);
  EXPECT_EQ(z.results[0].result.body, R"({"code":"x"})");
  EXPECT_EQ(z.results[1].result.body, "[1]");
  ASSERT_EQ(z.refused.size(), 1u);
  EXPECT_EQ(z.refused[0].call.baggage, "k=v");
}

TEST(cluster_type_ids, block_follows_the_engine_block) {
  EXPECT_EQ(caf::id_block::troupe_cluster::begin, caf::id_block::troupe::end);
  EXPECT_EQ(caf::type_id<member_info>::value, caf::id_block::troupe::end);
  EXPECT_EQ(caf::id_block::troupe_cluster::end
              - caf::id_block::troupe_cluster::begin,
            12);
  // Appended, so that the earlier types keep their ids.
  EXPECT_EQ(caf::type_id<http_update>::value + 1,
            caf::type_id<remote_call>::value);
  EXPECT_EQ(caf::type_id<result_batch>::value + 1,
            caf::id_block::troupe_cluster::end);
  EXPECT_STREQ(caf::type_name<node_hello>::value, "troupe::node_hello");
}

TEST(cluster_type_ids, atom_texts_are_unique_project_wide) {
  std::vector<caf::atom_value> all{
    // cluster/cluster_type_ids.hpp
    atom::hello::value, atom::bye::value, atom::setup::value,
    atom::dialseeds::value, atom::dial::value, atom::qlocal::value,
    // actors/type_ids.hpp
    atom::frame::value, atom::write_out::value, atom::closed::value,
    atom::sweep::value, atom::provide::value, atom::retry::value,
    atom::park::value, atom::count::value, atom::requeue::value,
    atom::drain::value, atom::children::value, atom::persist::value,
    atom::flush::value, atom::members::value, atom::fwdenq::value,
    atom::worker::value, atom::reattach::value, atom::localcall::value,
    atom::watch::value, atom::fnupdate::value, atom::providers::value,
    atom::qcluster::value, atom::fanout::value, atom::httproute::value,
    atom::httprouter::value, atom::catalog::value, atom::fnwatch::value,
    atom::fnchanged::value, atom::wname::value, atom::httpdone::value,
    atom::respawn::value,
    // include/troupe/messages.hpp
    atom::list::value, atom::stats::value, atom::redrive::value,
    atom::discard::value, atom::lookup::value, atom::jobs::value,
    atom::groups::value, atom::pause::value, atom::resume::value,
    atom::retrynow::value, atom::metrics::value};
  std::set<caf::atom_value> unique(all.begin(), all.end());
  EXPECT_EQ(unique.size(), all.size());
  EXPECT_EQ(caf::to_string(atom::localcall::value), "localcall");
}
