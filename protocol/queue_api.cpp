#include "protocol/queue_api.hpp"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <limits>
#include <map>

#include <nlohmann/json.hpp>

#include "protocol/frames.hpp"
#include "protocol/json_member.hpp"
#include "protocol/json_scan.hpp"

namespace troupe::protocol {

namespace {

using json = nlohmann::json;

queue_api_error invalid(std::string message) {
  return {"invalid_argument", std::move(message)};
}

/// "(got 5)", "(got \"x\")", "(got array)" for messages.
std::string describe(const json& v) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    return s.size() <= 64 ? "(got " + quote(s) + ")" : "(got a long string)";
  }
  if (v.is_number() || v.is_boolean()) return "(got " + v.dump() + ")";
  return std::string{"(got "} + v.type_name() + ")";
}

/// Reads one call's input. Each read returns false after recording the
/// first problem in `error`, so reads chain with `&&`.
class input_reader {
public:
  /// Parses `data`: an object, or `{}` for null or blank text.
  bool parse(std::string_view data) {
    if (data.find_first_not_of(" \t\r\n") == std::string_view::npos)
      return true;
    if (nested_deeper_than(data, max_json_depth))
      return fail(invalid("data nests deeper than "
                          + std::to_string(max_json_depth) + " levels"));
    try {
      auto doc = json::parse(data, nullptr, false);
      if (doc.is_discarded()) return fail(invalid("data is not valid JSON"));
      if (doc.is_null()) return true;
      if (!doc.is_object())
        return fail(invalid("data must be an object " + describe(doc)));
      obj_ = std::move(doc);
      return true;
    } catch (const std::exception& e) {
      return fail(invalid(std::string{"data cannot be read: "} + e.what()));
    }
  }

  /// An optional string member; `out` stays as it is when absent or null.
  bool string(const char* key, std::string& out) {
    auto v = find(key);
    if (!v) return true;
    if (!v->is_string())
      return fail(
        invalid(std::string{key} + " must be a string " + describe(*v)));
    out = v->get_ref<const std::string&>();
    return true;
  }

  /// An optional non-negative integer member; `out` stays as it is when
  /// absent or null.
  bool count(const char* key, uint64_t& out) {
    auto v = find(key);
    if (!v) return true;
    if (v->is_number_unsigned()) {
      out = v->get<uint64_t>();
      return true;
    }
    if (v->is_number_integer() && v->get<int64_t>() == 0) { // "-0"
      out = 0;
      return true;
    }
    return fail(invalid(std::string{key} + " must be a non-negative integer "
                        + describe(*v)));
  }

  /// An optional job state member (its name); `out` stays as it is when
  /// absent or null, `seen` tells whether it was there.
  bool state(const char* key, job_status& out, bool& seen) {
    auto v = find(key);
    if (!v) return true;
    if (v->is_string() && from_string(v->get_ref<const std::string&>(), out)) {
      seen = true;
      return true;
    }
    return fail(invalid(std::string{key}
                        + " must be one of waiting, in_flight, delayed, "
                          "dead, held "
                        + describe(*v)));
  }

  /// Fails with invalid_argument unless `seen`.
  bool required(bool seen, const char* key) {
    if (seen) return true;
    return fail(invalid(std::string{key} + " is required"));
  }

  /// Fails with `code` unless `value` is set.
  bool required(const std::string& value, const char* key, const char* code) {
    if (!value.empty()) return true;
    return fail({code, std::string{key} + " is required"});
  }

  const queue_api_error& error() const { return error_; }

private:
  /// The member `key`, or nullptr when absent or null.
  const json* find(const char* key) const {
    if (!obj_.is_object()) return nullptr;
    auto i = obj_.find(key);
    return i == obj_.end() || i->is_null() ? nullptr : &*i;
  }

  bool fail(queue_api_error e) {
    error_ = std::move(e);
    return false;
  }

  json obj_;
  queue_api_error error_;
};

std::string n(uint64_t x) { return std::to_string(x); }

