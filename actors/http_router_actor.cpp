#include "actors/http_router_actor.hpp"

#include <algorithm>

#include <caf/sec.hpp>

#include "actors/call_error.hpp"
#include "actors/type_ids.hpp"
#include "base/errc.hpp"
#include "base/log.hpp"
#include "base/uuid.hpp"

namespace troupe {

namespace {

constexpr auto log_name = "http";

/// "GET /hello/:name" for the logs.
std::string describe(const protocol::http_route& r) {
  std::string out = r.method + " ";
  for (auto& segment : r.segments) out += "/" + segment;
  return out;
}

/// "GET /hello/:name of node b" for the logs.
std::string describe(const http_router_state::route_entry& e) {
  auto out = describe(e.route);
  if (!e.node.empty()) out += " of node " + e.node;
  return out;
}

/// A random hex id that ties a 500 answer to its log line.
std::string make_error_id() {
  auto id = make_uuid();
  id.erase(std::remove(id.begin(), id.end(), '-'), id.end());
  return id;
}

using responder_ptr = std::shared_ptr<protocol::http_responder>;

void answer_failure(const responder_ptr& out, const std::string& what,
                    const std::string& error_body) {
  auto error_id = make_error_id();
  log::warn(log_name, what, " failed (error_id ", error_id, "): ", error_body);
  out->respond(protocol::response_from_error(error_body, error_id));
}

} // namespace

void http_router_state::init(caf::event_based_actor* self_ptr,
                             caf::actor registry_hdl,
                             std::chrono::milliseconds default_timeout) {
  self = self_ptr;
  registry = std::move(registry_hdl);
  timeout = default_timeout;
  self->send(registry, atom::provide_v, std::string{"http"}, caf::actor{self});
}

caf::result<void>
http_router_state::on_register_trigger(const register_trigger& x) {
  auto r = protocol::parse_http_route(x.config);
  if (!r) return std::move(r.error());
  auto key = protocol::route_key(*r);
  for (auto& [other_key, e] : routes)
    if (other_key != key && e.trigger_id != x.id
        && protocol::routes_conflict(e.route, *r))
      return caf::make_error(
        errc::bad_frame, "route " + describe(*r) + " conflicts with "
                           + describe(e.route) + " (function " + e.function_id
                           + "): same path shape, different parameter "
                             "names");
  on_unregister_trigger(unregister_trigger{x.id, x.owner, {}});
  if (auto old = routes.find(key); old != routes.end()) {
    log::info(log_name, "route ", describe(*r), " taken over by ",
              x.function_id, " (was ", old->second.function_id,
              "; the last registration wins)");
    by_trigger.erase(old->second.trigger_id);
    announce(old->second, false);
  } else {
    log::info(log_name, "route ", describe(*r), " -> ", x.function_id);
  }
  by_trigger[x.id] = key;
  auto& e = routes[key];
  e = route_entry{std::move(*r), x.id,     x.owner, x.function_id,
                  x.metadata,    x.config, {},      ++next_seq};
  announce(e, true);
  return caf::unit;
}

void http_router_state::on_unregister_trigger(const unregister_trigger& x) {
  auto i = by_trigger.find(x.id);
  if (i == by_trigger.end()) return;
  auto r = routes.find(i->second);
  if (r != routes.end() && r->second.trigger_id == x.id) {
    // Another actor's trigger of the same id: its owner removes it.
    if (r->second.owner != x.owner) return;
    log::info(log_name, "route ", describe(r->second.route), " removed");
    announce(r->second, false);
    routes.erase(r);
  }
  // Removed, or the route is gone or serves another trigger by now.
  by_trigger.erase(i);
}

const http_router_state::route_entry*
http_router_state::find(const std::string& method,
                        const std::vector<std::string_view>& segments,
                        protocol::http_params& params) const {
  const route_entry* best = nullptr;
  protocol::http_params candidate;
  // More specific first; on a tie local before remote, then the latest.
  auto better = [](const route_entry& e, const route_entry& than) {
    if (protocol::more_specific(e.route, than.route)) return true;
    if (protocol::more_specific(than.route, e.route)) return false;
    if (e.node.empty() != than.node.empty()) return e.node.empty();
    return e.seq > than.seq;
  };
  auto consider = [&](const route_entry& e) {
    if (e.route.method != method
        || !protocol::match_route(e.route, segments, candidate))
      return;
    if (!best || better(e, *best)) {
      best = &e;
      params.swap(candidate);
    }
  };
  for (auto& kvp : routes) consider(kvp.second);
  for (auto& kvp : remote_routes) consider(kvp.second);
  return best;
}

const http_router_state::route_entry*
http_router_state::find(const protocol::http_request& req,
                        protocol::http_params& params) const {
  auto segments = protocol::split_path(req.path);
  auto found = find(req.method, segments, params);
  if (!found && req.method == "HEAD") found = find("GET", segments, params);
  return found;
}

void http_router_state::on_http_call(http_call& x) {
  auto out = std::move(x.responder);
  if (!out) return; // cannot answer (never sent by the server)
  auto& req = x.request;
  protocol::http_params params;
  auto r = find(req, params);
  if (!r) {
    count_answer(req.method, "", 404);
    out->respond(protocol::error_response(404, "NOT_FOUND", "Not Found"));
    return;
  }
  auto method = r->route.method;
  auto route = r->route.api_path;
  auto data = protocol::http_request_json(req, r->route, params);
  if (!data) {
    count_answer(method, route, 400);
    out->respond(
      protocol::error_response(400, "BAD_REQUEST", error_text(data.error())));
    return;
  }
  auto fn = r->function_id;
  auto what = req.method + " " + req.path + " -> " + fn;
  auto timeout_ms = static_cast<uint64_t>(timeout.count());
  self
    ->request(registry, timeout,
              invoke{fn, std::move(*data), r->metadata, {}, {}, timeout_ms})
    .then(
      [this, out, what, method, route](invoke_result& res) {
        if (res.ok) {
          auto answer = protocol::response_from_result(res.body);
          count_answer(method, route, answer.status);
          out->respond(std::move(answer));
        } else {
          count_answer(method, route, 500);
          answer_failure(out, what, res.body);
        }
      },
      [this, out, what, fn, timeout_ms, method, route](caf::error& err) {
        if (err != caf::sec::request_timeout) {
          count_answer(method, route, 500);
          answer_failure(out, what, request_failure(err, fn, timeout_ms).body);
          return;
        }
        count_answer(method, route, 504);
        log::warn(log_name, what, ": no answer within ", timeout_ms,
                  " ms (504)");
        out->respond(
          protocol::error_response(504, "TIMEOUT",
                                   "the function did not answer within "
                                     + std::to_string(timeout_ms) + " ms"));
      });
}

void http_router_state::count_answer(const std::string& method,
                                     const std::string& route,
                                     unsigned status) {
  // A request's method is the client's text: only the ones a route can
  // have keep their own label.
  static const char* known[] = {"GET",   "POST", "PUT",    "DELETE",
                                "PATCH", "HEAD", "OPTIONS"};
  std::string m = "other";
  for (auto k : known)
    if (method == k) m = k;
  ++answers[std::make_tuple(std::move(m), route_slots.slot(route), status)];
}

std::vector<metrics::http_count> http_router_state::on_metrics() const {
  std::vector<metrics::http_count> out;
  out.reserve(answers.size());
  for (auto& [key, n] : answers)
    out.push_back(metrics::http_count{std::get<0>(key),
                                      route_slots.name(std::get<1>(key)),
                                      std::get<2>(key), n});
  return out;
}

// -- other nodes' routes ------------------------------------------------------

void http_router_state::on_remote_route(register_trigger& x) {
  if (x.node.empty() || !x.owner) return; // not a remote route
  auto r = protocol::parse_http_route(x.config);
  if (!r) {
    log::warn(log_name, "ignored http trigger ", x.id, " of node ", x.node,
              ": ", error_text(r.error()));
    return;
  }
  auto addr = x.owner.address();
  if (remote_owners.emplace(addr, x.node).second) self->monitor(x.owner);
  auto& e = remote_routes[{x.node, x.id}];
  e = route_entry{std::move(*r), x.id,       std::move(x.owner),
                  x.function_id, x.metadata, x.config,
                  x.node,        ++next_seq};
  auto local = routes.find(protocol::route_key(e.route));
  log::info(log_name, "route ", describe(e), " -> ", e.function_id,
            local != routes.end() ? " (this node's own route of that path "
                                    "wins while it exists)"
                                  : "");
}

void http_router_state::on_remote_unroute(const unregister_trigger& x) {
  auto i = remote_routes.find({x.node, x.id});
  if (i == remote_routes.end() || i->second.owner != x.owner) return;
  log::info(log_name, "route ", describe(i->second), " removed");
  remote_routes.erase(i);
}

// -- watchers and departures --------------------------------------------------

void http_router_state::announce(const route_entry& e, bool added) {
  if (!e.node.empty()) return; // never pass on what another node told us
  for (auto& w : watchers) {
    if (added)
      self->send(
        w, atom::httproute_v,
        register_trigger{
          e.trigger_id, "http", e.function_id, e.config, e.metadata, {}, {}});
    else
      self->send(w, atom::httproute_v,
                 unregister_trigger{e.trigger_id, {}, {}});
  }
}

void http_router_state::on_watch(caf::actor watcher) {
  if (!watcher
      || std::find(watchers.begin(), watchers.end(), watcher) != watchers.end())
    return;
  self->monitor(watcher);
  watchers.push_back(watcher);
  // Who serves the other nodes' routes here (sent by the router itself, so
  // that the node actor sees a local sender).
  self->send(watcher, atom::httprouter_v, caf::actor{self});
  for (auto& kvp : routes) {
    auto& e = kvp.second;
    self->send(
      watcher, atom::httproute_v,
      register_trigger{
        e.trigger_id, "http", e.function_id, e.config, e.metadata, {}, {}});
  }
}

void http_router_state::on_down(const caf::down_msg& dm) {
  watchers.erase(std::remove_if(watchers.begin(), watchers.end(),
                                [&](const caf::actor& w) {
                                  return w.address() == dm.source;
                                }),
                 watchers.end());
  auto owner = remote_owners.find(dm.source);
  if (owner == remote_owners.end()) return;
  size_t dropped = 0;
  for (auto i = remote_routes.begin(); i != remote_routes.end();) {
    if (i->second.owner.address() == dm.source) {
      i = remote_routes.erase(i);
      ++dropped;
    } else {
      ++i;
    }
  }
  if (dropped > 0)
    log::info(log_name, "removed the ", dropped, " routes of node ",
              owner->second, " (its link is gone)");
  remote_owners.erase(owner);
}

caf::behavior http_router_actor(caf::stateful_actor<http_router_state>* self,
                                caf::actor registry,
                                std::chrono::milliseconds default_timeout) {
  self->state.init(self, std::move(registry), default_timeout);
  self->set_down_handler(
    [self](caf::down_msg& dm) { self->state.on_down(dm); });
  return {
    [self](const register_trigger& x) {
      return self->state.on_register_trigger(x);
    },
    [self](const unregister_trigger& x) {
      self->state.on_unregister_trigger(x);
    },
    [self](http_call& x) { self->state.on_http_call(x); },
    [self](atom::httproute, register_trigger& x) {
      self->state.on_remote_route(x);
    },
    [self](atom::httproute, const unregister_trigger& x) {
      self->state.on_remote_unroute(x);
    },
    [self](atom::watch, caf::actor& w) { self->state.on_watch(std::move(w)); },
    [self](atom::metrics) { return self->state.on_metrics(); },
  };
}

} // namespace troupe
