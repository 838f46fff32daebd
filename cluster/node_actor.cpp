#include "cluster/node_actor.hpp"

#include <algorithm>
#include <chrono>

#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/send.hpp>

#include "actors/call_error.hpp"
#include "actors/type_ids.hpp"
#include "base/errc.hpp"
#include "base/log.hpp"
#include "base/uuid.hpp"
#include "cluster/cluster_type_ids.hpp"
#include "cluster/peer_actor.hpp"
#include "protocol/frames.hpp"
#include "protocol/json_member.hpp"

namespace troupe {

namespace {

constexpr auto log_name = "cluster";

/// CAF refuses links to processes of another application id.
constexpr auto app_id = "troupe.c1";

/// How long one dial (TCP connect plus hello) may take.
constexpr auto dial_timeout = std::chrono::seconds(5);

/// How long a node may take to answer a queue call for the cluster.
constexpr auto queue_call_timeout = std::chrono::seconds(5);

bool split_address(const std::string& address, std::string& host,
                   uint16_t& port) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto n = std::strtoul(address.c_str() + colon + 1, nullptr, 10);
  if (n == 0 || n > 65535) return false;
  port = static_cast<uint16_t>(n);
  return true;
}

std::string status_text(member_status s) { return to_string(s); }

} // namespace

// -- setup --------------------------------------------------------------------

void node_state::init(caf::event_based_actor* self_ptr, cluster_config c,
                      std::shared_ptr<const queue_directory> queues_dir,
                      caf::actor registry_hdl) {
  self = self_ptr;
  cfg = std::move(c);
  dir = std::move(queues_dir);
  for (auto& kvp : dir->queues) queues.push_back(kvp.second.spec);
  digest = queue_config_digest(queues);
  incarnation = make_uuid();
  registry = std::move(registry_hdl);
}

void node_state::start() {
  log::info(log_name, "node ", cfg.name, " listening on ", cfg.advertise,
            cfg.seeds.empty()
              ? std::string{}
              : ", joining " + std::to_string(cfg.seeds.size()) + " seeds");
  push_view();
  for (auto& seed : cfg.seeds) {
    if (seed == cfg.advertise) {
      dials[seed].is_self = true;
      continue;
    }
    on_dial(seed);
  }
}

// -- the handshake ------------------------------------------------------------

node_hello node_state::make_hello(const std::string& to) const {
  node_hello h;
  h.name = cfg.name;
  h.incarnation = incarnation;
  h.advertise = cfg.advertise;
  h.config_digest = digest;
  h.heartbeat_ms = cfg.heartbeat_ms;
  h.peer_timeout_ms = cfg.peer_timeout_ms;
  h.cookie_proof = cookie_proof(cfg.cookie, incarnation, to);
  for (auto& [name, m] : members)
    if (!m.advertise.empty())
      h.members.push_back(member_info{name, m.advertise, m.incarnation,
                                      static_cast<uint8_t>(m.status)});
  return h;
}

std::string node_state::check(const node_hello& h,
                              const std::string& expected_to) const {
  if (h.protocol != cluster_protocol)
    return "cluster protocol " + std::to_string(h.protocol) + " there, "
           + std::to_string(cluster_protocol) + " here";
  if (h.incarnation == incarnation)
    return "a node cannot join itself (" + h.advertise + " is this node)";
  if (h.name == cfg.name)
    return "duplicate name: both nodes are named '" + h.name + "'";
  if (h.cookie_proof != cookie_proof(cfg.cookie, h.incarnation, expected_to))
    return cfg.cookie.empty() ? "the other node has a cookie, this one none"
                              : "cookie mismatch";
  if (h.config_digest != digest)
    return "different queue configuration (queue names, types and "
           "message_group_fields must match; digest "
           + digest + " here, " + h.config_digest + " there)";
  if (h.heartbeat_ms != cfg.heartbeat_ms
      || h.peer_timeout_ms != cfg.peer_timeout_ms)
    return "different heartbeat settings (heartbeat_ms/peer_timeout_ms "
           + std::to_string(cfg.heartbeat_ms) + "/"
           + std::to_string(cfg.peer_timeout_ms) + " here, "
           + std::to_string(h.heartbeat_ms) + "/"
           + std::to_string(h.peer_timeout_ms) + " there)";
  if (auto i = members.find(h.name); i != members.end()
                                     && i->second.status == member_status::up
                                     && i->second.incarnation != h.incarnation)
    return "duplicate name: a live node named '" + h.name
           + "' is already a member";
  return {};
}

