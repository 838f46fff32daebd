#include "protocol/admin_api.hpp"

#include <algorithm>
#include <exception>
#include <set>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "protocol/json_member.hpp"

namespace troupe::protocol {

namespace {

using json = nlohmann::json;

/// Parses `text` into a value, or discarded JSON; never throws.
json parse_json(std::string_view text) {
  if (nested_deeper_than(text, max_json_depth)) return json::value_t::discarded;
  try {
    return json::parse(text, nullptr, false);
  } catch (const std::exception&) {
    return json::value_t::discarded;
  }
}

/// The body as an object: `{}` for blank text; sets `out.error` otherwise.
bool body_object(std::string_view body, json& obj, admin_body& out) {
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    obj = json::object();
    return true;
  }
  obj = parse_json(body);
  if (obj.is_discarded()) {
    out.error = "the body is not valid JSON";
    return false;
  }
  if (!obj.is_object()) {
    out.error = "the body must be a JSON object";
    return false;
  }
  return true;
}

/// A non-empty string member `key` into `dst`; false with `out.error` set
/// when it is missing or of another type.
bool required_string(const json& obj, const char* key, std::string& dst,
                     admin_body& out) {
  auto i = obj.find(key);
  if (i == obj.end() || !i->is_string()
      || i->get_ref<const std::string&>().empty()) {
    out.error = std::string{"'"} + key + "' must be a non-empty string";
    return false;
  }
  dst = i->get<std::string>();
  return true;
}

uint64_t count_of(const json& obj, const char* key) {
  auto i = obj.find(key);
  return i != obj.end() && i->is_number_unsigned() ? i->get<uint64_t>() : 0;
}

/// The string member `key` of `obj`, or "" (never throws, unlike value()).
std::string string_of(const json& obj, const char* key) {
  auto i = obj.find(key);
  return i != obj.end() && i->is_string() ? i->get<std::string>() : "";
}

std::string dump(const json& x) {
  return x.dump(-1, ' ', false, json::error_handler_t::replace);
}

} // namespace

std::string json_string(std::string_view s) { return dump(json(std::string{s})); }

std::string admin_error_json(std::string_view code, std::string_view message) {
  return dump(json{{"error",
                    {{"code", std::string{code}},
                     {"message", std::string{message}}}}});
}

std::string readyz_json(const admin_readiness& x) {
  json out{{"status", x.status}};
  if (x.status == "recovering") {
    out["loaded"] = x.loaded;
    out["total"] = x.total;
  }
  return dump(out);
}

std::string status_json(const admin_status_info& x) {
  json out{{"version", x.version},
           {"ready", x.readiness.status == "ready"},
           {"status", x.readiness.status},
           {"recovery",
            {{"loaded", x.readiness.loaded}, {"total", x.readiness.total}}},
           {"read_only", x.read_only},
           {"auth", x.auth},
           {"node", x.node.empty() ? json(nullptr) : json(x.node)},
           {"uptime_seconds", x.uptime_seconds}};
  return dump(out);
}

admin_body parse_ids_body(std::string_view body, bool ids_required) {
  admin_body out;
  json obj;
  if (!body_object(body, obj, out)) return out;
  auto i = obj.find("ids");
  if (i == obj.end() || i->is_null()) {
    if (ids_required) out.error = "'ids' must be a non-empty array of ids";
    return out;
  }
  if (!i->is_array() || i->empty()) {
    out.error = "'ids' must be a non-empty array of ids";
    return out;
  }
  for (const auto& x : *i) {
    if (!x.is_string() || x.get_ref<const std::string&>().empty()) {
      out.error = "each of 'ids' must be a non-empty string";
      out.ids.clear();
      return out;
    }
    out.ids.push_back(x.get<std::string>());
  }
  out.has_ids = true;
  return out;
}

admin_body parse_id_body(std::string_view body) {
  admin_body out;
  json obj;
  if (body_object(body, obj, out)) required_string(obj, "id", out.id, out);
  return out;
}

admin_body parse_enqueue_body(std::string_view body) {
  admin_body out;
  json obj;
  if (!body_object(body, obj, out)
      || !required_string(obj, "function_id", out.function_id, out))
    return out;
  if (auto i = obj.find("payload"); i != obj.end()) out.payload = dump(*i);
  return out;
}

