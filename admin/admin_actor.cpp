#include "admin/admin_actor.hpp"

#include <algorithm>
#include <iterator>

#include "actors/call_error.hpp"
#include "actors/type_ids.hpp"
#include "protocol/admin_api.hpp"

namespace troupe::admin {

namespace {

constexpr auto fn_stats = "engine::queue::stats";
constexpr auto fn_jobs = "engine::queue::jobs";
constexpr auto fn_job = "engine::queue::job";
constexpr auto fn_groups = "engine::queue::groups";
constexpr auto fn_dlq = "engine::queue::dlq_messages";
constexpr auto fn_pause = "engine::queue::pause";
constexpr auto fn_resume = "engine::queue::resume";
constexpr auto fn_retry_now = "engine::queue::retry_now";
constexpr auto fn_redrive = "iii::queue::redrive";
constexpr auto fn_redrive_message = "iii::queue::redrive_message";
constexpr auto fn_discard_message = "iii::queue::discard_message";
constexpr auto fn_functions = "engine::functions::list";
constexpr auto fn_workers = "engine::workers::list";

/// The states /api/queues looks into for the function ids of a queue.
constexpr const char* page_states[] = {"waiting", "in_flight", "delayed",
                                       "dead"};

using protocol::json_string;

std::string queue_data(const std::string& queue) {
  return "{\"queue\":" + json_string(queue) + "}";
}

std::string page_data(const std::string& queue, uint64_t offset,
                      uint64_t limit) {
  return "{\"queue\":" + json_string(queue)
         + ",\"offset\":" + std::to_string(offset)
         + ",\"limit\":" + std::to_string(limit) + "}";
}

/// An engine function's error body as the API's error answer.
protocol::http_response failure(const invoke_result& r) {
  auto code = protocol::error_code_of(r.body);
  auto first = r.body.find_first_not_of(" \t\r\n");
  bool object = first != std::string::npos && r.body[first] == '{';
  if (code.empty() || !object)
    return error_response(500, "engine_error", r.body);
  // The body is already `{code, message}`: it is passed on as it is.
  return json_response(status_for_code(code), "{\"error\":" + r.body + "}");
}

} // namespace

unsigned status_for_code(const std::string& code) {
  if (code == "queue_not_found" || code == "job_not_found"
      || code == "unknown_queue" || code == "NOT_FOUND")
    return 404;
  if (code == "invalid_argument" || code == "queue_not_set"
      || code == "message_id_not_set" || code == "enqueue_rejected"
      || code == "enqueue_error" || code == "bad_frame")
    return 400;
  if (code == "function_not_found" || code == "shutting_down"
      || code == "invocation_stopped")
    return 503;
  if (code == "timeout") return 504;
  return 500;
}

template <class F>
void admin_state::call(const std::string& function_id, std::string data,
                       F done) {
  auto timeout_ms = static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(admin_call_timeout)
      .count());
  self
    ->request(registry, admin_call_timeout,
              invoke{function_id, std::move(data), {}, {}, {}, timeout_ms})
    .then([done](invoke_result& r) mutable { done(r); },
          [done, function_id, timeout_ms](caf::error& err) mutable {
            auto r = request_failure(err, function_id, timeout_ms);
            done(r);
          });
}

void admin_state::pass_through(const std::string& function_id,
                               std::string data, responder out) {
  call(function_id, std::move(data), [out](invoke_result& r) {
    out->respond(r.ok ? json_response(200, std::move(r.body)) : failure(r));
  });
}

void admin_state::serve(http_call& c) {
  auto out = std::move(c.responder);
  auto route = route_request(c.request, policy);
  if (route.kind != route_kind::api) {
    // The listener answers these itself; this is a safety net.
    out->respond(route.kind == route_kind::answered
                   ? std::move(route.response)
                   : error_response(404, "not_found", "no such route"));
    return;
  }
  const auto& q = route.queue;
  bool per_queue = route.op != api_op::queues && route.op != api_op::workers
                   && route.op != api_op::job && route.op != api_op::status;
  if (per_queue && !queues->find(q)) {
    out->respond(
      error_response(404, "queue_not_found", "Queue '" + q + "' not found"));
    return;
  }
  switch (route.op) {
    case api_op::status:
      // Answered by the listener (it needs no engine).
      out->respond(error_response(404, "not_found", "no such route"));
      return;
    case api_op::queues:
      queue_list(std::move(out));
      return;
    case api_op::workers:
      call(fn_workers, "{}", [this, out](invoke_result& w) {
        if (!w.ok) {
          out->respond(failure(w));
          return;
        }
        call(fn_functions, "{}",
             [out, workers = std::move(w.body)](invoke_result& f) {
               out->respond(json_response(
                 200, protocol::workers_json(workers, f.ok ? f.body : "")));
             });
      });
      return;
    case api_op::job: {
      auto data = "{\"id\":" + json_string(route.id)
                  + (q.empty() ? "" : ",\"queue\":" + json_string(q)) + "}";
      pass_through(fn_job, std::move(data), std::move(out));
      return;
    }
    case api_op::jobs: {
      auto data = "{\"queue\":" + json_string(q)
                  + ",\"state\":" + json_string(route.state)
                  + ",\"offset\":" + std::to_string(route.offset)
                  + ",\"limit\":" + std::to_string(route.limit) + "}";
      pass_through(fn_jobs, std::move(data), std::move(out));
      return;
    }
    case api_op::groups:
      pass_through(fn_groups, page_data(q, route.offset, route.limit),
                   std::move(out));
      return;
    case api_op::dlq: {
      auto offset = route.offset;
      auto limit = std::min<uint64_t>(route.limit, 500);
      call(fn_dlq, page_data(q, offset, limit),
           [out, q, offset, limit](invoke_result& r) {
             out->respond(r.ok ? json_response(200, protocol::dlq_page_json(
                                                      q, offset, limit, r.body))
                               : failure(r));
           });
      return;
    }
    case api_op::pause:
      pass_through(fn_pause, queue_data(q), std::move(out));
      return;
    case api_op::resume:
      pass_through(fn_resume, queue_data(q), std::move(out));
      return;
    case api_op::retry_now: {
      auto body = protocol::parse_id_body(c.request.body);
      if (!body.error.empty()) {
        out->respond(error_response(400, "bad_request", body.error));
        return;
      }
      pass_through(fn_retry_now,
                   "{\"queue\":" + json_string(q)
                     + ",\"id\":" + json_string(body.id) + "}",
                   std::move(out));
      return;
    }
    case api_op::redrive: {
      auto body = protocol::parse_ids_body(c.request.body, false);
      if (!body.error.empty()) {
        out->respond(error_response(400, "bad_request", body.error));
        return;
      }
      if (!body.has_ids) {
        pass_through(fn_redrive, queue_data(q), std::move(out));
        return;
      }
      per_id(fn_redrive_message, q, std::move(body.ids), "redriven",
             std::move(out));
      return;
    }
    case api_op::discard: {
      auto body = protocol::parse_ids_body(c.request.body, true);
      if (!body.error.empty()) {
        out->respond(error_response(400, "bad_request", body.error));
        return;
      }
      per_id(fn_discard_message, q, std::move(body.ids), "discarded",
             std::move(out));
      return;
    }
    case api_op::enqueue:
      enqueue(q, c.request.body, std::move(out));
      return;
  }
}