std::string raw_or_null(const std::string& raw) {
  return raw.empty() ? "null" : raw;
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

std::string dead_job_json(const job& x) {
  return R"({"id":)" + quote(x.id) + R"(,"function_id":)" + quote(x.function_id)
         + R"(,"payload":)" + raw_or_null(x.payload) + R"(,"error":)"
         + raw_or_null(x.last_error) + R"(,"enqueued_at":)"
         + std::to_string(x.enqueued_at) + R"(,"failed_at":)"
         + std::to_string(x.failed_at) + R"(,"retries":)" + n(x.attempts)
         + R"(,"size_bytes":)" + n(x.payload.size()) + "}";
}

/// `"node":groups,...` of queue_stats::waiting_on.
std::string waiting_on_members(const std::map<std::string, uint64_t>& xs) {
  std::string out;
  for (auto& [node, groups] : xs) {
    if (!out.empty()) out += ',';
    out += quote(node) + ':' + n(groups);
  }
  return out;
}

/// `,"waiting":n,...,"dead_total":n,"held":n,"waiting_on":{..}`: the
/// counters of stats_json.
std::string stats_counts(const queue_stats& x) {
  return R"(,"waiting":)" + n(x.waiting) + R"(,"in_flight":)" + n(x.in_flight)
         + R"(,"delayed":)" + n(x.delayed) + R"(,"dlq":)" + n(x.dlq)
         + R"(,"enqueued_total":)" + n(x.enqueued_total)
         + R"(,"succeeded_total":)" + n(x.succeeded_total)
         + R"(,"failed_attempts_total":)" + n(x.failed_attempts_total)
         + R"(,"dead_total":)" + n(x.dead_total) + R"(,"held":)" + n(x.held)
         + R"(,"waiting_on":{)" + waiting_on_members(x.waiting_on) + "}"
         + R"(,"paused":)" + (x.paused ? "true" : "false");
}

/// A time (ms since the epoch), or null when `present` is false.
std::string time_or_null(int64_t t, bool present) {
  return present ? std::to_string(t) : "null";
}

std::string attempt_json(const attempt_record& x) {
  auto done = x.duration_ms >= 0;
  return R"({"number":)" + n(x.number) + R"(,"started_at":)"
         + std::to_string(x.started_at) + R"(,"duration_ms":)"
         + time_or_null(x.duration_ms, done) + R"(,"ok":)"
         + (done ? (x.ok ? "true" : "false") : "null") + R"(,"error":)"
         + raw_or_null(x.error) + "}";
}

/// The members both job_json and a list entry have, after the id.
std::string job_common(const job_info& x) {
  auto& j = x.job;
  return R"(,"function_id":)" + quote(j.function_id) + R"(,"state":)"
         + quote(to_string(x.state)) + R"(,"attempts":)" + n(j.attempts)
         + R"(,"max_attempts":)" + n(x.max_attempts) + R"(,"enqueued_at":)"
         + std::to_string(j.enqueued_at) + R"(,"next_attempt_at":)"
         + time_or_null(x.next_attempt_at, x.state == job_status::delayed)
         + R"(,"failed_at":)"
         + time_or_null(j.failed_at, x.state == job_status::dead)
         + R"(,"error":)" + raw_or_null(j.last_error) + R"(,"group":)"
         + (j.group.empty() ? std::string{"null"} : quote(j.group));
}

std::string job_entry_json(const job_info& x) {
  return R"({"id":)" + quote(x.job.id) + job_common(x) + R"(,"payload_size":)"
         + n(x.payload_size) + "}";
}

std::string group_json(const group_info& x) {
  return R"({"group":)" + quote(x.group) + R"(,"jobs":)" + n(x.jobs)
         + R"(,"running":)" + (x.running ? "true" : "false")
         + R"(,"blocked_by_retry":)" + (x.blocked_by_retry ? "true" : "false")
         + R"(,"next_attempt_at":)"
         + time_or_null(x.next_attempt_at, x.blocked_by_retry)
         + R"(,"head_id":)" + quote(x.head_id) + R"(,"held":)"
         + (x.held ? "true" : "false") + "}";
}

std::string topic_json(const queue_stats& x) {
  return R"({"topic":)" + quote(x.queue) + R"(,"broker_type":"builtin")"
         + R"(,"message_count":)" + n(x.dlq) + "}";
}

} // namespace

// -- requests ---------------------------------------------------------------

queue_api_expected<redrive_request> parse_redrive(std::string_view data) {
  input_reader in;
  redrive_request x;
  if (in.parse(data) && in.string("queue", x.queue)
      && in.required(x.queue, "queue", "queue_not_set"))
    return x;
  return in.error();
}

queue_api_expected<message_request>
parse_message_request(std::string_view data) {
  input_reader in;
  message_request x;
  if (in.parse(data) && in.string("queue", x.queue)
      && in.string("message_id", x.message_id)
      && in.required(x.queue, "queue", "queue_not_set")
      && in.required(x.message_id, "message_id", "message_id_not_set"))
    return x;
  return in.error();
}