caf::result<node_hello> node_state::on_hello(node_hello& h) {
  auto remote = caf::actor_cast<caf::actor>(self->current_sender());
  if (leaving || !remote)
    return caf::make_error(errc::shutting_down,
                           "node " + cfg.name + " is leaving the cluster");
  if (auto why = check(h, ""); !why.empty()) {
    log_refusal(h.name, h.advertise, why);
    if (auto i = members.find(h.name);
        i != members.end() && i->second.status != member_status::up) {
      i->second.status = member_status::refused;
      i->second.reason = why;
    }
    return caf::make_error(errc::bad_config,
                           "refused by " + cfg.name + ": " + why);
  }
  // The answer goes out first, then (from accept) our functions: the
  // dialer knows us only once it has our answer, and drops updates from a
  // node it does not know.
  auto rp = self->make_response_promise<node_hello>();
  rp.deliver(make_hello(h.incarnation));
  accept(h, remote);
  return rp;
}

void node_state::accept(const node_hello& h, caf::actor remote) {
  if (leaving) return; // a dial that completes after our bye
  forgotten.erase(h.advertise);
  auto& m = members[h.name];
  if (m.status == member_status::up && m.incarnation == h.incarnation)
    return; // the same run again: a crossing dial or a redundant link
  if (m.peer) {
    log::warn(log_name, h.name,
              " restarted (new incarnation); calls in "
              "flight to its previous run fail");
    self->send_exit(m.peer, caf::exit_reason::user_shutdown);
  }
  auto rejoined = m.status == member_status::down
                  && m.incarnation == h.incarnation;
  m.name = h.name;
  m.advertise = h.advertise;
  m.incarnation = h.incarnation;
  m.status = member_status::up;
  m.reason.clear();
  m.node = remote;
  self->monitor(remote);
  m.peer = self->spawn(peer_actor, h.name, remote, registry);
  auto& d = dials[h.advertise];
  d.name = h.name;
  d.failures = 0;
  d.last_error.clear();
  if (rejoined)
    log::warn(log_name, h.name,
              " is back after being declared down (the "
              "same run: it was frozen or cut off); calls "
              "failed meanwhile may have run there too");
  else
    log::info(log_name, h.name, " joined (", h.advertise, ")");
  push_view();
  // Our functions, for its registry.
  fn_update ours;
  for (auto& id : local_functions) ours.added.push_back({id, {}, {}});
  if (!ours.added.empty()) self->send(remote, atom::fnupdate_v, ours);
  http_joined(m);
  for (auto& mi : h.members) learn(mi);
}

void node_state::learn(const member_info& mi) {
  if (mi.name == cfg.name || mi.advertise.empty()) return;
  if (forgotten.count(mi.advertise) > 0) return; // declared gone here
  auto i = members.find(mi.name);
  if (i != members.end() && i->second.status == member_status::up) return;
  if (i == members.end()) {
    auto& m = members[mi.name];
    m.name = mi.name;
    m.advertise = mi.advertise;
    m.incarnation = mi.incarnation;
    log::debug(log_name, "learned of ", mi.name, " (", mi.advertise, ")");
  }
  on_dial(mi.advertise);
}

// -- dialling -----------------------------------------------------------------

