#include "actors/queue_functions_actor.hpp"

#include <caf/send.hpp>

#include <algorithm>
#include <chrono>

#include "actors/call_error.hpp"
#include "actors/job.hpp"
#include "actors/type_ids.hpp"

namespace troupe {

namespace {

constexpr auto fn_redrive = "iii::queue::redrive";
constexpr auto fn_redrive_message = "iii::queue::redrive_message";
constexpr auto fn_discard_message = "iii::queue::discard_message";
constexpr auto fn_dlq_messages = "engine::queue::dlq_messages";
constexpr auto fn_dlq_topics = "engine::queue::dlq_topics";
constexpr auto fn_stats = "engine::queue::stats";
constexpr auto fn_job = "engine::queue::job";
constexpr auto fn_jobs = "engine::queue::jobs";
constexpr auto fn_groups = "engine::queue::groups";
constexpr auto fn_pause = "engine::queue::pause";
constexpr auto fn_resume = "engine::queue::resume";
constexpr auto fn_retry_now = "engine::queue::retry_now";

/// How long a cluster-wide call waits for the node actor, which answers
/// within its own timeout per node; this only guards against losing it.
constexpr auto cluster_timeout = std::chrono::seconds(10);

invoke_result refuse(const protocol::queue_api_error& e) {
  return engine_error(e.code, e.message);
}

/// The queue a request names ("" for every queue).
const std::string& queue_of(const protocol::redrive_request& x) {
  return x.queue;
}
const std::string& queue_of(const protocol::message_request& x) {
  return x.queue;
}
const std::string& queue_of(const protocol::dlq_messages_request& x) {
  return x.queue;
}
const std::string& queue_of(const protocol::stats_request& x) {
  return x.queue;
}
const std::string& queue_of(const protocol::job_request& x) { return x.queue; }
const std::string& queue_of(const protocol::jobs_request& x) { return x.queue; }
const std::string& queue_of(const protocol::groups_request& x) {
  return x.queue;
}
const std::string& queue_of(const protocol::pause_request& x) {
  return x.queue;
}
const std::string& queue_of(const protocol::retry_now_request& x) {
  return x.queue;
}
const std::string& queue_of(const protocol::dlq_topics_request&) {
  static const std::string all;
  return all;
}

using answers = std::vector<protocol::node_answer>;

/// `req` with its limit capped (protocol::cap_limit) when `on`.
template <class Request>
protocol::queue_api_expected<Request>
capped(protocol::queue_api_expected<Request> req, bool on) {
  if (!req || !on) return req;
  auto r = *req;
  r.limit = protocol::cap_limit(r.limit);
  return r;
}

/// Refuses the groups of a standard queue (before asking anyone).
protocol::queue_api_expected<protocol::groups_request>
fifo_only(protocol::queue_api_expected<protocol::groups_request> req,
          const queue_directory& queues) {
  if (!req) return req;
  auto q = queues.find(req->queue);
  if (q && q->spec.type != queue_type::fifo)
    return protocol::queue_api_error{
      "invalid_argument", "Queue '" + req->queue
                            + "' is a standard queue; only FIFO queues have "
                              "groups"};
  return req;
}

} // namespace

const std::vector<std::string>& queue_function_ids() {
  static const std::vector<std::string> ids{fn_redrive,
                                            fn_redrive_message,
                                            fn_discard_message,
                                            fn_dlq_messages,
                                            fn_dlq_topics,
                                            fn_stats,
                                            fn_job,
                                            fn_jobs,
                                            fn_groups,
                                            fn_pause,
                                            fn_resume,
                                            fn_retry_now};
  return ids;
}

caf::result<invoke_result> queue_functions_state::on_invoke(invoke& x) {
  if (!node) return local_call(x, true);
  return cluster_call(x);
}

void queue_functions_state::on_cluster(caf::actor node_hdl) {
  node = std::move(node_hdl);
}

caf::result<invoke_result> queue_functions_state::cluster_call(invoke& x) {
  namespace p = protocol;
  const auto& fn = x.function_id;
  if (fn == fn_redrive)
    return fan_out(x, p::parse_redrive(x.data), [](auto& as, auto& r) {
      return p::merge_redrive(as, r.queue);
    });
  if (fn == fn_redrive_message)
    return fan_out(x, p::parse_message_request(x.data),
                   p::merge_redrive_message);
  if (fn == fn_discard_message)
    return fan_out(x, p::parse_message_request(x.data),
                   p::merge_discard_message);
  if (fn == fn_dlq_messages) {
    // Each node lists its first offset+limit; the page is cut after merging.
    auto req = capped(p::parse_dlq_messages(x.data), true);
    if (req) x.data = p::dlq_messages_fanout_data(*req);
    return fan_out(x, req, p::merge_dlq_messages);
  }
  if (fn == fn_job)
    return fan_out(x, p::parse_job_request(x.data), p::merge_job);
  if (fn == fn_jobs) {
    auto req = capped(p::parse_jobs_request(x.data), true);
    if (req) x.data = p::jobs_fanout_data(*req);
    return fan_out(x, req, p::merge_jobs);
  }
  if (fn == fn_groups) {
    auto req = fifo_only(capped(p::parse_groups_request(x.data), true),
                         *queues);
    if (req) x.data = p::groups_fanout_data(*req);
    return fan_out(x, req, p::merge_groups);
  }
  if (fn == fn_pause || fn == fn_resume)
    return fan_out(x, p::parse_pause_request(x.data), [](auto& as, auto& r) {
      return p::merge_pause(as, r.queue);
    });
  if (fn == fn_retry_now)
    return fan_out(x, p::parse_retry_now_request(x.data), p::merge_retry_now);
  if (fn == fn_dlq_topics)
    return fan_out(x, p::parse_dlq_topics(x.data),
                   [](auto& as, auto&) { return p::merge_dlq_topics(as); });
  if (fn == fn_stats)
    return fan_out(x, p::parse_stats(x.data), [](auto& as, auto& r) {
      return r.queue.empty() ? p::merge_stats_list(as)
                             : p::merge_stats(as, r.queue);
    });
  return engine_error("function_not_found", "Function " + fn + " not found");
}

template <class Request, class Merge>
caf::result<invoke_result> queue_functions_state::fan_out(
  invoke x, const protocol::queue_api_expected<Request>& req, Merge merge) {
  if (!req) return refuse(req.error());
  const auto& queue = queue_of(*req);
  if (!queue.empty() && !queues->find(queue))
    return refuse(protocol::queue_not_found(queue));
  auto rp = self->make_response_promise<invoke_result>();
  auto fn = x.function_id;
  self->request(node, cluster_timeout, atom::fanout_v, std::move(x))
    .then([rp, merge,
           r = *req](answers& as) mutable { rp.deliver(merge(as, r)); },
          [rp, fn](caf::error& e) mutable {
            auto ms = std::chrono::milliseconds(cluster_timeout).count();
            rp.deliver(request_failure(e, fn + " across the cluster", ms));
          });
  return rp;
}

caf::result<invoke_result> queue_functions_state::on_localcall(invoke& x) {
  // From the node actor, for a merge: the limits are the merge's window.
  return local_call(x, false);
}

caf::result<invoke_result> queue_functions_state::local_call(invoke& x,
                                                             bool cap) {
  namespace p = protocol;
  using st = queue_functions_state;
  const auto& fn = x.function_id;
  if (fn == fn_redrive)
    return route(protocol::parse_redrive(x.data), &st::redrive);
  if (fn == fn_redrive_message)
    return route(protocol::parse_message_request(x.data), &st::redrive_message);
  if (fn == fn_discard_message)
    return route(protocol::parse_message_request(x.data), &st::discard_message);
  if (fn == fn_dlq_messages)
    return route(capped(p::parse_dlq_messages(x.data), cap), &st::dlq_messages);
  if (fn == fn_job) return route(p::parse_job_request(x.data), &st::lookup_job);
  if (fn == fn_jobs)
    return route(capped(p::parse_jobs_request(x.data), cap), &st::list_jobs);
  if (fn == fn_groups)
    return route(fifo_only(capped(p::parse_groups_request(x.data), cap),
                           *queues),
                 &st::list_groups);
  if (fn == fn_pause) return route(p::parse_pause_request(x.data), &st::pause);
  if (fn == fn_resume)
    return route(p::parse_pause_request(x.data), &st::resume);
  if (fn == fn_retry_now)
    return route(p::parse_retry_now_request(x.data), &st::retry_now);
  if (fn == fn_dlq_topics)
    return route(protocol::parse_dlq_topics(x.data), &st::dlq_topics);
  if (fn == fn_stats) return route(protocol::parse_stats(x.data), &st::stats);
  return engine_error("function_not_found", "Function " + fn + " not found");
}

template <class Request>
caf::result<invoke_result> queue_functions_state::route(
  const protocol::queue_api_expected<Request>& req,
  caf::result<invoke_result> (queue_functions_state::*handler)(
    const Request&)) {
  if (!req) return refuse(req.error());
  return (this->*handler)(*req);
}

template <class Render, class... Ts>
caf::result<invoke_result>
queue_functions_state::forward_count(const queue_entry* q, Render render,
                                     Ts... xs) {
  auto rp = self->make_response_promise<invoke_result>();
  self->request(q->supervisor, caf::infinite, xs...)
    .then(
      [rp, render](uint64_t n) mutable {
        rp.deliver(invoke_result{true, render(n)});
      },
      [rp](caf::error& e) mutable {
        rp.deliver(request_failure(e, "queue", 0));
      });
  return rp;
}

caf::result<invoke_result>
queue_functions_state::redrive(const protocol::redrive_request& x) {
  auto q = queues->find(x.queue);
  if (!q) return refuse(protocol::queue_not_found(x.queue));
  auto render = [name = x.queue](uint64_t n) {
    return protocol::redrive_result_json(name, n);
  };
  return forward_count(q, render, atom::redrive_v);
}

caf::result<invoke_result>
queue_functions_state::redrive_message(const protocol::message_request& x) {
  auto q = queues->find(x.queue);
  if (!q) return refuse(protocol::queue_not_found(x.queue));
  auto render = [x](uint64_t n) {
    return protocol::redrive_message_result_json(x.queue, x.message_id, n);
  };
  return forward_count(q, render, atom::redrive_v, x.message_id);
}

caf::result<invoke_result>
queue_functions_state::discard_message(const protocol::message_request& x) {
  auto q = queues->find(x.queue);
  if (!q) return refuse(protocol::queue_not_found(x.queue));
  auto render = [x](uint64_t n) {
    return protocol::discard_message_result_json(x.queue, x.message_id, n);
  };
  return forward_count(q, render, atom::discard_v, x.message_id);
}

caf::result<invoke_result>
queue_functions_state::dlq_messages(const protocol::dlq_messages_request& x) {
  auto q = queues->find(x.queue);
  if (!q) return refuse(protocol::queue_not_found(x.queue));
  auto rp = self->make_response_promise<invoke_result>();
  self->request(q->supervisor, caf::infinite, atom::list_v, x.offset, x.limit)
    .then(
      [rp](std::vector<job>& xs) mutable {
        rp.deliver(invoke_result{true, protocol::dlq_messages_json(xs)});
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
    rp.deliver(invoke_result{true, render(g->all)});
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
          rp.deliver(invoke_result{true, render(g->all)});
        },
        [rp](caf::error& e) mutable {
          rp.deliver(request_failure(e, "queue", 0));
        });
  }
  return rp;
}

