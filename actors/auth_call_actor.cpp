#include "actors/auth_call_actor.hpp"

#include <memory>
#include <variant>

#include "actors/type_ids.hpp"
#include "protocol/auth_api.hpp"

namespace troupe {

void auth_call_state::finish(protocol::ws_admission a) {
  if (!decided) {
    decided = true;
    try {
      decide(std::move(a));
    } catch (...) {
      // The listener's own callable; nothing more to tell it.
    }
  }
  self->quit();
}

void auth_call_state::on_answer(invoke_result& r) {
  if (!r.ok) {
    auto code = r.error_code();
    auto msg = r.error_message();
    if (code == "function_not_found") {
      finish({503,
              "the auth function " + function_id
                + " is not registered; try again later",
              nullptr});
      return;
    }
    finish({403,
            "refused by the auth function " + function_id
              + (msg.empty() ? std::string{} : ": " + msg),
            nullptr});
    return;
  }
  auto parsed = protocol::parse_auth_result(r.body);
  if (auto* why = std::get_if<std::string>(&parsed)) {
    finish({403, *why, nullptr});
    return;
  }
  finish({0,
          {},
          std::make_shared<const access_grant>(
            std::move(std::get<access_grant>(parsed)))});
}

void auth_call_state::on_timeout(std::chrono::milliseconds timeout) {
  finish({503,
          "the auth function " + function_id + " did not answer within "
            + std::to_string(timeout.count())
            + " ms (rbac.auth_timeout_ms); try again later",
          nullptr});
}

caf::behavior auth_call_actor(caf::stateful_actor<auth_call_state>* self,
                              caf::actor registry, std::string function_id,
                              std::string input,
                              std::chrono::milliseconds timeout,
                              protocol::ws_decide_fn decide) {
  auto& st = self->state;
  st.self = self;
  st.function_id = function_id;
  st.decide = std::move(decide);
  invoke call;
  call.function_id = std::move(function_id);
  call.data = std::move(input);
  call.timeout_ms = static_cast<uint64_t>(timeout.count());
  self->request(registry, caf::infinite, std::move(call))
    .then([self](invoke_result& r) { self->state.on_answer(r); },
          [self](caf::error& err) {
            self->state.finish({503,
                                "calling the auth function "
                                  + self->state.function_id
                                  + " failed: " + caf::to_string(err),
                                nullptr});
          });
  self->delayed_send(self, timeout, atom::sweep_v);
  return {
    [self, timeout](atom::sweep) { self->state.on_timeout(timeout); },
  };
}

} // namespace troupe