void node_state::on_dial(const std::string& address) {
  auto& d = dials[address];
  if (d.is_self || leaving || d.pending) return; // one dial per address
  if (forgotten.count(address) > 0) {
    d.pending = false;
    return;
  }
  if (!d.name.empty()) {
    auto i = members.find(d.name);
    if (i != members.end() && i->second.status == member_status::up) {
      d.pending = false;
      return;
    }
  }
  std::string host;
  uint16_t port = 0;
  if (!split_address(address, host, port)) {
    dial_failed(address, "not a host:port address");
    return;
  }
  d.pending = true;
  auto mm = self->system().middleman().actor_handle();
  self->request(mm, dial_timeout, caf::connect_atom::value, host, port)
    .then(
      [this, address](const caf::node_id&, caf::strong_actor_ptr& ptr,
                      const std::set<std::string>&) {
        auto remote = caf::actor_cast<caf::actor>(ptr);
        if (!remote) {
          dial_failed(address, "nothing published there");
          return;
        }
        self->request(remote, dial_timeout, atom::hello_v, make_hello(""))
          .then(
            [this, address, remote](node_hello& h) {
              dials[address].pending = false;
              if (auto why = check(h, incarnation); !why.empty()) {
                log_refusal(h.name, address, why);
                // The other side accepted us: tell it we do not.
                self->send(
                  remote, hello_refusal{"refused by " + cfg.name + ": " + why});
                auto i = members.find(h.name);
                if (i == members.end()
                    || i->second.status != member_status::up) {
                  auto& m = members[h.name];
                  m.name = h.name;
                  m.advertise = h.advertise;
                  m.status = member_status::refused;
                  m.reason = why;
                }
                dial_failed(address, why);
                return;
              }
              accept(h, remote);
            },
            [this, address](caf::error& err) {
              auto why = error_text(err);
              if (err == errc::bad_config && dials[address].last_error != why)
                log::warn(log_name, address, " ", why);
              dial_failed(address, why);
            });
      },
      [this, address](caf::error& err) {
        dial_failed(address, caf::to_string(err));
      });
}

void node_state::log_refusal(const std::string& name,
                             const std::string& address,
                             const std::string& why) {
  auto& last = refusals[name + " " + address];
  if (last == why) return; // said once; the redials repeat it
  last = why;
  log::warn(log_name, "refused ", name, " (", address, "): ", why);
}

void node_state::on_refusal(hello_refusal& r) {
  auto m
    = find_by_node(caf::actor_cast<caf::actor_addr>(self->current_sender()));
  if (!m) return;
  log::warn(log_name, m->name, " (", m->advertise, ") ", r.reason);
  if (m->peer) self->send_exit(m->peer, caf::exit_reason::user_shutdown);
  m->peer = nullptr;
  m->node = nullptr;
  m->status = member_status::refused;
  m->reason = std::move(r.reason);
  push_view();
}

void node_state::dial_failed(const std::string& address,
                             const std::string& why) {
  auto& d = dials[address];
  d.pending = false;
  ++d.failures;
  if (why != d.last_error) {
    log::info(log_name, "cannot join ", address, " yet: ", why,
              " (retrying with backoff)");
    d.last_error = why;
  }
  if (why.find("cannot join itself") != std::string::npos) {
    d.is_self = true;
    return;
  }
  schedule_dial(address);
}

void node_state::schedule_dial(const std::string& address) {
  auto& d = dials[address];
  if (d.pending || d.is_self || leaving) return;
  d.pending = true;
  self->delayed_send(self, redial_delay(d.failures), atom::dial_v, address);
}

node_state::member* node_state::find_by_node(const caf::actor_addr& addr) {
  for (auto& kvp : members)
    if (kvp.second.node && kvp.second.node.address() == addr)
      return &kvp.second;
  return nullptr;
}

