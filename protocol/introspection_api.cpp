#include "protocol/introspection_api.hpp"

#include <algorithm>
#include <cctype>
#include <exception>
#include <map>
#include <set>
#include <tuple>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "protocol/frames.hpp"
#include "protocol/json_member.hpp"

#ifndef TROUPE_VERSION
#define TROUPE_VERSION "unknown"
#endif

namespace troupe::protocol {

namespace {

using json = nlohmann::json;

constexpr size_t config_summary_max = 80;
constexpr size_t function_info_batch_max = 32;
constexpr size_t log_text_max = 4096;

constexpr std::string_view functions_available_type
  = "engine::functions-available";

std::string dump(const json& v) {
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// Raw JSON text as a value; null when empty or unreadable.
json raw(const std::string& text) {
  if (text.empty() || nested_deeper_than(text, max_json_depth)) return nullptr;
  auto v = json::parse(text, nullptr, false);
  return v.is_discarded() ? json(nullptr) : v;
}

/// A description as text: workers' arrive as raw JSON (a string literal),
/// the engine's own as plain text.
std::string description_text(const std::string& s) {
  if (s.empty() || s.front() != '"') return s;
  auto v = json::parse(s, nullptr, false);
  return v.is_string() ? v.get<std::string>() : s;
}

json opt_string(const std::string& s) {
  return s.empty() ? json(nullptr) : json(s);
}

std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool contains_ci(std::string_view hay, const std::string& needle_lowered) {
  return lower(hay).find(needle_lowered) != std::string::npos;
}

std::string first_segment(std::string_view id) {
  auto i = id.find("::");
  return std::string{i == std::string_view::npos ? id : id.substr(0, i)};
}

invoke_result fail(std::string_view code, std::string message) {
  return invoke_result{false, error_body_json(code, message)};
}

invoke_result invalid(std::string message) {
  return fail("invalid_argument", std::move(message));
}

invoke_result ok(const json& v) { return invoke_result{true, dump(v)}; }

/// Reads a call's input; each read returns false after recording the first
/// problem, so reads chain with `&&`. JSON null counts as absent.
class input {
public:
  bool parse(std::string_view data) {
    if (data.find_first_not_of(" \t\r\n") == std::string_view::npos)
      return true;
    if (nested_deeper_than(data, max_json_depth))
      return bad("data nests deeper than " + std::to_string(max_json_depth)
                 + " levels");
    auto doc = json::parse(data, nullptr, false);
    if (doc.is_discarded()) return bad("data is not valid JSON");
    if (doc.is_null()) return true;
    if (!doc.is_object())
      return bad(std::string{"data must be an object (got "} + doc.type_name()
                 + ")");
    obj_ = std::move(doc);
    return true;
  }

  bool string(const char* key, std::string& out, bool& set) {
    auto v = find(key);
    set = v != nullptr;
    if (!v) return true;
    if (!v->is_string())
      return bad(std::string{key} + " must be a string (got " + v->type_name()
                 + ")");
    out = v->get_ref<const std::string&>();
    return true;
  }

  bool string(const char* key, std::string& out) {
    bool set = false;
    return string(key, out, set);
  }

  bool boolean(const char* key, bool& out) {
    auto v = find(key);
    if (!v) return true;
    if (!v->is_boolean())
      return bad(std::string{key} + " must be a boolean (got " + v->type_name()
                 + ")");
    out = v->get<bool>();
    return true;
  }

  bool strings(const char* key, std::vector<std::string>& out, bool& set) {
    auto v = find(key);
    set = v != nullptr;
    if (!v) return true;
    if (!v->is_array())
      return bad(std::string{key} + " must be an array of strings (got "
                 + v->type_name() + ")");
    for (auto& x : *v) {
      if (!x.is_string())
        return bad(std::string{key} + " must be an array of strings (got an "
                   + x.type_name() + " in it)");
      out.push_back(x.get<std::string>());
    }
    return true;
  }

  bool required(const char* key, bool set) {
    return set || bad(std::string{"missing field `"} + key + "`");
  }

  bool bad(std::string message) {
    error_ = std::move(message);
    return false;
  }

  const json* find(const char* key) const {
    if (!obj_.is_object()) return nullptr;
    auto i = obj_.find(key);
    return i == obj_.end() || i->is_null() ? nullptr : &*i;
  }

  const std::string& error() const { return error_; }

private:
  json obj_;
  std::string error_;
};

/// The names and lookups every answer needs.
class view {
public:
  explicit view(const catalog& c) : c_(c) {
    for (auto& w : c.workers)
      if (w.registered && !w.name.empty()) names_.emplace(w.worker_id, w.name);
    for (auto& f : c.functions) by_id_.emplace(f.id, &f);
  }

  const catalog& cat() const { return c_; }

  const catalog_function* function(const std::string& id) const {
    auto i = by_id_.find(id);
    return i == by_id_.end() ? nullptr : i->second;
  }

  /// iii's function_owner_index: the engine's own workers first, then the
  /// first named session that provides it, else the id's first segment.
  std::string worker_name(const std::string& function_id) const {
    auto engine = engine_worker_of(function_id);
    if (!engine.empty()) return engine;
    if (auto f = function(function_id))
      for (auto& w : f->worker_ids)
        if (auto i = names_.find(w); i != names_.end()) return i->second;
    return first_segment(function_id);
  }

  std::string trigger_type_owner(const catalog_trigger_type& t) const {
    if (auto i = names_.find(t.worker_id); i != names_.end()) return i->second;
    if (t.worker_id.empty()) {
      if (t.id == "http") return "iii-http";
      if (starts_with(t.id, "engine::")) return "iii-engine-functions";
    }
    return first_segment(t.id);
  }

  static std::string trigger_type_description(const std::string& id) {
    if (id == "http") return "HTTP API trigger";
    if (id == functions_available_type)
      return "Triggered when functions are registered/unregistered";
    return "";
  }

  json function_summary(const catalog_function& f) const {
    json out = {{"function_id", f.id}, {"worker_name", worker_name(f.id)}};
    if (auto d = description_text(f.description); !d.empty())
      out["description"] = d;
    if (auto m = raw(f.metadata); !m.is_null()) out["metadata"] = m;
    if (!f.nodes.empty()) out["nodes"] = f.nodes;
    return out;
  }

  json function_detail(const catalog_function& f) const {
    auto out = function_summary(f);
    auto refs = json::array();
    for (auto& t : c_.triggers)
      if (t.function_id == f.id)
        refs.push_back(
          {{"id", t.id}, {"trigger_type", t.type}, {"config", raw(t.config)}});
    out["registered_triggers"] = std::move(refs);
    return out;
  }

  json trigger_type_summary(const catalog_trigger_type& t) const {
    return {{"id", t.id},
            {"worker_name", trigger_type_owner(t)},
            {"description", trigger_type_description(t.id)}};
  }

  json trigger_type_detail(const catalog_trigger_type& t) const {
    auto out = trigger_type_summary(t);
    out["instance_count"]
      = std::count_if(c_.triggers.begin(), c_.triggers.end(),
                      [&](const catalog_trigger& x) { return x.type == t.id; });
    return out;
  }

  json registered_trigger_summary(const catalog_trigger& t) const {
    auto config = raw(t.config);
    auto summary = dump(config);
    if (summary.size() > config_summary_max) {
      // Cut at a UTF-8 character boundary.
      size_t n = config_summary_max;
      while (n > 0 && (static_cast<unsigned char>(summary[n]) & 0xC0) == 0x80)
        --n;
      summary = summary.substr(0, n) + "\u2026";
    }
    return {{"id", t.id},
            {"trigger_type", t.type},
            {"function_id", t.function_id},
            {"worker_name", worker_name(t.function_id)},
            {"config", config},
            {"config_summary", summary}};
  }

  /// The engine's in-process workers that serve something here, by name:
  /// the function ids each owns.
  std::map<std::string, std::vector<std::string>> engine_workers() const {
    std::map<std::string, std::vector<std::string>> out;
    for (auto& f : c_.functions) {
      auto w = engine_worker_of(f.id);
      if (!w.empty() && f.local) out[w].push_back(f.id);
    }
    for (auto& t : c_.trigger_types)
      if (t.worker_id.empty()) out[trigger_type_owner(t)];
    return out;
  }

  size_t function_count(const std::string& worker_id) const {
    return static_cast<size_t>(std::count_if(
      c_.functions.begin(), c_.functions.end(), [&](const catalog_function& f) {
        return std::find(f.worker_ids.begin(), f.worker_ids.end(), worker_id)
               != f.worker_ids.end();
      }));
  }

  json engine_worker_summary(const std::string& name, size_t functions) const {
    return {{"name", name},
            {"description", nullptr},
            {"version", TROUPE_VERSION},
            {"id", name},
            {"runtime", "engine"},
            {"os", nullptr},
            {"status", "available"},
            {"function_count", functions},
            {"connected_at_ms", c_.started_at_ms},
            {"active_invocations", 0},
            {"isolation", "in-process"},
            {"ip_address", nullptr}};
  }

  json worker_summary(const worker_meta& w) const {
    return {{"name", opt_string(w.name)},
            {"description", opt_string(w.description)},
            {"version", opt_string(w.version)},
            {"id", w.worker_id},
            {"runtime", opt_string(w.runtime)},
            {"os", opt_string(w.os)},
            {"status", "connected"},
            {"function_count", function_count(w.worker_id)},
            {"connected_at_ms", w.connected_at_ms},
            {"active_invocations", 0},
            {"isolation", opt_string(w.isolation)},
            {"ip_address", opt_string(w.ip_address)}};
  }

private:
  const catalog& c_;
  std::unordered_map<std::string, std::string> names_;
  std::unordered_map<std::string, const catalog_function*> by_id_;
};

bool tagged_internal(const catalog_function& f) {
  auto m = raw(f.metadata);
  if (!m.is_object()) return false;
  auto i = m.find("internal");
  return i != m.end() && i->is_boolean() && i->get<bool>();
}

// -- functions ------------------------------------------------------------------

invoke_result functions_list(std::string_view data, const view& v) {
  input in;
  std::string search, prefix, worker;
  std::vector<std::string> workers;
  bool workers_set = false;
  bool internal = false;
  if (!(in.parse(data) && in.string("search", search)
        && in.string("prefix", prefix) && in.string("worker", worker)
        && in.strings("workers", workers, workers_set)
        && in.boolean("include_internal", internal)))
    return invalid(in.error());
  auto needle = lower(search);
  std::vector<std::tuple<int, std::string, json>> rows;
  for (auto& f : v.cat().functions) {
    if (!internal
        && ((starts_with(f.id, "engine::")
             && !starts_with(f.id, "engine::queue::"))
            || tagged_internal(f)))
      continue;
    if (!prefix.empty() && !starts_with(f.id, prefix)) continue;
    auto owner = v.worker_name(f.id);
    if (!worker.empty() || !workers.empty()) {
      if (owner != worker
          && std::find(workers.begin(), workers.end(), owner) == workers.end())
        continue;
    }
    int rank = 0;
    if (!needle.empty()) {
      if (!contains_ci(f.id, needle)
          && !contains_ci(description_text(f.description), needle))
        continue;
      auto id = lower(f.id);
      bool segment = false;
      for (size_t at = 0; at <= id.size();) {
        auto next = id.find("::", at);
        auto seg = id.substr(at, next == std::string::npos ? std::string::npos
                                                           : next - at);
        if (seg == needle) segment = true;
        if (next == std::string::npos) break;
        at = next + 2;
      }
      rank = starts_with(id, needle) || segment     ? 0
             : id.find(needle) != std::string::npos ? 1
                                                    : 2;
    }
    rows.emplace_back(rank, f.id, v.function_summary(f));
  }
  std::stable_sort(rows.begin(), rows.end(), [](auto& a, auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a))
           < std::tie(std::get<0>(b), std::get<1>(b));
  });
  auto out = json::array();
  for (auto& r : rows) out.push_back(std::move(std::get<2>(r)));
  return ok({{"functions", std::move(out)}});
}

invoke_result functions_info(std::string_view data, const view& v) {
  input in;
  std::string id;
  bool id_set = false;
  std::vector<std::string> ids;
  bool ids_set = false;
  if (!(in.parse(data) && in.string("function_id", id, id_set)
        && in.strings("function_ids", ids, ids_set)))
    return invalid(in.error());
  if (id_set && ids_set)
    return invalid("pass either `function_id` or `function_ids`, not both");
  if (!id_set && !ids_set)
    return invalid(
      "missing field `function_id` (or `function_ids` for a batch)");
  if (id_set) {
    auto f = v.function(id);
    if (!f)
      return fail("NOT_FOUND", "Function '" + id + "' is not registered.");
    return ok(v.function_detail(*f));
  }
  std::vector<std::string> unique;
  for (auto& x : ids)
    if (std::find(unique.begin(), unique.end(), x) == unique.end())
      unique.push_back(x);
  if (unique.empty())
    return invalid("`function_ids` must be a non-empty array of function ids");
  if (unique.size() > function_info_batch_max)
    return invalid("too many function_ids (max "
                   + std::to_string(function_info_batch_max) + ")");
  auto out = json::array();
  for (auto& x : unique) {
    if (auto f = v.function(x))
      out.push_back(v.function_detail(*f));
    else
      out.push_back({{"function_id", x}, {"error", "not_found"}});
  }
  return ok({{"functions", std::move(out)}});
}

// -- trigger types and triggers -------------------------------------------------

invoke_result triggers_list(std::string_view data, const view& v) {
  input in;
  std::string search, prefix, worker;
  bool internal = false;
  if (!(in.parse(data) && in.string("search", search)
        && in.string("prefix", prefix) && in.string("worker", worker)
        && in.boolean("include_internal", internal)))
    return invalid(in.error());
  auto needle = lower(search);
  auto out = json::array();
  for (auto& t : v.cat().trigger_types) {
    if (!internal && starts_with(t.id, "engine::")) continue;
    if (!prefix.empty() && !starts_with(t.id, prefix)) continue;
    if (!worker.empty() && v.trigger_type_owner(t) != worker) continue;
    if (!needle.empty() && !contains_ci(t.id, needle)
        && !contains_ci(view::trigger_type_description(t.id), needle))
      continue;
    out.push_back(v.trigger_type_summary(t));
  }
  return ok({{"triggers", std::move(out)}});
}

invoke_result registered_triggers_list(std::string_view data, const view& v) {
  input in;
  std::string search, type, function_id, worker;
  bool internal = false;
  if (!(in.parse(data) && in.string("search", search)
        && in.string("trigger_type", type)
        && in.string("function_id", function_id) && in.string("worker", worker)
        && in.boolean("include_internal", internal)))
    return invalid(in.error());
  auto needle = lower(search);
  auto out = json::array();
  for (auto& t : v.cat().triggers) {
    if (!internal && starts_with(t.function_id, "engine::")) continue;
    if (!type.empty() && t.type != type) continue;
    if (!function_id.empty() && t.function_id != function_id) continue;
    if (!worker.empty() && v.worker_name(t.function_id) != worker) continue;
    if (!needle.empty() && !contains_ci(t.id, needle)
        && !contains_ci(t.type, needle) && !contains_ci(t.function_id, needle))
      continue;
    out.push_back(v.registered_trigger_summary(t));
  }
  return ok({{"registered_triggers", std::move(out)}});
}

invoke_result registered_triggers_info(std::string_view data, const view& v) {
  input in;
  std::string id;
  bool id_set = false;
  if (!(in.parse(data) && in.string("id", id, id_set)
        && in.required("id", id_set)))
    return invalid(in.error());
  auto& ts = v.cat().triggers;
  auto t = std::find_if(ts.begin(), ts.end(),
                        [&](const catalog_trigger& x) { return x.id == id; });
  if (t == ts.end())
    return fail("NOT_FOUND", "Registered trigger '" + id + "' was not found.");
  auto out = v.registered_trigger_summary(*t);
  out.erase("config_summary");
  if (auto m = raw(t->metadata); !m.is_null()) out["metadata"] = m;
  auto& types = v.cat().trigger_types;
  auto tt = std::find_if(types.begin(), types.end(),
                         [&](const auto& x) { return x.id == t->type; });
  out["trigger"] = tt == types.end() ? json(nullptr)
                                     : v.trigger_type_detail(*tt);
  auto f = v.function(t->function_id);
  out["function"] = f ? v.function_detail(*f) : json(nullptr);
  return ok(out);
}

// -- workers --------------------------------------------------------------------

invoke_result workers_list(std::string_view data, const view& v) {
  input in;
  std::string search, runtime, status;
  bool runtime_set = false;
  bool status_set = false;
  if (!(in.parse(data) && in.string("search", search)
        && in.string("runtime", runtime, runtime_set)
        && in.string("status", status, status_set)))
    return invalid(in.error());
  // Sorted by name (the id when nameless), then id, as iii does.
  std::vector<std::tuple<std::string, std::string, json>> rows;
  for (auto& w : v.cat().workers)
    if (w.registered)
      rows.emplace_back(w.name.empty() ? w.worker_id : w.name, w.worker_id,
                        v.worker_summary(w));
  for (auto& kvp : v.engine_workers())
    rows.emplace_back(kvp.first, kvp.first,
                      v.engine_worker_summary(kvp.first, kvp.second.size()));
  std::stable_sort(rows.begin(), rows.end(), [](auto& a, auto& b) {
    return std::tie(std::get<0>(a), std::get<1>(a))
           < std::tie(std::get<0>(b), std::get<1>(b));
  });
  auto needle = lower(search);
  auto out = json::array();
  for (auto& r : rows) {
    auto& w = std::get<2>(r);
    if (runtime_set && w["runtime"] != runtime) continue;
    if (status_set && w["status"] != status) continue;
    if (!needle.empty()
        && !(w["name"].is_string()
             && contains_ci(w["name"].get_ref<const std::string&>(), needle)))
      continue;
    out.push_back(std::move(w));
  }
  return ok({{"workers", std::move(out)}});
}

invoke_result workers_info(std::string_view data, const view& v) {
  input in;
  std::string name;
  bool name_set = false;
  if (!(in.parse(data) && in.string("name", name, name_set)
        && in.required("name", name_set)))
    return invalid(in.error());
  json envelope;
  std::vector<std::string> ids;
  auto engine = v.engine_workers();
  if (auto i = engine.find(name); i != engine.end()) {
    envelope = v.engine_worker_summary(name, i->second.size());
    envelope["internal"] = true;
    ids = i->second;
  } else {
    auto& ws = v.cat().workers;
    auto w = std::find_if(ws.begin(), ws.end(), [&](const worker_meta& x) {
      return x.registered && x.name == name;
    });
    if (w == ws.end())
      return fail("NOT_FOUND", "Worker '" + name + "' is not connected.");
    envelope = v.worker_summary(*w);
    if (w->pid >= 0) envelope["pid"] = w->pid;
    envelope["internal"] = false;
    for (auto& f : v.cat().functions)
      if (std::find(f.worker_ids.begin(), f.worker_ids.end(), w->worker_id)
          != f.worker_ids.end())
        ids.push_back(f.id);
  }
  std::sort(ids.begin(), ids.end());
  auto functions = json::array();
  for (auto& id : ids)
    if (auto f = v.function(id)) functions.push_back(v.function_summary(*f));
  auto types = json::array();
  for (auto& t : v.cat().trigger_types)
    if (v.trigger_type_owner(t) == name)
      types.push_back(v.trigger_type_summary(t));
  auto triggers = json::array();
  for (auto& t : v.cat().triggers)
    if (std::binary_search(ids.begin(), ids.end(), t.function_id))
      triggers.push_back(v.registered_trigger_summary(t));
  return ok({{"worker", std::move(envelope)},
             {"functions", std::move(functions)},
             {"trigger_types", std::move(types)},
             {"registered_triggers", std::move(triggers)}});
}

/// A value as it appears in a log line: strings as they are, the rest as
/// compact JSON, control characters escaped, at most log_text_max bytes.
std::string log_text(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (out.size() >= log_text_max) {
      out += "...";
      break;
    }
    auto u = static_cast<unsigned char>(c);
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (u < 0x20 || u == 0x7f) {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else
      out += c;
  }
  return out;
}

std::string log_value(const json& v) {
  return log_text(v.is_string() ? v.get_ref<const std::string&>() : dump(v));
}

} // namespace