caf::result<invoke_result>
queue_functions_state::dlq_topics(const protocol::dlq_topics_request&) {
  std::vector<const queue_entry*> qs;
  for (auto& kvp : queues->queues) qs.push_back(&kvp.second);
  return gather_stats(std::move(qs), [](const auto& all) {
    return protocol::dlq_topics_json(all);
  });
}

caf::result<invoke_result>
queue_functions_state::stats(const protocol::stats_request& x) {
  std::vector<const queue_entry*> qs;
  if (!x.queue.empty()) {
    auto q = queues->find(x.queue);
    if (!q) return refuse(protocol::queue_not_found(x.queue));
    qs.push_back(q);
    return gather_stats(std::move(qs), [](const auto& all) {
      return protocol::stats_json(all.front());
    });
  }
  for (auto& kvp : queues->queues) qs.push_back(&kvp.second);
  return gather_stats(std::move(qs), [](const auto& all) {
    return protocol::stats_list_json(all);
  });
}

caf::result<invoke_result>
queue_functions_state::lookup_job(const protocol::job_request& x) {
  std::vector<const queue_entry*> qs;
  if (!x.queue.empty()) {
    auto q = queues->find(x.queue);
    if (!q) return refuse(protocol::queue_not_found(x.queue));
    qs.push_back(q);
  } else {
    for (auto& kvp : queues->queues) qs.push_back(&kvp.second);
  }
  struct search {
    size_t missing = 0;
    bool found = false;
    /// The first failure other than job_not_found.
    invoke_result failure{true, {}};
  };
  auto g = std::make_shared<search>();
  g->missing = qs.size();
  auto rp = self->make_response_promise<invoke_result>();
  auto not_found = [x] {
    auto where = x.queue.empty() ? std::string{"any queue"}
                                 : "queue '" + x.queue + "'";
    return engine_error("job_not_found",
                        "Job " + x.id + " not found in " + where);
  };
  if (qs.empty()) {
    rp.deliver(not_found());
    return rp;
  }
  for (auto q : qs) {
    self->request(q->supervisor, caf::infinite, atom::lookup_v, x.id)
      .then(
        [rp, g](job_info& info) mutable {
          --g->missing;
          if (g->found) return;
          g->found = true;
          rp.deliver(invoke_result{true, protocol::job_json(info)});
        },
        [rp, g, not_found](caf::error& e) mutable {
          if (e != errc::job_not_found && g->failure.ok)
            g->failure = request_failure(e, "queue", 0);
          if (--g->missing > 0 || g->found) return;
          rp.deliver(g->failure.ok ? not_found() : g->failure);
        });
  }
  return rp;
}