void node_state::on_down(const caf::down_msg& dm) {
  auto m = find_by_node(dm.source);
  if (!m) return;
  auto was = m->status;
  m->status = was == member_status::left ? member_status::left
                                         : member_status::down;
  m->reason = caf::to_string(dm.reason);
  m->node = nullptr;
  m->peer = nullptr; // it saw the same down and failed its calls
  if (was == member_status::up)
    log::warn(log_name, m->name, " is down (", m->reason, ")");
  else
    log::info(log_name, m->name, " left the cluster");
  auto& d = dials[m->advertise];
  d.pending = false;
  d.failures = 0;
  schedule_dial(m->advertise);
  push_view();
}

void node_state::push_view() {
  std::vector<std::string> up{cfg.name};
  std::vector<std::string> owners{cfg.name};
  for (auto& [name, m] : members) {
    if (m.status == member_status::up) up.push_back(name);
    // Every member known by name owns its FIFO groups, also while it is
    // away, until an operator declares it gone (forget). A refused node is
    // not a member.
    if (m.status != member_status::refused && !m.incarnation.empty())
      owners.push_back(name);
  }
  std::sort(up.begin(), up.end());
  std::sort(owners.begin(), owners.end());
  for (auto& kvp : dir->queues)
    self->send(kvp.second.supervisor, atom::members_v, cfg.name, up, owners);
}

// -- FIFO jobs ----------------------------------------------------------------

caf::result<std::string> node_state::on_forward(const std::string& owner,
                                                job& x, bool handover) {
  auto i = members.find(owner);
  if (i == members.end() || i->second.status != member_status::up
      || !i->second.peer)
    return caf::make_error(errc::enqueue_rejected,
                           "node " + owner + ", which owns group " + x.group
                             + " of queue '" + x.queue + "', is not up");
  auto rp = self->make_response_promise();
  if (handover)
    rp.delegate(i->second.peer, atom::handover_v, std::move(x));
  else
    rp.delegate(i->second.peer, atom::fwdenq_v, std::move(x));
  return rp;
}

caf::result<std::string> node_state::on_forwarded(job& x, bool handover) {
  auto q = dir->find(x.queue);
  if (!q)
    return caf::make_error(errc::enqueue_rejected,
                           "Queue '" + x.queue + "' not found");
  auto rp = self->make_response_promise();
  if (handover)
    rp.delegate(q->supervisor, atom::handover_v, std::move(x));
  else
    rp.delegate(q->supervisor, atom::fwdenq_v, std::move(x));
  return rp;
}

void node_state::on_settle_out(std::string& queue, const std::string& to,
                               std::vector<std::string>& owners) {
  auto i = members.find(to);
  if (i == members.end() || i->second.status != member_status::up
      || !i->second.peer)
    return; // it is told again when it is back
  self->send(i->second.peer, atom::settled_v, std::move(queue),
             std::move(owners), cfg.name);
}

void node_state::on_settle_in(const std::string& queue,
                              std::vector<std::string>& owners,
                              const std::string& from) {
  if (auto q = dir->find(queue))
    self->send(q->supervisor, atom::settled_v, from, std::move(owners));
}

// -- queue functions ----------------------------------------------------------

void node_state::on_queue_functions(caf::actor functions) {
  auto& sender = self->current_sender();
  if (sender && sender->node() != self->node()) return;
  queue_functions = std::move(functions);
}

caf::result<std::vector<protocol::node_answer>>
node_state::on_fanout(invoke& x) {
  struct gathering {
    std::vector<protocol::node_answer> answers;
    size_t missing = 0;
  };
  auto g = std::make_shared<gathering>();
  auto rp = self->make_response_promise<std::vector<protocol::node_answer>>();
  std::vector<caf::actor> dests{queue_functions};
  g->answers.push_back({cfg.name, false, {}});
  for (auto& [name, m] : members)
    if (m.status == member_status::up && m.node) {
      dests.push_back(m.node);
      g->answers.push_back({name, false, {}});
    }
  g->missing = dests.size();
  auto done = [g, rp](size_t i, invoke_result r) mutable {
    g->answers[i].ok = r.ok;
    g->answers[i].body = std::move(r.body);
    if (--g->missing == 0) rp.deliver(std::move(g->answers));
  };
  auto ms = std::chrono::milliseconds(queue_call_timeout).count();
  for (size_t i = 0; i < dests.size(); ++i) {
    auto fn = x.function_id + " on node " + g->answers[i].node;
    auto failed = [done, i, fn, ms](caf::error& e) mutable {
      done(i, request_failure(e, fn, ms));
    };
    auto answered = [done, i](invoke_result& r) mutable {
      done(i, std::move(r));
    };
    if (i > 0)
      self->request(dests[i], queue_call_timeout, atom::qlocal_v, x)
        .then(answered, failed);
    else if (queue_functions)
      self->request(queue_functions, queue_call_timeout, atom::localcall_v, x)
        .then(answered, failed);
    else
      done(i, invoke_result::error("engine_error",
                                   "the queue functions of node " + cfg.name
                                     + " are not started"));
  }
  return rp;
}