queue_api_expected<dlq_messages_request>
parse_dlq_messages(std::string_view data) {
  input_reader in;
  dlq_messages_request x;
  if (in.parse(data) && in.string("queue", x.queue)
      && in.count("offset", x.offset) && in.count("limit", x.limit)
      && in.required(x.queue, "queue", "queue_not_set"))
    return x;
  return in.error();
}

queue_api_expected<dlq_topics_request> parse_dlq_topics(std::string_view data) {
  input_reader in;
  if (in.parse(data)) return dlq_topics_request{};
  return in.error();
}

queue_api_expected<stats_request> parse_stats(std::string_view data) {
  input_reader in;
  stats_request x;
  if (in.parse(data) && in.string("queue", x.queue)) return x;
  return in.error();
}

queue_api_expected<job_request> parse_job_request(std::string_view data) {
  input_reader in;
  job_request x;
  if (in.parse(data) && in.string("queue", x.queue) && in.string("id", x.id)
      && in.required(!x.id.empty(), "id"))
    return x;
  return in.error();
}

queue_api_expected<jobs_request> parse_jobs_request(std::string_view data) {
  input_reader in;
  jobs_request x;
  bool has_state = false;
  if (in.parse(data) && in.string("queue", x.queue)
      && in.state("state", x.state, has_state) && in.count("offset", x.offset)
      && in.count("limit", x.limit)
      && in.required(x.queue, "queue", "queue_not_set")
      && in.required(has_state, "state"))
    return x;
  return in.error();
}

queue_api_expected<groups_request> parse_groups_request(std::string_view data) {
  input_reader in;
  groups_request x;
  if (in.parse(data) && in.string("queue", x.queue)
      && in.count("offset", x.offset) && in.count("limit", x.limit)
      && in.required(x.queue, "queue", "queue_not_set"))
    return x;
  return in.error();
}

queue_api_expected<pause_request> parse_pause_request(std::string_view data) {
  input_reader in;
  pause_request x;
  if (in.parse(data) && in.string("queue", x.queue)
      && in.required(x.queue, "queue", "queue_not_set"))
    return x;
  return in.error();
}

queue_api_expected<retry_now_request>
parse_retry_now_request(std::string_view data) {
  input_reader in;
  retry_now_request x;
  if (in.parse(data) && in.string("queue", x.queue) && in.string("id", x.id)
      && in.required(x.queue, "queue", "queue_not_set")
      && in.required(!x.id.empty(), "id"))
    return x;
  return in.error();
}

queue_api_error queue_not_found(std::string_view queue) {
  return {"queue_not_found", "Queue '" + std::string{queue} + "' not found"};
}

// -- results ----------------------------------------------------------------

std::string redrive_result_json(std::string_view queue, uint64_t redriven) {
  return R"({"queue":)" + quote(queue) + R"(,"redriven":)" + n(redriven) + "}";
}

std::string redrive_message_result_json(std::string_view queue,
                                        std::string_view message_id,
                                        uint64_t redriven) {
  return R"({"queue":)" + quote(queue) + R"(,"message_id":)" + quote(message_id)
         + R"(,"redriven":)" + n(redriven) + "}";
}

std::string discard_message_result_json(std::string_view queue,
                                        std::string_view message_id,
                                        uint64_t discarded) {
  return R"({"queue":)" + quote(queue) + R"(,"message_id":)" + quote(message_id)
         + R"(,"discarded":)" + n(discarded) + "}";
}

std::string dlq_messages_json(const std::vector<job>& dead) {
  return json_array(dead, dead_job_json);
}

std::string dlq_topics_json(const std::vector<queue_stats>& queues) {
  return json_array(queues, topic_json);
}

std::string stats_json(const queue_stats& x) {
  return R"({"queue":)" + quote(x.queue) + stats_counts(x) + "}";
}

std::string stats_list_json(const std::vector<queue_stats>& xs) {
  return json_array(xs, [](const queue_stats& x) { return stats_json(x); });
}

std::string job_json(const job_info& x) {
  auto& j = x.job;
  return R"({"id":)" + quote(j.id) + R"(,"queue":)" + quote(j.queue)
         + job_common(x) + R"(,"payload":)" + raw_or_null(j.payload)
         + R"(,"payload_size":)" + n(x.payload_size) + R"(,"attempts_log":)"
         + json_array(x.attempts_log, attempt_json) + "}";
}