// -- worker metadata ------------------------------------------------------------

void read_worker_metadata(std::string_view data, worker_meta& x) {
  x.registered = true;
  if (x.runtime.empty()) x.runtime = "unknown";
  try {
    if (nested_deeper_than(data, max_json_depth)) return;
    auto doc = json::parse(data, nullptr, false);
    if (!doc.is_object()) return;
    auto text = [&](const char* key, std::string& out) {
      auto i = doc.find(key);
      if (i != doc.end() && i->is_string()) {
        // Self-reported free text: no control characters, bounded.
        std::string s;
        for (char c : i->get_ref<const std::string&>())
          if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) s += c;
        out = s.substr(0, 280);
      }
    };
    text("name", x.name);
    text("description", x.description);
    text("runtime", x.runtime);
    text("version", x.version);
    text("os", x.os);
    text("isolation", x.isolation);
    if (auto i = doc.find("pid");
        i != doc.end() && i->is_number_integer() && i->get<int64_t>() >= 0)
      x.pid = i->get<int64_t>();
    if (auto i = doc.find("telemetry"); i != doc.end() && i->is_object())
      x.telemetry = dump(*i);
  } catch (const std::exception&) {
    // Keeps what was read; the call is Void.
  }
}

// -- answers --------------------------------------------------------------------