caf::result<invoke_result> node_state::on_qlocal(invoke& x) {
  if (!queue_functions)
    return invoke_result::error("engine_error", "the queue functions of node "
                                                  + cfg.name
                                                  + " are not started");
  auto rp = self->make_response_promise<invoke_result>();
  rp.delegate(queue_functions, atom::localcall_v, std::move(x));
  return rp;
}

// -- functions ----------------------------------------------------------------

void node_state::on_remote_update(fn_update& u) {
  auto m
    = find_by_node(caf::actor_cast<caf::actor_addr>(self->current_sender()));
  if (!m || !m->peer) return;
  self->send(m->peer, atom::fnupdate_v, std::move(u));
}

void node_state::on_local_update(std::vector<std::string>& added,
                                 std::vector<std::string>& removed) {
  fn_update u;
  for (auto& id : added)
    if (local_functions.insert(id).second) u.added.push_back({id, {}, {}});
  for (auto& id : removed)
    if (local_functions.erase(id) > 0) u.removed.push_back(id);
  if (u.added.empty() && u.removed.empty()) return;
  for (auto& kvp : members)
    if (kvp.second.status == member_status::up)
      self->send(kvp.second.node, atom::fnupdate_v, u);
}

void node_state::on_calls(call_batch& b) {
  auto peer = caf::actor_cast<caf::actor>(self->current_sender());
  std::vector<remote_call> refused;
  for (auto& c : b.calls) {
    if (!c.reply) { // a Void call: nothing to wait for, nobody to answer
      caf::anon_send(registry, atom::localcall_v, std::move(c.call));
      continue;
    }
    // A leaving node takes no new calls: the caller's peer sends them to
    // another provider (peer_state::on_results).
    if (leaving) {
      refused.push_back(std::move(c));
      continue;
    }
    // Counted, not delegated: a leaving node waits for these (on_drain).
    ++serving;
    auto id = c.id;
    self->request(registry, caf::infinite, atom::localcall_v, std::move(c.call))
      .then(
        [this, peer, id](invoke_result& r) { served(peer, id, std::move(r)); },
        [this, peer, id](caf::error& err) {
          served(peer, id,
                 invoke_result::error("invocation_stopped", error_text(err)));
        });
  }
  if (!refused.empty() && peer)
    self->send(peer, result_batch{{}, std::move(refused)});
}

void node_state::served(const caf::actor& peer, uint64_t id, invoke_result r) {
  if (peer) {
    if (answers.empty()) self->send(self, atom::flush_v);
    answers[peer].results.push_back(call_result{id, std::move(r)});
  }
  if (--serving > 0) return;
  // The answers leave before the engine hears that none is running.
  on_flush();
  for (auto& rp : drain_waiters) rp.deliver(caf::unit);
  drain_waiters.clear();
}

void node_state::on_flush() {
  for (auto& [peer, batch] : answers) self->send(peer, std::move(batch));
  answers.clear();
}

caf::result<void> node_state::on_drain() {
  if (serving == 0) return caf::unit;
  drain_waiters.push_back(self->make_response_promise());
  return drain_waiters.back();
}