std::string error_code_of(std::string_view body) {
  auto doc = parse_json(body);
  if (!doc.is_object()) return {};
  auto i = doc.find("code");
  return i != doc.end() && i->is_string() ? i->get<std::string>() : "";
}

uint64_t uint_member(std::string_view body, std::string_view key) {
  auto doc = parse_json(body);
  return doc.is_object() ? count_of(doc, std::string{key}.c_str()) : 0;
}

std::string queues_json(std::string_view stats, std::string_view functions,
                        const std::vector<admin_queue_input>& queues) {
  auto stats_doc = parse_json(stats);
  auto fn_doc = parse_json(functions);
  std::unordered_set<std::string> served;
  if (fn_doc.is_object())
    if (auto i = fn_doc.find("functions"); i != fn_doc.end() && i->is_array())
      for (const auto& f : *i)
        if (f.is_object())
          if (auto id = f.find("function_id");
              id != f.end() && id->is_string())
            served.insert(id->get<std::string>());
  auto out = json::array();
  for (const auto& q : queues) {
    const auto& s = q.settings;
    json counts = json::object();
    if (stats_doc.is_array())
      for (const auto& x : stats_doc)
        if (x.is_object() && string_of(x, "queue") == s.name) {
          counts = x;
          break;
        }
    std::set<std::string> fns;
    std::set<std::string> unserved;
    json oldest = nullptr;
    for (const auto& text : q.pages) {
      auto page = parse_json(text);
      if (!page.is_object()) continue;
      bool waiting = string_of(page, "state") == "waiting";
      auto jobs = page.find("jobs");
      if (jobs == page.end() || !jobs->is_array()) continue;
      for (const auto& j : *jobs) {
        if (!j.is_object()) continue;
        auto fn = string_of(j, "function_id");
        if (fn.empty()) continue;
        fns.insert(fn);
        if (waiting && served.count(fn) == 0) unserved.insert(fn);
      }
      if (waiting && !jobs->empty() && (*jobs)[0].is_object())
        if (auto at = (*jobs)[0].find("enqueued_at");
            at != (*jobs)[0].end() && at->is_number())
          oldest = *at;
    }
    bool fifo = s.type == queue_type::fifo;
    auto paused = counts.find("paused");
    out.push_back(
      {{"name", s.name},
       {"type", fifo ? "fifo" : "standard"},
       {"message_group_field",
        fifo ? json(s.message_group_field) : json(nullptr)},
       {"concurrency", s.concurrency},
       {"max_retries", s.max_retries},
       {"backoff_ms", s.backoff_ms},
       {"paused",
        paused != counts.end() && paused->is_boolean() && paused->get<bool>()},
       {"waiting", count_of(counts, "waiting")},
       {"in_flight", count_of(counts, "in_flight")},
       {"delayed", count_of(counts, "delayed")},
       {"dead", count_of(counts, "dlq")},
       {"oldest_waiting_at", oldest},
       {"function_ids", fns},
       {"unserved_functions", unserved}});
  }
  return dump(json{{"queues", std::move(out)}});
}

std::string dlq_page_json(std::string_view queue, uint64_t offset,
                          uint64_t limit, std::string_view messages) {
  // The messages (payloads included) stay the text the function sent.
  auto first = messages.find_first_not_of(" \t\r\n");
  bool array = first != std::string_view::npos && messages[first] == '[';
  return "{\"queue\":" + json_string(queue) + ",\"offset\":"
         + std::to_string(offset) + ",\"limit\":" + std::to_string(limit)
         + ",\"messages\":" + (array ? std::string{messages} : "[]") + "}";
}

std::string admin_count_json(std::string_view queue, std::string_view what,
                             uint64_t n) {
  return dump(json{{"queue", std::string{queue}}, {std::string{what}, n}});
}

std::string workers_json(std::string_view workers,
                         std::string_view functions) {
  auto doc = parse_json(workers);
  if (!doc.is_object()) doc = json{{"workers", json::array()}};
  auto fns = parse_json(functions);
  json list = json::array();
  if (fns.is_object())
    if (auto i = fns.find("functions"); i != fns.end() && i->is_array())
      list = std::move(*i);
  doc["functions"] = std::move(list);
  return dump(doc);
}

std::string receipt_json(std::string_view id) {
  return dump(json{{"messageReceiptId", std::string{id}}});
}

} // namespace troupe::protocol
