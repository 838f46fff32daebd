#include "protocol/queue_api.hpp"

#include <exception>

#include <nlohmann/json.hpp>

#include "protocol/frames.hpp"
#include "protocol/json_member.hpp"

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
      return fail(invalid(std::string{key} + " must be a string "
                          + describe(*v)));
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

std::string n(uint64_t x) {
  return std::to_string(x);
}

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
  return R"({"id":)" + quote(x.id) + R"(,"function_id":)"
         + quote(x.function_id) + R"(,"payload":)" + raw_or_null(x.payload)
         + R"(,"error":)" + raw_or_null(x.last_error) + R"(,"enqueued_at":)"
         + std::to_string(x.enqueued_at) + R"(,"failed_at":)"
         + std::to_string(x.failed_at) + R"(,"retries":)" + n(x.attempts)
         + R"(,"size_bytes":)" + n(x.payload.size()) + "}";
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

queue_api_expected<dlq_topics_request>
parse_dlq_topics(std::string_view data) {
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

queue_api_error queue_not_found(std::string_view queue) {
  return {"queue_not_found", "Queue '" + std::string{queue} + "' not found"};
}

// -- results ----------------------------------------------------------------

std::string redrive_result_json(std::string_view queue, uint64_t redriven) {
  return R"({"queue":)" + quote(queue) + R"(,"redriven":)" + n(redriven)
         + "}";
}

std::string redrive_message_result_json(std::string_view queue,
                                        std::string_view message_id,
                                        uint64_t redriven) {
  return R"({"queue":)" + quote(queue) + R"(,"message_id":)"
         + quote(message_id) + R"(,"redriven":)" + n(redriven) + "}";
}

std::string discard_message_result_json(std::string_view queue,
                                        std::string_view message_id,
                                        uint64_t discarded) {
  return R"({"queue":)" + quote(queue) + R"(,"message_id":)"
         + quote(message_id) + R"(,"discarded":)" + n(discarded) + "}";
}

std::string dlq_messages_json(const std::vector<job>& dead) {
  return json_array(dead, dead_job_json);
}

std::string dlq_topics_json(const std::vector<queue_stats>& queues) {
  return json_array(queues, topic_json);
}

std::string stats_json(const queue_stats& x) {
  return R"({"queue":)" + quote(x.queue) + R"(,"waiting":)" + n(x.waiting)
         + R"(,"in_flight":)" + n(x.in_flight) + R"(,"delayed":)"
         + n(x.delayed) + R"(,"dlq":)" + n(x.dlq) + R"(,"enqueued_total":)"
         + n(x.enqueued_total) + R"(,"succeeded_total":)"
         + n(x.succeeded_total) + R"(,"failed_attempts_total":)"
         + n(x.failed_attempts_total) + R"(,"dead_total":)" + n(x.dead_total)
         + "}";
}

std::string stats_list_json(const std::vector<queue_stats>& xs) {
  return json_array(xs, [](const queue_stats& x) { return stats_json(x); });
}

} // namespace troupe::protocol