void node_state::on_bye() {
  auto sender = caf::actor_cast<caf::actor_addr>(self->current_sender());
  if (auto m = sender ? find_by_node(sender) : nullptr) {
    m->status = member_status::left;
    if (m->peer) self->send(m->peer, atom::bye_v);
    push_view(); // its FIFO groups move now, not when its link closes
    return;
  }
  if (sender && sender != self->address()) return;
  // The engine stops: withdraw our functions everywhere first.
  leaving = true;
  for (auto& kvp : members)
    if (kvp.second.status == member_status::up)
      self->send(kvp.second.node, atom::bye_v);
  log::info(log_name, "node ", cfg.name, " leaves the cluster");
}

std::vector<member_info> node_state::on_members() const {
  std::vector<member_info> out;
  out.push_back(member_info{cfg.name, cfg.advertise, incarnation,
                            static_cast<uint8_t>(member_status::up)});
  for (auto& [name, m] : members)
    out.push_back(member_info{name, m.advertise, m.incarnation,
                              static_cast<uint8_t>(m.status)});
  return out;
}

invoke_result node_state::forget(const std::string& data) {
  auto arg = protocol::find_member(data, "node");
  if (arg.state != protocol::member_state::found || !arg.is_string
      || arg.value.empty())
    return invoke_result::error("invalid_argument",
                                "node must be a member's name (a string)");
  auto result = forget_member(arg.value, "an operator");
  if (!result.ok) return result;
  // Every other member forgets it too: its groups get new owners
  // everywhere at once.
  for (auto& kvp : members)
    if (kvp.second.status == member_status::up)
      self->send(kvp.second.node, atom::forgetnode_v, arg.value, cfg.name);
  return result;
}

void node_state::on_forget_from(const std::string& name,
                                const std::string& by) {
  auto r = forget_member(name, "node " + by);
  if (!r.ok)
    log::warn(log_name, "node ", by, " declared ", name,
              " gone, but it is not forgotten here: ", r.body);
}

invoke_result node_state::forget_member(const std::string& name,
                                        const std::string& by) {
  auto i = members.find(name);
  if (i == members.end())
    return invoke_result::error("node_not_found",
                                "no member is named '" + name + "'");
  if (i->second.status == member_status::up)
    return invoke_result::error("node_is_up",
                                "node '" + name
                                  + "' is up; only a node that is down or "
                                    "left can be declared gone");
  log::warn(log_name, by, " declared ", name, " (", i->second.advertise,
            ") gone for good; it is no longer redialled (it may join again "
            "by itself), and its FIFO groups now run on other nodes");
  forgotten.insert(i->second.advertise);
  if (i->second.peer) // a member that left may still have its link
    self->send_exit(i->second.peer, caf::exit_reason::user_shutdown);
  members.erase(i);
  push_view();
  return invoke_result::value(R"({"node":)" + protocol::quote(name)
                              + R"(,"forgotten":true})");
}

caf::result<invoke_result> node_state::on_invoke(invoke& x) {
  if (x.function_id == forget_function_id) return forget(x.data);
  if (x.function_id != members_function_id)
    return invoke_result::error("function_not_found",
                                "Function " + x.function_id + " not found");
  std::string out = "[";
  auto add = [&](const std::string& name, const std::string& advertise,
                 const std::string& inc, member_status s, bool me,
                 const std::string& reason) {
    if (out.size() > 1) out += ',';
    out += R"({"name":)" + protocol::quote(name) + R"(,"advertise":)"
           + protocol::quote(advertise) + R"(,"incarnation":)"
           + protocol::quote(inc) + R"(,"status":)"
           + protocol::quote(status_text(s)) + R"(,"self":)"
           + (me ? "true" : "false");
    if (!reason.empty()) out += R"(,"reason":)" + protocol::quote(reason);
    out += '}';
  };
  add(cfg.name, cfg.advertise, incarnation, member_status::up, true, {});
  for (auto& [name, m] : members)
    add(name, m.advertise, m.incarnation, m.status, false, m.reason);
  out += ']';
  return invoke_result::value(std::move(out));
}