std::string job_page_json(const job_page& x) {
  return R"({"queue":)" + quote(x.queue) + R"(,"state":)"
         + quote(to_string(x.state)) + R"(,"total":)" + n(x.total)
         + R"(,"offset":)" + n(x.offset) + R"(,"limit":)" + n(x.limit)
         + R"(,"jobs":)" + json_array(x.jobs, job_entry_json) + "}";
}

std::string groups_json(const group_page& x) {
  return json_array(x.groups, group_json);
}

std::string pause_result_json(std::string_view queue, bool paused) {
  return R"({"queue":)" + quote(queue) + R"(,"paused":)"
         + (paused ? "true" : "false") + "}";
}

std::string retry_now_result_json(std::string_view queue, std::string_view id,
                                  uint64_t retried) {
  return R"({"queue":)" + quote(queue) + R"(,"id":)" + quote(id)
         + R"(,"retried":)" + n(retried) + "}";
}

// -- a cluster's answer -----------------------------------------------------

namespace {

/// `text` as a document, or a discarded value; never throws.
json parse_quietly(std::string_view text) {
  if (nested_deeper_than(text, max_json_depth))
    return json(json::value_t::discarded);
  try {
    return json::parse(text, nullptr, false);
  } catch (const std::exception&) {
    return json(json::value_t::discarded);
  }
}

bool read_count(const json& obj, const char* key, uint64_t& out) {
  if (!obj.is_object()) return false;
  auto i = obj.find(key);
  if (i == obj.end() || !i->is_number_unsigned()) return false;
  out = i->get<uint64_t>();
  return true;
}

bool read_string(const json& obj, const char* key, std::string& out) {
  if (!obj.is_object()) return false;
  auto i = obj.find(key);
  if (i == obj.end() || !i->is_string()) return false;
  out = i->get<std::string>();
  return true;
}

bool read_waiting_on(const json& obj, queue_stats& x) {
  auto i = obj.find("waiting_on");
  if (i == obj.end() || !i->is_object()) return false;
  for (auto& [node, groups] : i->items()) {
    if (!groups.is_number_unsigned()) return false;
    x.waiting_on[node] = groups.get<uint64_t>();
  }
  return true;
}

/// `paused`, if there (a node of an older troupe leaves it out).
bool read_paused(const json& obj, queue_stats& x) {
  auto i = obj.find("paused");
  if (i == obj.end()) return true;
  if (!i->is_boolean()) return false;
  x.paused = i->get<bool>();
  return true;
}

/// One stats_json object.
bool read_stats(const json& obj, queue_stats& x) {
  return read_string(obj, "queue", x.queue)
         && read_count(obj, "waiting", x.waiting)
         && read_count(obj, "in_flight", x.in_flight)
         && read_count(obj, "delayed", x.delayed)
         && read_count(obj, "dlq", x.dlq)
         && read_count(obj, "enqueued_total", x.enqueued_total)
         && read_count(obj, "succeeded_total", x.succeeded_total)
         && read_count(obj, "failed_attempts_total", x.failed_attempts_total)
         && read_count(obj, "dead_total", x.dead_total)
         && read_count(obj, "held", x.held) && read_waiting_on(obj, x)
         && read_paused(obj, x);
}

void add(queue_stats& sum, const queue_stats& x) {
  sum.waiting += x.waiting;
  sum.in_flight += x.in_flight;
  sum.delayed += x.delayed;
  sum.dlq += x.dlq;
  sum.enqueued_total += x.enqueued_total;
  sum.succeeded_total += x.succeeded_total;
  sum.failed_attempts_total += x.failed_attempts_total;
  sum.dead_total += x.dead_total;
  sum.held += x.held;
  for (auto& [node, groups] : x.waiting_on) sum.waiting_on[node] += groups;
  sum.paused = sum.paused || x.paused;
}

/// A node's answer, read: `value` when `ok`, else `error` (the JSON of
/// `{code, message}`).
template <class T>
struct reading {
  std::string node;
  bool ok = false;
  T value{};
  std::string error;
};

/// The error a failed answer carries, as JSON to embed.
std::string answer_error(const node_answer& a) {
  if (parse_quietly(a.body).is_object()) return a.body;
  return error_body_json("engine_error", "node " + a.node + ": " + a.body);
}

/// Reads every answer with `read(body, value)`; a node that failed, or
/// whose answer `read` refuses, gets its error.
template <class T, class Read>
std::vector<reading<T>> read_all(const std::vector<node_answer>& answers,
                                 Read read) {
  std::vector<reading<T>> out;
  for (auto& a : answers) {
    reading<T> r;
    r.node = a.node;
    if (!a.ok)
      r.error = answer_error(a);
    else if (read(std::string_view{a.body}, r.value))
      r.ok = true;
    else
      r.error = error_body_json("bad_answer", "node " + a.node
                                                + " sent an answer that "
                                                  "cannot be read");
    out.push_back(std::move(r));
  }
  return out;
}

/// Reads each answer as a JSON document with `read(doc, value)`.
template <class T, class Read>
std::vector<reading<T>> read_docs(const std::vector<node_answer>& answers,
                                  Read read) {
  return read_all<T>(answers, [read](std::string_view body, T& x) {
    return read(parse_quietly(body), x);
  });
}

template <class T>
bool any_ok(const std::vector<reading<T>>& rs) {
  return std::any_of(rs.begin(), rs.end(), [](auto& r) { return r.ok; });
}

/// The merged call's error: no node answered.
template <class T>
invoke_result first_error(const std::vector<reading<T>>& rs) {
  if (rs.empty())
    return {false, error_body_json("engine_error", "no node answered")};
  return {false, rs.front().error};
}

/// `{"node":name` + members + `}`.
std::string node_entry(const std::string& node, const std::string& members) {
  return R"({"node":)" + quote(node) + members + "}";
}

template <class T>
std::string error_entry(const reading<T>& r) {
  return node_entry(r.node, R"(,"error":)" + r.error);
}

void append(std::string& list, const std::string& item) {
  if (!list.empty()) list += ',';
  list += item;
}

/// `object` (a JSON object's text) with `"nodes":[entries]` added last.
std::string with_nodes(std::string object, const std::string& entries) {
  object.pop_back(); // '}'
  return object + R"(,"nodes":[)" + entries + "]}";
}

/// redrive, redrive_message, discard_message: sums `key` and renders the
/// sum with `render(sum)`.
template <class Render>
invoke_result merge_count(const std::vector<node_answer>& answers,
                          const char* key, Render render) {
  auto rs = read_docs<uint64_t>(answers, [key](const json& doc, uint64_t& x) {
    return read_count(doc, key, x);
  });
  if (!any_ok(rs)) return first_error(rs);
  uint64_t sum = 0;
  std::string entries;
  for (auto& r : rs) {
    if (!r.ok) {
      append(entries, error_entry(r));
      continue;
    }
    sum += r.value;
    append(entries,
           node_entry(r.node, std::string{",\""} + key + "\":" + n(r.value)));
  }
  return {true, with_nodes(render(sum), entries)};
}

/// Splits `text`, which must be valid JSON, into the elements of its
/// top-level array (each element's own text). False when not an array.
bool split_array(std::string_view text, std::vector<std::string_view>& out) {
  constexpr std::string_view blank = " \t\r\n";
  auto i = text.find_first_not_of(blank);
  if (i == std::string_view::npos || text[i] != '[') return false;
  size_t depth = 0;
  size_t start = std::string_view::npos;
  bool in_string = false;
  for (++i; i < text.size(); ++i) {
    auto c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (blank.find(c) != std::string_view::npos) continue;
    if (depth == 0 && (c == ',' || c == ']')) {
      if (start != std::string_view::npos) {
        auto item = text.substr(start, i - start);
        out.push_back(item.substr(0, item.find_last_not_of(blank) + 1));
      }
      start = std::string_view::npos;
      if (c == ']') return true;
      continue;
    }
    if (start == std::string_view::npos) start = i;
    if (c == '"')
      in_string = true;
    else if (c == '[' || c == '{')
      ++depth;
    else if (c == ']' || c == '}')
      --depth;
  }
  return false;
}

/// One entry of one node's list answer (dlq_messages, jobs).
struct dead_entry {
  /// The member the list is ordered by (a number; null reads as 0).
  int64_t failed_at = 0;
  /// The entry's members, as JSON text without the braces.
  std::string members;
};

/// A dlq_messages answer: an array of objects, each with a numeric
/// failed_at. The members stay the text they are (payloads are never
/// reformatted).
bool read_entries(std::string_view body, std::vector<dead_entry>& out,
                  std::string_view key, bool key_may_be_null);

bool read_dead(std::string_view body, std::vector<dead_entry>& out) {
  return read_entries(body, out, "failed_at", false);
}

bool read_entries(std::string_view body, std::vector<dead_entry>& out,
                  std::string_view key, bool key_may_be_null) {
  if (nested_deeper_than(body, max_json_depth)) return false;
  try {
    if (!json::accept(body)) return false;
  } catch (const std::exception&) {
    return false;
  }
  std::vector<std::string_view> items;
  if (!split_array(body, items)) return false;
  std::vector<json_scan::member> members;
  for (auto item : items) {
    members.clear();
    if (!json_scan::split_object(item, members, max_json_depth)) return false;
    dead_entry e;
    bool has_time = false;
    for (auto& m : members) {
      if (m.key == key && m.type == json_scan::kind::number) {
        e.failed_at = std::strtoll(std::string{m.text}.c_str(), nullptr, 10);
        has_time = true;
      } else if (m.key == key && key_may_be_null
                 && m.type == json_scan::kind::null_value) {
        has_time = true;
      }
      if (!e.members.empty()) e.members += ',';
      e.members += quote(m.key) + ":" + std::string{m.text};
    }
    if (!has_time) return false;
    out.push_back(std::move(e));
  }
  return true;
}

} // namespace