caf::result<invoke_result>
queue_functions_state::list_jobs(const protocol::jobs_request& x) {
  auto q = queues->find(x.queue);
  if (!q) return refuse(protocol::queue_not_found(x.queue));
  auto rp = self->make_response_promise<invoke_result>();
  self
    ->request(q->supervisor, caf::infinite, atom::jobs_v, x.state, x.offset,
              x.limit)
    .then(
      [rp](job_page& page) mutable {
        rp.deliver(invoke_result{true, protocol::job_page_json(page)});
      },
      [rp](caf::error& e) mutable {
        rp.deliver(request_failure(e, "queue", 0));
      });
  return rp;
}

caf::result<invoke_result>
queue_functions_state::list_groups(const protocol::groups_request& x) {
  auto q = queues->find(x.queue);
  if (!q) return refuse(protocol::queue_not_found(x.queue));
  auto rp = self->make_response_promise<invoke_result>();
  self->request(q->supervisor, caf::infinite, atom::groups_v, x.offset, x.limit)
    .then(
      [rp](group_page& page) mutable {
        rp.deliver(invoke_result{true, protocol::groups_json(page)});
      },
      [rp](caf::error& e) mutable {
        rp.deliver(request_failure(e, "queue", 0));
      });
  return rp;
}

template <class Atom>
caf::result<invoke_result>
queue_functions_state::set_paused(const protocol::pause_request& x, Atom op) {
  auto q = queues->find(x.queue);
  if (!q) return refuse(protocol::queue_not_found(x.queue));
  auto rp = self->make_response_promise<invoke_result>();
  self->request(q->supervisor, caf::infinite, op)
    .then(
      [rp, name = x.queue](bool paused) mutable {
        rp.deliver(
          invoke_result{true, protocol::pause_result_json(name, paused)});
      },
      [rp](caf::error& e) mutable {
        rp.deliver(request_failure(e, "queue", 0));
      });
  return rp;
}