// -- HTTP routes --------------------------------------------------------------

bool node_state::from_here() const {
  auto& sender = self->current_sender();
  return sender && sender->node() == self->node();
}

void node_state::on_http_router(caf::actor router) {
  if (!from_here() || !router
      || self->current_sender()
           != caf::actor_cast<caf::strong_actor_ptr>(router))
    return;
  http_router = std::move(router);
  for (auto& kvp : members)
    if (kvp.second.peer)
      self->send(kvp.second.peer, atom::httprouter_v, http_router);
}

void node_state::http_joined(const member& m) {
  if (http_router && m.peer)
    self->send(m.peer, atom::httprouter_v, http_router);
  if (local_routes.empty() || !m.node) return;
  http_update ours;
  for (auto& kvp : local_routes) ours.added.push_back(kvp.second);
  self->send(m.node, atom::httproute_v, ours);
}

void node_state::send_routes(const http_update& u) {
  for (auto& kvp : members)
    if (kvp.second.status == member_status::up && kvp.second.node)
      self->send(kvp.second.node, atom::httproute_v, u);
}

void node_state::on_local_route(const register_trigger& x) {
  if (!from_here() || !x.node.empty()) return; // only our own workers'
  http_route_msg r{x.id, x.function_id, x.config, x.metadata};
  local_routes[x.id] = r;
  http_update u;
  u.added.push_back(std::move(r));
  send_routes(u);
}

void node_state::on_local_unroute(const unregister_trigger& x) {
  if (!from_here() || !x.node.empty()) return;
  if (local_routes.erase(x.id) == 0) return;
  http_update u;
  u.removed.push_back(x.id);
  send_routes(u);
}

void node_state::on_remote_routes(http_update& u) {
  auto m
    = find_by_node(caf::actor_cast<caf::actor_addr>(self->current_sender()));
  if (!m || !m->peer) return; // not a member we know as up
  self->send(m->peer, atom::httproute_v, std::move(u));
}

caf::behavior node_actor(caf::stateful_actor<node_state>* self,
                         cluster_config cfg,
                         std::shared_ptr<const queue_directory> queues,
                         caf::actor registry) {
  self->state.init(self, std::move(cfg), std::move(queues),
                   std::move(registry));
  self->set_down_handler(
    [self](caf::down_msg& dm) { self->state.on_down(dm); });
  // The peers go with the node actor. A peer that ever sent a request to
  // its node is referenced from there, so CAF keeps it running while the
  // link is up, and the links only close after every actor is done: the
  // actor system would wait for it forever.
  self->set_exit_handler([self](caf::exit_msg& em) {
    for (auto& kvp : self->state.members)
      if (kvp.second.peer) self->send_exit(kvp.second.peer, em.reason);
    self->quit(em.reason);
  });
  return {
    [self](atom::setup, std::string& name, std::string& advertise) {
      self->state.cfg.name = std::move(name);
      self->state.cfg.advertise = std::move(advertise);
    },
    [self](atom::dialseeds) { self->state.start(); },
    [self](atom::hello, node_hello& h) { return self->state.on_hello(h); },
    [self](atom::fnupdate, fn_update& u) { self->state.on_remote_update(u); },
    [self](atom::fnupdate, std::vector<std::string>& added,
           std::vector<std::string>& removed) {
      self->state.on_local_update(added, removed);
    },
    [self](call_batch& b) { self->state.on_calls(b); },
    [self](atom::flush) { self->state.on_flush(); },
    [self](atom::bye) { self->state.on_bye(); },
    [self](atom::drain) { return self->state.on_drain(); },
    [self](atom::members) { return self->state.on_members(); },
    [self](invoke& x) { return self->state.on_invoke(x); },
    [self](atom::fwdenq, const std::string& owner, job& x) {
      return self->state.on_forward(owner, x, false);
    },
    [self](atom::fwdenq, job& x) { return self->state.on_forwarded(x, false); },
    [self](atom::handover, const std::string& owner, job& x) {
      return self->state.on_forward(owner, x, true);
    },
    [self](atom::handover, job& x) {
      return self->state.on_forwarded(x, true);
    },
    [self](atom::settled, std::string& queue, const std::string& to,
           std::vector<std::string>& owners) {
      self->state.on_settle_out(queue, to, owners);
    },
    [self](atom::settled, const std::string& queue,
           std::vector<std::string>& owners, const std::string& from) {
      self->state.on_settle_in(queue, owners, from);
    },
    [self](atom::forgetnode, const std::string& name, const std::string& by) {
      self->state.on_forget_from(name, by);
    },
    [self](atom::qcluster, caf::actor& functions) {
      self->state.on_queue_functions(std::move(functions));
    },
    [self](atom::fanout, invoke& x) { return self->state.on_fanout(x); },
    [self](atom::qlocal, invoke& x) { return self->state.on_qlocal(x); },
    [self](hello_refusal& r) { self->state.on_refusal(r); },
    [self](atom::httprouter, caf::actor& router) {
      self->state.on_http_router(std::move(router));
    },
    [self](atom::httproute, const register_trigger& x) {
      self->state.on_local_route(x);
    },
    [self](atom::httproute, const unregister_trigger& x) {
      self->state.on_local_unroute(x);
    },
    [self](atom::httproute, http_update& u) {
      self->state.on_remote_routes(u);
    },
    [self](atom::dial, const std::string& address) {
      self->state.dials[address].pending = false;
      self->state.on_dial(address);
    },
  };
}