std::string dlq_messages_fanout_data(const dlq_messages_request& x) {
  auto max = std::numeric_limits<uint64_t>::max();
  auto limit = x.limit > max - x.offset ? max : x.offset + x.limit;
  return R"({"queue":)" + quote(x.queue) + R"(,"offset":0,"limit":)" + n(limit)
         + "}";
}

namespace {

uint64_t window(uint64_t offset, uint64_t limit) {
  auto max = std::numeric_limits<uint64_t>::max();
  return limit > max - offset ? max : offset + limit;
}

/// The error body's code, or "" when it has none.
std::string error_code_of(const std::string& body) {
  std::string code;
  read_string(parse_quietly(body), "code", code);
  return code;
}

} // namespace

std::string jobs_fanout_data(const jobs_request& x) {
  return R"({"queue":)" + quote(x.queue) + R"(,"state":)"
         + quote(to_string(x.state)) + R"(,"offset":0,"limit":)"
         + n(window(x.offset, x.limit)) + "}";
}

std::string groups_fanout_data(const groups_request& x) {
  return R"({"queue":)" + quote(x.queue) + R"(,"offset":0,"limit":)"
         + n(window(x.offset, x.limit)) + "}";
}

invoke_result merge_job(const std::vector<node_answer>& answers,
                        const job_request& x) {
  std::string failed;
  for (auto& a : answers) {
    if (a.ok) {
      auto body = a.body;
      auto end = body.find_last_of('}');
      if (end == std::string::npos) continue;
      body.erase(end);
      return {true, body + R"(,"node":)" + quote(a.node) + "}"};
    }
    if (error_code_of(a.body) != "job_not_found") {
      if (!failed.empty()) failed += ", ";
      failed += a.node;
    }
  }
  auto where = x.queue.empty() ? std::string{"any queue"}
                               : "queue '" + x.queue + "'";
  auto msg = "Job " + x.id + " not found in " + where;
  if (!failed.empty())
    msg += " on the nodes that answered (no answer from " + failed + ")";
  return {false, error_body_json("job_not_found", msg)};
}

