// The registry's ownership rules, driven deterministically.

#include "actors/registry_actor.hpp"

#include "actor_fixture.hpp"
#include "protocol/json_member.hpp"

using namespace troupe;
using namespace troupe::testing;

namespace {

struct registry_test : actor_fixture {
  caf::actor registry = spawn(registry_actor);
  std::shared_ptr<owner_script> script_a = std::make_shared<owner_script>();
  std::shared_ptr<owner_script> script_b = std::make_shared<owner_script>();
  caf::actor a = spawn(scripted_owner, script_a);
  caf::actor b = spawn(scripted_owner, script_b);

  void reg(const std::string& id, const caf::actor& owner) {
    caf::anon_send(registry, register_function{id, owner, {}, {}});
    run();
  }

  invoke_result call(const std::string& id) {
    return ask<invoke_result>(registry, invoke{id, R"({"x":1})", {}, {}, {}, 0});
  }

  std::string error_code(const invoke_result& r) {
    return protocol::find_member(r.body, "code").value;
  }
};

} // namespace

TEST_F(registry_test, invoke_reaches_the_owner_and_its_answer_the_caller) {
  reg("math::add", a);
  auto r = call("math::add");
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.body, R"({"done":true})");
  ASSERT_EQ(script_a->calls.size(), 1u);
  EXPECT_EQ(script_a->calls[0].data, R"({"x":1})");
}

TEST_F(registry_test, unknown_function_is_function_not_found) {
  auto r = call("nope");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(error_code(r), "function_not_found");
  EXPECT_EQ(protocol::find_member(r.body, "message").value,
            "Function nope not found");
}

TEST_F(registry_test, last_writer_wins) {
  reg("f", a);
  reg("f", b);
  call("f");
  EXPECT_EQ(script_a->calls.size(), 0u);
  EXPECT_EQ(script_b->calls.size(), 1u);
}

TEST_F(registry_test, unregister_by_a_former_owner_is_ignored) {
  reg("f", a);
  reg("f", b);
  caf::anon_send(registry, unregister_function{"f", a});
  run();
  EXPECT_TRUE(call("f").ok);
  caf::anon_send(registry, unregister_function{"f", b});
  run();
  EXPECT_EQ(error_code(call("f")), "function_not_found");
}

TEST_F(registry_test, an_owner_going_down_takes_only_what_it_still_owns) {
  reg("shared", a);
  reg("only_a", a);
  reg("shared", b);
  caf::anon_send_exit(a, caf::exit_reason::kill);
  run();
  EXPECT_EQ(error_code(call("only_a")), "function_not_found");
  EXPECT_TRUE(call("shared").ok);
  EXPECT_EQ(script_b->calls.size(), 1u);
}

TEST_F(registry_test, trigger_of_an_unprovided_type_is_rejected) {
  caf::scoped_actor self{sys};
  auto h = self->request(registry, caf::infinite,
                         register_trigger{"t1", "cron", "f", "{}", {}, a});
  run();
  std::string why;
  h.receive([] { ADD_FAILURE() << "accepted"; },
            [&](caf::error& err) { why = error_text(err); });
  EXPECT_NE(why.find("trigger type 'cron' is not provided"), std::string::npos)
    << why;
}

TEST_F(registry_test, list_names_every_function) {
  reg("b::f", a);
  reg("a::f", b);
  auto ids = ask<std::vector<std::string>>(registry, atom::list_v);
  EXPECT_EQ(ids, (std::vector<std::string>{"a::f", "b::f"}));
}
