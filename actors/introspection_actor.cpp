#include "actors/introspection_actor.hpp"

#include <chrono>

#include <caf/send.hpp>

#include "actors/type_ids.hpp"
#include "base/log.hpp"
#include "protocol/frames.hpp"
#include "protocol/introspection_api.hpp"

namespace troupe {

namespace {

/// A registry that does not answer within this is a broken engine; the
/// caller gets an error instead of waiting for its own timeout.
constexpr auto catalog_timeout = std::chrono::seconds(10);

/// iii's descriptions of the functions.
struct described {
  const char* id;
  const char* description;
};

const std::vector<described>& descriptions() {
  static const std::vector<described> xs{
    {"engine::functions::list",
     "List registered functions with their owning worker name."},
    {"engine::functions::info",
     "Inspect functions: schemas, owner, and registered triggers."},
    {"engine::workers::list", "List workers connected to the engine."},
    {"engine::workers::info",
     "Inspect one connected worker's full surface (functions, trigger "
     "types, registered triggers)."},
    {"engine::triggers::list",
     "List trigger types registered with the engine."},
    {"engine::registered-triggers::list",
     "List registered trigger instances (subscriber rows)."},
    {"engine::registered-triggers::info",
     "Inspect one registered trigger instance with denormalized trigger and "
     "function detail."},
    {"engine::log::debug", "Record a DEBUG-level log line."},
    {"engine::log::info", "Record an INFO-level log line."},
    {"engine::log::warn", "Record a WARN-level log line."},
    {"engine::log::error", "Record an ERROR-level log line."},
  };
  return xs;
}

bool is_log_call(const std::string& id) {
  return id.rfind("engine::log::", 0) == 0;
}

void write_log(const std::string& function_id, const std::string& who,
               const protocol::log_call& x) {
  auto level = function_id.substr(sizeof("engine::log::") - 1);
  if (level == "debug")
    log::debug(who, x.message, x.fields);
  else if (level == "warn")
    log::warn(who, x.message, x.fields);
  else if (level == "error")
    log::error(who, x.message, x.fields);
  else
    log::info(who, x.message, x.fields);
}

} // namespace

const std::vector<std::string>& log_function_ids() {
  static const std::vector<std::string> ids{"engine::log::debug",
                                            "engine::log::info",
                                            "engine::log::warn",
                                            "engine::log::error"};
  return ids;
}

caf::result<invoke_result> introspection_state::on_invoke(invoke& x) {
  if (is_log_call(x.function_id)) return log_call(x);
  auto rp = self->make_response_promise<invoke_result>();
  self->request(registry, catalog_timeout, atom::catalog_v)
    .then(
      [rp, fn = x.function_id,
       data = x.data](const protocol::catalog& c) mutable {
        rp.deliver(protocol::answer_introspection(fn, data, c));
      },
      [rp](caf::error& err) mutable {
        rp.deliver(invoke_result::error("invocation_failed",
                                        "the registry did not answer: "
                                          + caf::to_string(err)));
      });
  return rp;
}

caf::result<invoke_result> introspection_state::log_call(invoke& x) {
  auto call = protocol::parse_log_call(x.data);
  if (!call.error.empty())
    return invoke_result::error("invalid_argument", call.error);
  auto fallback = !call.caller_worker_id.empty()
                    ? "worker " + call.caller_worker_id
                  : !call.service_name.empty() ? call.service_name
                                               : std::string{"worker"};
  if (call.caller_worker_id.empty()) {
    write_log(x.function_id, fallback, call);
    return invoke_result::value("null");
  }
  auto rp = self->make_response_promise<invoke_result>();
  self->request(registry, catalog_timeout, atom::wname_v, call.caller_worker_id)
    .then(
      [rp, fn = x.function_id, call,
       fallback](const std::string& name) mutable {
        write_log(fn, name.empty() ? fallback : "worker " + name, call);
        rp.deliver(invoke_result::value("null"));
      },
      [rp, fn = x.function_id, call, fallback](caf::error&) mutable {
        write_log(fn, fallback, call);
        rp.deliver(invoke_result::value("null"));
      });
  return rp;
}

caf::result<void>
introspection_state::on_register_trigger(const register_trigger& x) {
  log::debug("introspection", "trigger ", x.id, " calls ", x.function_id,
             " when functions change");
  triggers[x.id] = subscriber{x.function_id, x.metadata};
  return caf::unit;
}

void introspection_state::on_unregister_trigger(const unregister_trigger& x) {
  triggers.erase(x.id);
}

void introspection_state::on_fnchanged() {
  if (triggers.empty()) return;
  self->request(registry, catalog_timeout, atom::catalog_v)
    .then(
      [this](const protocol::catalog& c) {
        auto payload = protocol::functions_available_json(c);
        // Those unregistered meanwhile are not called.
        for (auto& kvp : triggers)
          caf::anon_send(registry, invoke{kvp.second.function_id, payload,
                                          kvp.second.metadata});
      },
      [](caf::error& err) {
        log::warn("introspection",
                  "functions changed, but the registry did not answer: ",
                  caf::to_string(err));
      });
}

void register_introspection_functions(const caf::actor& registry,
                                      const caf::actor& functions) {
  for (auto& d : descriptions())
    caf::anon_send(registry,
                   register_function{d.id, functions, d.description, {}});
  caf::anon_send(registry, atom::provide_v,
                 std::string{functions_available_trigger}, functions);
}

caf::behavior
introspection_actor(caf::stateful_actor<introspection_state>* self,
                    caf::actor registry) {
  self->state.self = self;
  self->state.registry = registry;
  self->send(registry, atom::fnwatch_v, caf::actor{self});
  return {
    [self](invoke& x) { return self->state.on_invoke(x); },
    [self](const register_trigger& x) {
      return self->state.on_register_trigger(x);
    },
    [self](const unregister_trigger& x) {
      self->state.on_unregister_trigger(x);
    },
    [self](atom::fnchanged) { self->state.on_fnchanged(); },
  };
}

} // namespace troupe