const std::vector<std::string>& introspection_function_ids() {
  static const std::vector<std::string> ids{
    "engine::functions::list",
    "engine::functions::info",
    "engine::workers::list",
    "engine::workers::info",
    "engine::triggers::list",
    "engine::registered-triggers::list",
    "engine::registered-triggers::info",
  };
  return ids;
}

std::string engine_worker_of(std::string_view id) {
  if (starts_with(id, "engine::queue::") || starts_with(id, "iii::queue::"))
    return "iii-queue";
  if (starts_with(id, "engine::log::")) return "iii-observability";
  if (starts_with(id, "engine::cluster::")) return "troupe-cluster";
  if (starts_with(id, "engine::") || starts_with(id, "iii::"))
    return "iii-engine-functions";
  return "";
}

invoke_result answer_introspection(std::string_view function_id,
                                   std::string_view data, const catalog& c) {
  try {
    view v{c};
    if (function_id == "engine::functions::list")
      return functions_list(data, v);
    if (function_id == "engine::functions::info")
      return functions_info(data, v);
    if (function_id == "engine::workers::list") return workers_list(data, v);
    if (function_id == "engine::workers::info") return workers_info(data, v);
    if (function_id == "engine::triggers::list") return triggers_list(data, v);
    if (function_id == "engine::registered-triggers::list")
      return registered_triggers_list(data, v);
    if (function_id == "engine::registered-triggers::info")
      return registered_triggers_info(data, v);
    return fail("function_not_found",
                "Function " + std::string{function_id} + " not found");
  } catch (const std::exception& e) {
    return fail("invocation_failed",
                std::string{"introspection failed: "} + e.what());
  }
}