invoke_result merge_jobs(const std::vector<node_answer>& answers,
                         const jobs_request& x) {
  struct page {
    uint64_t total = 0;
    std::vector<dead_entry> entries;
  };
  const char* key = x.state == job_status::dead      ? "failed_at"
                    : x.state == job_status::delayed ? "next_attempt_at"
                                                     : "enqueued_at";
  auto read = [key](std::string_view body, page& out) {
    std::vector<json_scan::member> members;
    if (!json_scan::split_object(body, members, max_json_depth)) return false;
    bool has_total = false;
    bool has_jobs = false;
    for (auto& m : members) {
      if (m.key == "total" && m.type == json_scan::kind::number) {
        out.total = std::strtoull(std::string{m.text}.c_str(), nullptr, 10);
        has_total = true;
      } else if (m.key == "jobs") {
        has_jobs = read_entries(m.text, out.entries, key, true);
        if (!has_jobs) return false;
      }
    }
    return has_total && has_jobs;
  };
  auto rs = read_all<page>(answers, read);
  if (!any_ok(rs)) return first_error(rs);
  uint64_t total = 0;
  std::vector<dead_entry> all;
  std::string entries;
  for (auto& r : rs) {
    if (!r.ok) {
      append(entries, error_entry(r));
      continue;
    }
    total += r.value.total;
    append(entries, node_entry(r.node, R"(,"total":)" + n(r.value.total)));
    for (auto& e : r.value.entries) {
      e.members += R"(,"node":)" + quote(r.node);
      all.push_back(std::move(e));
    }
  }
  auto newest_first = x.state == job_status::dead;
  std::stable_sort(all.begin(), all.end(), [newest_first](auto& a, auto& b) {
    return newest_first ? a.failed_at > b.failed_at : a.failed_at < b.failed_at;
  });
  std::string list = "[";
  for (uint64_t i = x.offset; i < all.size() && i - x.offset < x.limit; ++i) {
    if (list.size() > 1) list += ',';
    list += "{" + all[i].members + "}";
  }
  list += ']';
  auto out = R"({"queue":)" + quote(x.queue) + R"(,"state":)"
             + quote(to_string(x.state)) + R"(,"total":)" + n(total)
             + R"(,"offset":)" + n(x.offset) + R"(,"limit":)" + n(x.limit)
             + R"(,"jobs":)" + list + "}";
  return {true, with_nodes(std::move(out), entries)};
}