// -- starting -----------------------------------------------------------------

void configure_cluster(caf::actor_system_config& cfg,
                       const cluster_config& cluster) {
  cfg.load<caf::io::middleman>();
  cfg.set("middleman.app-identifiers", std::vector<std::string>{app_id});
  cfg.set("middleman.heartbeat-interval",
          caf::timespan{std::chrono::milliseconds(cluster.heartbeat_ms)});
  cfg.set("middleman.connection-timeout",
          caf::timespan{std::chrono::milliseconds(cluster.peer_timeout_ms)});
}

caf::expected<caf::actor>
start_cluster_node(caf::actor_system& sys, cluster_config& cluster,
                   std::shared_ptr<const queue_directory> queues,
                   caf::actor registry) {
  auto node = sys.spawn(node_actor, cluster, queues, registry);
  auto port = sys.middleman().publish(node, cluster.port, cluster.host.c_str(),
                                      true);
  if (!port) {
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    return caf::make_error(errc::bad_config,
                           "cannot listen for cluster peers on " + cluster.host
                             + ":" + std::to_string(cluster.port) + ": "
                             + sys.render(port.error()));
  }
  auto host = cluster.host.find(':') != std::string::npos
                ? "[" + cluster.host + "]"
                : cluster.host;
  cluster.port = *port;
  auto here = host + ":" + std::to_string(*port);
  if (cluster.name.empty()) cluster.name = here;
  if (cluster.advertise.empty()) cluster.advertise = here;
  // The node's final name and address, then the seeds.
  caf::anon_send(node, atom::setup_v, cluster.name, cluster.advertise);
  caf::anon_send(registry,
                 register_function{
                   members_function_id, node, "the cluster's members", {}, {}});
  caf::anon_send(
    registry,
    register_function{
      forget_function_id, node, "declare a lost member gone for good", {}, {}});
  caf::anon_send(registry, atom::watch_v, node);
  caf::anon_send(node, atom::dialseeds_v);
  return node;
}

void stop_cluster_node(caf::actor_system& sys, const caf::actor& node,
                       uint16_t port) {
  if (auto done = sys.middleman().unpublish(node, port); !done)
    log::warn(log_name,
              "closing the cluster listener: ", sys.render(done.error()));
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
}

} // namespace troupe