std::string functions_available_json(const catalog& c) {
  try {
    view v{c};
    auto functions = json::array();
    for (auto& f : c.functions) functions.push_back(v.function_summary(f));
    return dump(
      {{"event", "functions_changed"}, {"functions", std::move(functions)}});
  } catch (const std::exception&) {
    return R"({"event":"functions_changed","functions":[]})";
  }
}

log_call parse_log_call(std::string_view data) {
  log_call out;
  try {
    input in;
    std::string trace_id, span_id;
    bool message_set = false;
    if (!(in.parse(data) && in.string("message", out.message, message_set)
          && in.required("message", message_set)
          && in.string("trace_id", trace_id) && in.string("span_id", span_id)
          && in.string("service_name", out.service_name)
          && in.string("_caller_worker_id", out.caller_worker_id))) {
      out.error = in.error();
      return out;
    }
    out.message = log_text(out.message);
    if (auto d = in.find("data")) {
      if (d->is_object()) {
        for (auto& kvp : d->items())
          out.fields += " " + log_text(kvp.key()) + "="
                        + log_value(kvp.value());
      } else {
        out.fields += " data=" + log_value(*d);
      }
    }
    if (!trace_id.empty()) out.fields += " trace_id=" + log_text(trace_id);
    if (!span_id.empty()) out.fields += " span_id=" + log_text(span_id);
    if (!out.service_name.empty())
      out.fields += " service_name=" + log_text(out.service_name);
  } catch (const std::exception& e) {
    out.error = std::string{"data cannot be read: "} + e.what();
  }
  return out;
}

} // namespace troupe::protocol
