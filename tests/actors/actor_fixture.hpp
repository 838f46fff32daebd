// A GoogleTest fixture that runs actors on CAF's deterministic
// test_coordinator: nothing runs until the test calls run(), and time only
// moves when it calls advance(). Also a scripted function owner that stands
// in for a worker: it records every invoke and answers as the test says.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <gtest/gtest.h>

#include "actors/call_error.hpp"
#include "actors/type_ids.hpp"
#include "troupe/engine.hpp"

namespace troupe::testing {

struct actor_fixture : ::testing::Test {
  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.file-verbosity", caf::atom("quiet"));
    cfg.set("logger.console-verbosity", caf::atom("quiet"));
    engine::configure(cfg);
    return cfg;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys{init(cfg)};
  caf::scheduler::test_coordinator& sched
    = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  std::vector<caf::actor> spawned;

  ~actor_fixture() override {
    for (auto& a : spawned)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
  }

  /// Spawns an actor that the fixture ends with the test; typed actors are
  /// returned as a caf::actor too (actor_cast back for the typed handle).
  template <class... Ts>
  caf::actor spawn(Ts&&... xs) {
    auto a = caf::actor_cast<caf::actor>(sys.spawn(std::forward<Ts>(xs)...));
    spawned.push_back(a);
    return a;
  }

  /// Runs every actor until no message is left (timers do not fire).
  void run() { sched.run(); }

  /// Has `owner` (a scripted_owner) answer its oldest held call.
  void release(const caf::actor& owner, bool ok) {
    caf::anon_send(owner, ok);
    run();
  }

  /// Moves the clock by `d`, fires due timers and runs until quiet.
  void advance(std::chrono::milliseconds d) {
    sched.advance_time(d);
    sched.run();
  }

  /// Sends `xs` to `dest` as a request and returns the reply of type T,
  /// running the actors in between. Fails the test on an error.
  template <class T, class... Ts>
  T ask(const caf::actor& dest, Ts&&... xs) {
    caf::scoped_actor self{sys};
    T out{};
    auto h = self->request(dest, caf::infinite, std::forward<Ts>(xs)...);
    run();
    h.receive([&](T& x) { out = std::move(x); },
              [&](caf::error& err) {
                ADD_FAILURE() << "request failed: " << caf::to_string(err);
              });
    return out;
  }
};

/// How a scripted owner answers one invoke.
/// hold: keep the call's promise (answer later with release());
/// drop: never answer and keep nothing (like a worker that went silent).
enum class answer { ok, fail, hold, drop };

/// One invoke the scripted owner saw.
struct seen_call {
  std::string function_id;
  std::string data;
  caf::actor_addr sender;
  caf::response_promise promise; // only for held calls
};

/// What a scripted owner does and saw. Shared with the test (the test
/// coordinator runs every actor on the test's thread).
struct owner_script {
  /// Decides the answer to each call; default: succeed.
  std::function<answer(const seen_call&)> decide = [](const seen_call&) {
    return answer::ok;
  };
  std::vector<seen_call> calls;
  std::deque<size_t> held;

  size_t count(const std::string& data_substring) const {
    size_t n = 0;
    for (auto& c : calls)
      if (c.data.find(data_substring) != std::string::npos) ++n;
    return n;
  }

  /// Answers the oldest held call. Runs inside the owner actor: a promise is
  /// only ever delivered by the actor that made it.
  void release(bool ok) {
    auto i = held.front();
    held.pop_front();
    calls[i].promise.deliver(
      ok ? invoke_result{true, "{}"}
         : engine_error("invocation_failed", "released as failure"));
  }
};

inline caf::behavior scripted_owner(caf::event_based_actor* self,
                                    std::shared_ptr<owner_script> script) {
  return {
    [self, script](invoke& x) -> caf::result<invoke_result> {
      seen_call c{x.function_id,
                  x.data,
                  caf::actor_cast<caf::actor_addr>(self->current_sender()),
                  {}};
      auto what = script->decide(c);
      script->calls.push_back(c);
      switch (what) {
        case answer::ok: return invoke_result{true, R"({"done":true})"};
        case answer::fail:
          return engine_error("invocation_failed", "scripted failure");
        case answer::drop: return caf::delegated<invoke_result>{};
        default:
          script->calls.back().promise = self->make_response_promise();
          script->held.push_back(script->calls.size() - 1);
          return script->calls.back().promise;
      }
    },
    [script](bool ok) { script->release(ok); },
  };
}

} // namespace troupe::testing
