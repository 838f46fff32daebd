#include "actors/queue_functions_actor.hpp"

#include <algorithm>
#include <cstdlib>

#include "actors/call_error.hpp"
#include "actors/job.hpp"
#include "actors/type_ids.hpp"
#include "protocol/frames.hpp"
#include "protocol/json_member.hpp"

namespace troupe {

namespace {

constexpr auto fn_redrive = "iii::queue::redrive";
constexpr auto fn_redrive_message = "iii::queue::redrive_message";
constexpr auto fn_discard_message = "iii::queue::discard_message";
constexpr auto fn_dlq_messages = "engine::queue::dlq_messages";
constexpr auto fn_dlq_topics = "engine::queue::dlq_topics";
constexpr auto fn_stats = "engine::queue::stats";

constexpr uint64_t default_dlq_limit = 50;

/// A string member of the call's input, or empty when absent or not a string.
std::string string_arg(const std::string& data, const char* key) {
  auto m = protocol::find_member(data, key);
  return m.state == protocol::member_state::found && m.is_string ? m.value
                                                                 : "";
}

/// A non-negative integer member, or `fallback` when absent.
bool uint_arg(const std::string& data, const char* key, uint64_t fallback,
              uint64_t& out) {
  auto m = protocol::find_member(data, key);
  if (m.state != protocol::member_state::found) {
    out = fallback;
    return true;
  }
  if (m.is_string || m.value.empty() || m.value[0] == '-') return false;
  char* end = nullptr;
  out = std::strtoull(m.value.c_str(), &end, 10);
  return *end == '\0';
}

/// Looks up the queue named by the input's `queue`; sets `err` otherwise.
const queue_entry* queue_arg(const queue_directory& dir,
                             const std::string& data, std::string& name,
                             invoke_result& err) {
  name = string_arg(data, "queue");
  if (name.empty()) {
    err = engine_error("queue_not_set", "queue is required");
    return nullptr;
  }
  auto q = dir.find(name);
  if (!q) err = engine_error("queue_not_found", "Queue '" + name + "' not found");
  return q;
}

std::string stats_json(const queue_stats& s) {
  auto n = [](uint64_t x) { return std::to_string(x); };
  return R"({"queue":)" + protocol::quote(s.queue) + R"(,"waiting":)"
         + n(s.waiting) + R"(,"in_flight":)" + n(s.in_flight)
         + R"(,"delayed":)" + n(s.delayed) + R"(,"dlq":)" + n(s.dlq)
         + R"(,"enqueued_total":)" + n(s.enqueued_total)
         + R"(,"succeeded_total":)" + n(s.succeeded_total)
         + R"(,"failed_attempts_total":)" + n(s.failed_attempts_total)
         + R"(,"dead_total":)" + n(s.dead_total) + "}";
}

std::string dead_job_json(const job& x) {
  return R"({"id":)" + protocol::quote(x.id) + R"(,"function_id":)"
         + protocol::quote(x.function_id) + R"(,"payload":)" + x.payload
         + R"(,"error":)" + (x.last_error.empty() ? "null" : x.last_error)
         + R"(,"enqueued_at":)" + std::to_string(x.enqueued_at)
         + R"(,"failed_at":)" + std::to_string(x.failed_at)
         + R"(,"retries":)" + std::to_string(x.attempts)
         + R"(,"size_bytes":)" + std::to_string(x.payload.size()) + "}";
}

template <class T, class F>
std::string json_array(const std::vector<T>& xs, F render) {
  std::string out = "[";
  for (auto& x : xs) {
    if (out.size() > 1) out += ',';
    out += render(x);
  }
  out += ']';
  return out;
}

} // namespace

const std::vector<std::string>& queue_function_ids() {
  static const std::vector<std::string> ids{
    fn_redrive,      fn_redrive_message, fn_discard_message,
    fn_dlq_messages, fn_dlq_topics,      fn_stats};
  return ids;
}

caf::result<invoke_result> queue_functions_state::on_invoke(invoke& x) {
  const auto& fn = x.function_id;
  if (fn == fn_redrive) return redrive(x.data);
  if (fn == fn_redrive_message) return message_op(x.data, false);
  if (fn == fn_discard_message) return message_op(x.data, true);
  if (fn == fn_dlq_messages) return dlq_messages(x.data);
  if (fn == fn_dlq_topics) return dlq_topics();
  if (fn == fn_stats) return stats(x.data);
  return engine_error("function_not_found", "Function " + fn + " not found");
}

template <class Render, class... Ts>
caf::result<invoke_result>
queue_functions_state::forward_count(const queue_entry* q, Render render,
                                     Ts... xs) {
  auto rp = self->make_response_promise<invoke_result>();
  self->request(q->supervisor, caf::infinite, xs...)
    .then([rp, render](uint64_t n) mutable { rp.deliver(render(n)); },
          [rp](caf::error& e) mutable {
            rp.deliver(request_failure(e, "queue", 0));
          });
  return rp;
}

caf::result<invoke_result>
queue_functions_state::redrive(const std::string& data) {
  std::string name;
  invoke_result err;
  auto q = queue_arg(*queues, data, name, err);
  if (!q) return err;
  auto render = [name](uint64_t n) {
    return invoke_result{true, R"({"queue":)" + protocol::quote(name)
                                 + R"(,"redriven":)" + std::to_string(n)
                                 + "}"};
  };
  return forward_count(q, render, atom::redrive_v);
}

caf::result<invoke_result>
queue_functions_state::message_op(const std::string& data, bool discard) {
  std::string name;
  invoke_result err;
  auto q = queue_arg(*queues, data, name, err);
  if (!q) return err;
  auto id = string_arg(data, "message_id");
  if (id.empty())
    return engine_error("message_id_not_set", "message_id is required");
  auto render = [name, id, discard](uint64_t n) {
    return invoke_result{true, R"({"queue":)" + protocol::quote(name)
                                 + R"(,"message_id":)" + protocol::quote(id)
                                 + (discard ? R"(,"discarded":)"
                                            : R"(,"redriven":)")
                                 + std::to_string(n) + "}"};
  };
  if (discard) return forward_count(q, render, atom::discard_v, id);
  return forward_count(q, render, atom::redrive_v, id);
}

caf::result<invoke_result>
queue_functions_state::dlq_messages(const std::string& data) {
  std::string name;
  invoke_result err;
  auto q = queue_arg(*queues, data, name, err);
  if (!q) return err;
  uint64_t offset = 0;
  uint64_t limit = 0;
  if (!uint_arg(data, "offset", 0, offset)
      || !uint_arg(data, "limit", default_dlq_limit, limit))
    return engine_error("invalid_argument",
                        "offset and limit must be non-negative integers");
  auto rp = self->make_response_promise<invoke_result>();
  self->request(q->supervisor, caf::infinite, atom::list_v, offset, limit)
    .then(
      [rp](std::vector<job>& xs) mutable {
        rp.deliver(invoke_result{true, json_array(xs, dead_job_json)});
      },
      [rp](caf::error& e) mutable {
        rp.deliver(request_failure(e, "queue", 0));
      });
  return rp;
}

template <class Render>
caf::result<invoke_result>
queue_functions_state::gather_stats(std::vector<const queue_entry*> qs,
                                    Render render) {
  struct gathering {
    std::vector<queue_stats> all;
    size_t missing = 0;
  };
  auto g = std::make_shared<gathering>();
  g->missing = qs.size();
  auto rp = self->make_response_promise<invoke_result>();
  if (qs.empty()) {
    rp.deliver(render(g->all));
    return rp;
  }
  for (auto q : qs) {
    self->request(q->supervisor, caf::infinite, atom::stats_v)
      .then(
        [rp, g, render](queue_stats& s) mutable {
          g->all.push_back(std::move(s));
          if (--g->missing > 0) return;
          std::sort(g->all.begin(), g->all.end(),
                    [](auto& a, auto& b) { return a.queue < b.queue; });
          rp.deliver(render(g->all));
        },
        [rp](caf::error& e) mutable {
          rp.deliver(request_failure(e, "queue", 0));
        });
  }
  return rp;
}

caf::result<invoke_result> queue_functions_state::dlq_topics() {
  std::vector<const queue_entry*> qs;
  for (auto& kvp : queues->queues) qs.push_back(&kvp.second);
  return gather_stats(std::move(qs), [](const std::vector<queue_stats>& all) {
    return invoke_result{true, json_array(all, [](const queue_stats& s) {
                           return R"({"topic":)" + protocol::quote(s.queue)
                                  + R"(,"broker_type":"builtin")"
                                  + R"(,"message_count":)"
                                  + std::to_string(s.dlq) + "}";
                         })};
  });
}

caf::result<invoke_result>
queue_functions_state::stats(const std::string& data) {
  auto name = string_arg(data, "queue");
  std::vector<const queue_entry*> qs;
  if (!name.empty()) {
    auto q = queues->find(name);
    if (!q)
      return engine_error("queue_not_found", "Queue '" + name + "' not found");
    qs.push_back(q);
    return gather_stats(std::move(qs), [](const std::vector<queue_stats>& all) {
      return invoke_result{true, stats_json(all.front())};
    });
  }
  for (auto& kvp : queues->queues) qs.push_back(&kvp.second);
  return gather_stats(std::move(qs), [](const std::vector<queue_stats>& all) {
    return invoke_result{true, json_array(all, stats_json)};
  });
}

caf::behavior
queue_functions_actor(caf::stateful_actor<queue_functions_state>* self,
                      std::shared_ptr<const queue_directory> queues,
                      caf::actor registry) {
  self->state.self = self;
  self->state.queues = std::move(queues);
  for (auto& id : queue_function_ids())
    self->send(registry,
               register_function{id, caf::actor_cast<caf::actor>(self),
                                 "troupe queue function", {}});
  return {
    [self](invoke& x) { return self->state.on_invoke(x); },
  };
}

} // namespace troupe