caf::result<invoke_result>
queue_functions_state::pause(const protocol::pause_request& x) {
  return set_paused(x, atom::pause_v);
}

caf::result<invoke_result>
queue_functions_state::resume(const protocol::pause_request& x) {
  return set_paused(x, atom::resume_v);
}

caf::result<invoke_result>
queue_functions_state::retry_now(const protocol::retry_now_request& x) {
  auto q = queues->find(x.queue);
  if (!q) return refuse(protocol::queue_not_found(x.queue));
  auto render = [x](uint64_t n) {
    return protocol::retry_now_result_json(x.queue, x.id, n);
  };
  return forward_count(q, render, atom::retrynow_v, x.id);
}

void register_queue_functions(const caf::actor& registry,
                              const caf::actor& functions) {
  for (auto& id : queue_function_ids())
    caf::anon_send(
      registry, register_function{id, functions, "troupe queue function", {}});
}

caf::behavior
queue_functions_actor(caf::stateful_actor<queue_functions_state>* self,
                      std::shared_ptr<const queue_directory> queues) {
  self->state.self = self;
  self->state.queues = std::move(queues);
  return {
    [self](invoke& x) { return self->state.on_invoke(x); },
    [self](atom::localcall, invoke& x) { return self->state.on_localcall(x); },
    [self](atom::qcluster, caf::actor& node) {
      self->state.on_cluster(std::move(node));
    },
  };
}

} // namespace troupe