invoke_result merge_groups(const std::vector<node_answer>& answers,
                           const groups_request& x) {
  auto read = [](const json& doc, std::vector<json>& out) {
    if (!doc.is_array()) return false;
    for (auto& item : doc) {
      if (!item.is_object() || !item.contains("group")) return false;
      out.push_back(item);
    }
    return true;
  };
  auto rs = read_docs<std::vector<json>>(answers, read);
  if (!any_ok(rs)) return first_error(rs);
  std::vector<json> all;
  for (auto& r : rs)
    for (auto& g : r.value) {
      g["node"] = r.node;
      all.push_back(std::move(g));
    }
  auto flag = [](const json& g, const char* k) {
    auto i = g.find(k);
    return i != g.end() && i->is_boolean() && i->get<bool>();
  };
  auto due = [](const json& g) {
    auto i = g.find("next_attempt_at");
    return i != g.end() && i->is_number() ? i->get<int64_t>() : int64_t{0};
  };
  auto name = [](const json& g) {
    auto i = g.find("group");
    return i != g.end() && i->is_string() ? i->get<std::string>()
                                          : std::string{};
  };
  std::stable_sort(all.begin(), all.end(), [&](auto& a, auto& b) {
    auto ba = flag(a, "blocked_by_retry");
    auto bb = flag(b, "blocked_by_retry");
    if (ba != bb) return ba;
    if (ba && due(a) != due(b)) return due(a) < due(b);
    auto ra = flag(a, "running");
    auto rb = flag(b, "running");
    if (ra != rb) return ra;
    return name(a) < name(b);
  });
  std::string out = "[";
  for (uint64_t i = x.offset; i < all.size() && i - x.offset < x.limit; ++i) {
    if (out.size() > 1) out += ',';
    out += all[i].dump();
  }
  out += ']';
  return {true, std::move(out)};
}

invoke_result merge_pause(const std::vector<node_answer>& answers,
                          std::string_view queue) {
  auto rs = read_docs<bool>(answers, [](const json& doc, bool& x) {
    if (!doc.is_object()) return false;
    auto i = doc.find("paused");
    if (i == doc.end() || !i->is_boolean()) return false;
    x = i->get<bool>();
    return true;
  });
  if (!any_ok(rs)) return first_error(rs);
  bool any = false;
  std::string entries;
  for (auto& r : rs) {
    if (!r.ok) {
      append(entries, error_entry(r));
      continue;
    }
    any = any || r.value;
    append(entries, node_entry(r.node, std::string{R"(,"paused":)"}
                                         + (r.value ? "true" : "false")));
  }
  return {true, with_nodes(pause_result_json(queue, any), entries)};
}

invoke_result merge_retry_now(const std::vector<node_answer>& answers,
                              const retry_now_request& x) {
  return merge_count(answers, "retried", [&x](uint64_t sum) {
    return retry_now_result_json(x.queue, x.id, sum);
  });
}

invoke_result merge_stats(const std::vector<node_answer>& answers,
                          std::string_view queue) {
  auto rs = read_docs<queue_stats>(answers, read_stats);
  if (!any_ok(rs)) return first_error(rs);
  queue_stats sum;
  sum.queue = std::string{queue};
  std::string entries;
  for (auto& r : rs) {
    if (!r.ok) {
      append(entries, error_entry(r));
      continue;
    }
    add(sum, r.value);
    append(entries, node_entry(r.node, stats_counts(r.value)));
  }
  return {true, with_nodes(stats_json(sum), entries)};
}