void admin_state::per_id(const std::string& function_id,
                         const std::string& queue,
                         std::vector<std::string> ids, const char* what,
                         responder out) {
  struct tally {
    size_t pending = 0;
    uint64_t n = 0;
    invoke_result failed{true, ""};
  };
  auto t = std::make_shared<tally>();
  t->pending = ids.size();
  std::string key = what;
  for (auto& id : ids) {
    auto data = "{\"queue\":" + json_string(queue)
                + ",\"message_id\":" + json_string(id) + "}";
    call(function_id, std::move(data), [t, out, queue, key](invoke_result& r) {
      if (r.ok)
        t->n += protocol::uint_member(r.body, key);
      else if (t->failed.ok)
        t->failed = r;
      if (--t->pending > 0) return;
      out->respond(t->failed.ok ? json_response(200, protocol::admin_count_json(
                                                       queue, key, t->n))
                                : failure(t->failed));
    });
  }
}

void admin_state::enqueue(const std::string& queue, const std::string& text,
                          responder out) {
  auto body = protocol::parse_enqueue_body(text);
  if (!body.error.empty()) {
    out->respond(error_response(400, "bad_request", body.error));
    return;
  }
  auto q = queues->find(queue);
  // The supervisor checks the job as it checks a worker's (group field,
  // size) and answers once it is accepted (with file_based, stored).
  self
    ->request(q->supervisor, admin_call_timeout,
              troupe::enqueue{std::move(body.function_id),
                              std::move(body.payload)})
    .then(
      [out](std::string& receipt) {
        out->respond(json_response(200, protocol::receipt_json(receipt)));
      },
      [out](caf::error& err) {
        auto r = request_failure(err, "enqueue",
                                 static_cast<uint64_t>(
                                   std::chrono::duration_cast<
                                     std::chrono::milliseconds>(
                                     admin_call_timeout)
                                     .count()));
        out->respond(failure(r));
      });
}

void admin_state::queue_list(responder out) {
  struct gather {
    size_t pending = 0;
    invoke_result stats{false, ""};
    std::string functions;
    std::vector<protocol::admin_queue_input> queues;
  };
  auto g = std::make_shared<gather>();
  std::vector<const queue_entry*> entries;
  for (const auto& kvp : queues->queues) entries.push_back(&kvp.second);
  std::sort(entries.begin(), entries.end(),
            [](auto* a, auto* b) { return a->spec.name < b->spec.name; });
  for (auto* e : entries) g->queues.push_back({e->spec, {}});
  g->pending = 2 + g->queues.size() * std::size(page_states);
  auto finish = [g, out] {
    if (--g->pending > 0) return;
    if (!g->stats.ok) {
      out->respond(failure(g->stats));
      return;
    }
    out->respond(json_response(
      200, protocol::queues_json(g->stats.body, g->functions, g->queues)));
  };
  call(fn_stats, "{}", [g, finish](invoke_result& r) {
    g->stats = std::move(r);
    finish();
  });
  call(fn_functions, "{}", [g, finish](invoke_result& r) {
    if (r.ok) g->functions = std::move(r.body);
    finish();
  });
  for (size_t i = 0; i < g->queues.size(); ++i)
    for (auto state : page_states) {
      auto data = "{\"queue\":" + json_string(g->queues[i].settings.name)
                  + ",\"state\":\"" + state
                  + "\",\"offset\":0,\"limit\":500}";
      call(fn_jobs, std::move(data), [g, i, finish](invoke_result& r) {
        if (r.ok) g->queues[i].pages.push_back(std::move(r.body));
        finish();
      });
    }
}

caf::behavior admin_actor(caf::stateful_actor<admin_state>* self,
                          admin_policy policy, caf::actor registry,
                          std::shared_ptr<const queue_directory> queues) {
  auto& st = self->state;
  st.self = self;
  st.policy = std::move(policy);
  st.registry = std::move(registry);
  st.queues = std::move(queues);
  return {
    [self](http_call& c) { self->state.serve(c); },
  };
}

} // namespace troupe::admin