invoke_result merge_stats_list(const std::vector<node_answer>& answers) {
  auto read = [](const json& doc, std::vector<queue_stats>& xs) {
    if (!doc.is_array()) return false;
    for (auto& item : doc) {
      queue_stats x;
      if (!read_stats(item, x)) return false;
      xs.push_back(std::move(x));
    }
    return true;
  };
  auto rs = read_docs<std::vector<queue_stats>>(answers, read);
  if (!any_ok(rs)) return first_error(rs);
  std::map<std::string, queue_stats> sums;
  for (auto& r : rs)
    for (auto& x : r.value) {
      auto& sum = sums[x.queue];
      sum.queue = x.queue;
      add(sum, x);
    }
  // A failed node appears under every queue, in its place.
  std::string out = "[";
  for (auto& [name, sum] : sums) {
    std::string entries;
    for (auto& r : rs) {
      if (!r.ok) {
        append(entries, error_entry(r));
        continue;
      }
      auto i = std::find_if(r.value.begin(), r.value.end(),
                            [&](auto& x) { return x.queue == name; });
      if (i != r.value.end())
        append(entries, node_entry(r.node, stats_counts(*i)));
    }
    if (out.size() > 1) out += ',';
    out += with_nodes(stats_json(sum), entries);
  }
  out += ']';
  return {true, std::move(out)};
}

invoke_result merge_dlq_topics(const std::vector<node_answer>& answers) {
  using topics = std::vector<std::pair<std::string, uint64_t>>;
  auto read = [](const json& doc, topics& xs) {
    if (!doc.is_array()) return false;
    for (auto& item : doc) {
      std::pair<std::string, uint64_t> x;
      if (!read_string(item, "topic", x.first)
          || !read_count(item, "message_count", x.second))
        return false;
      xs.push_back(std::move(x));
    }
    return true;
  };
  auto rs = read_docs<topics>(answers, read);
  if (!any_ok(rs)) return first_error(rs);
  std::map<std::string, uint64_t> sums;
  for (auto& r : rs)
    for (auto& [topic, count] : r.value) sums[topic] += count;
  std::string out = "[";
  for (auto& [topic, sum] : sums) {
    std::string entries;
    for (auto& r : rs) {
      if (!r.ok) {
        append(entries, error_entry(r));
        continue;
      }
      for (auto& [t, count] : r.value)
        if (t == topic)
          append(entries,
                 node_entry(r.node, R"(,"message_count":)" + n(count)));
    }
    queue_stats x;
    x.queue = topic;
    x.dlq = sum;
    if (out.size() > 1) out += ',';
    out += with_nodes(topic_json(x), entries);
  }
  out += ']';
  return {true, std::move(out)};
}

invoke_result merge_dlq_messages(const std::vector<node_answer>& answers,
                                 const dlq_messages_request& x) {
  auto rs = read_all<std::vector<dead_entry>>(answers, read_dead);
  if (!any_ok(rs)) return first_error(rs);
  std::vector<dead_entry> all;
  for (auto& r : rs)
    for (auto& e : r.value) {
      e.members += R"(,"node":)" + quote(r.node);
      all.push_back(std::move(e));
    }
  std::stable_sort(all.begin(), all.end(),
                   [](auto& a, auto& b) { return a.failed_at > b.failed_at; });
  std::string out = "[";
  for (uint64_t i = x.offset; i < all.size() && i - x.offset < x.limit; ++i) {
    if (out.size() > 1) out += ',';
    out += "{" + all[i].members + "}";
  }
  out += ']';
  return {true, std::move(out)};
}

invoke_result merge_redrive(const std::vector<node_answer>& answers,
                            std::string_view queue) {
  return merge_count(answers, "redriven", [queue](uint64_t sum) {
    return redrive_result_json(queue, sum);
  });
}

invoke_result merge_redrive_message(const std::vector<node_answer>& answers,
                                    const message_request& x) {
  return merge_count(answers, "redriven", [&x](uint64_t sum) {
    return redrive_message_result_json(x.queue, x.message_id, sum);
  });
}

invoke_result merge_discard_message(const std::vector<node_answer>& answers,
                                    const message_request& x) {
  return merge_count(answers, "discarded", [&x](uint64_t sum) {
    return discard_message_result_json(x.queue, x.message_id, sum);
  });
}

} // namespace troupe::protocol
