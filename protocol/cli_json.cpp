#include "protocol/cli_json.hpp"

#include <algorithm>
#include <cstddef>

#include <nlohmann/json.hpp>

#include "protocol/json_member.hpp"

namespace troupe::protocol {

namespace {

using json = nlohmann::ordered_json;

/// Table cells longer than this (in code points) are cut, ending in "...".
constexpr size_t max_cell = 60;

/// Parses without throwing; discarded (is_discarded()) when not JSON or
/// nested too deep to dump safely.
json parse(const std::string& text) {
  if (nested_deeper_than(text, max_json_depth))
    return json(json::value_t::discarded);
  return json::parse(text, nullptr, false);
}

std::string dump(const json& j, int indent = -1) {
  // Invalid UTF-8 in a string would throw; replace it instead.
  return j.dump(indent, ' ', false, json::error_handler_t::replace);
}

size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

/// The first `n` code points of `s`.
std::string cut(const std::string& s, size_t n) {
  size_t seen = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) {
      if (seen == n) return s.substr(0, i);
      ++seen;
    }
  }
  return s;
}

/// One value as a cell: strings as they are, anything else as compact
/// JSON; control characters become spaces so that a row stays one line.
/// `shorten` (a column of a table) cuts long values and blanks nulls.
std::string cell(const json& v, bool shorten) {
  // In a table's columns, null reads better as a blank.
  if (shorten && v.is_null()) return {};
  std::string s = v.is_string() ? v.get<std::string>() : dump(v);
  for (auto& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  if (shorten && code_points(s) > max_cell) s = cut(s, max_cell - 3) + "...";
  return s;
}

std::string upper(std::string s) {
  for (auto& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

bool all_objects(const json& j) {
  return std::all_of(j.begin(), j.end(),
                     [](const json& x) { return x.is_object(); });
}

std::string generic(const json& j) {
  if (j.is_array()) {
    if (j.empty()) return "(none)\n";
    if (all_objects(j)) {
      std::vector<std::string> keys;
      for (auto& row : j)
        for (auto& [k, v] : row.items())
          if (std::find(keys.begin(), keys.end(), k) == keys.end())
            keys.push_back(k);
      std::vector<std::vector<std::string>> rows;
      for (auto& row : j) {
        std::vector<std::string> r;
        for (auto& k : keys) {
          auto it = row.find(k);
          r.push_back(it == row.end() ? "" : cell(*it, true));
        }
        rows.push_back(std::move(r));
      }
      std::vector<std::string> header;
      for (auto& k : keys) header.push_back(upper(k));
      return render_table(header, rows);
    }
    std::string out;
    for (auto& x : j) out += cell(x, false) + "\n";
    return out;
  }
  if (j.is_object()) {
    if (j.empty()) return "(empty)\n";
    // A list wrapped in an object, as {"workers": [...]}.
    if (j.size() == 1 && j.begin()->is_array()) return generic(*j.begin());
    std::vector<std::vector<std::string>> rows;
    for (auto& [k, v] : j.items()) rows.push_back({k, cell(v, false)});
    return render_table({}, rows);
  }
  return cell(j, false) + "\n";
}

/// Rows of `list` (objects) with the given (key, title) columns.
std::string
columns_table(const json& list,
              const std::vector<std::pair<const char*, const char*>>& columns) {
  std::vector<std::string> header;
  for (auto& c : columns) header.push_back(c.second);
  std::vector<std::vector<std::string>> rows;
  for (auto& x : list) {
    std::vector<std::string> r;
    for (auto& c : columns) {
      auto it = x.find(c.first);
      r.push_back(it == x.end() ? "" : cell(*it, true));
    }
    rows.push_back(std::move(r));
  }
  return render_table(header, rows);
}

std::string workers_table(const json& j) {
  auto list = j.is_object() && j.contains("workers") ? j["workers"] : j;
  if (!list.is_array() || !all_objects(list)) return generic(j);
  if (list.empty()) return "(no workers)\n";
  return columns_table(list, {{"name", "NAME"},
                              {"id", "ID"},
                              {"runtime", "RUNTIME"},
                              {"version", "VERSION"},
                              {"status", "STATUS"},
                              {"function_count", "FUNCTIONS"},
                              {"active_invocations", "INVOCATIONS"},
                              {"ip_address", "ADDRESS"}});
}

std::string queue_table(const json& j) {
  json list = j.is_object() ? json::array({j}) : j;
  if (!list.is_array() || !all_objects(list)) return generic(j);
  if (list.empty()) return "(no queues)\n";
  struct column {
    const char* key;
    const char* title;
  };
  std::vector<column> columns{
    {"queue", "QUEUE"},
    {"waiting", "WAITING"},
    {"in_flight", "IN_FLIGHT"},
    {"delayed", "DELAYED"},
    {"dlq", "DLQ"},
    {"enqueued_total", "ENQUEUED"},
    {"succeeded_total", "SUCCEEDED"},
    {"failed_attempts_total", "FAILED"},
    {"dead_total", "DEAD"},
  };
  for (auto optional : {column{"held", "HELD"}, column{"paused", "PAUSED"}})
    if (std::any_of(list.begin(), list.end(),
                    [&](const json& q) { return q.contains(optional.key); }))
      columns.push_back(optional);
  std::vector<std::string> header;
  for (auto& c : columns) header.push_back(c.title);
  std::vector<std::vector<std::string>> rows;
  for (auto& q : list) {
    std::vector<std::string> r;
    for (auto& c : columns) {
      auto it = q.find(c.key);
      r.push_back(it == q.end() ? "" : cell(*it, true));
    }
    rows.push_back(std::move(r));
  }
  return render_table(header, rows);
}

} // namespace

bool check_json(const std::string& text, std::string& error) {
  if (nested_deeper_than(text, max_json_depth)) {
    error = "nested deeper than " + std::to_string(max_json_depth);
    return false;
  }
  try {
    auto parsed = json::parse(text);
    (void)parsed;
    return true;
  } catch (const json::exception& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, ..."
    if (auto end = what.find("] ");
        what.rfind("[json.", 0) == 0 && end != std::string::npos)
      what.erase(0, end + 2);
    error = what;
    return false;
  }
}

std::string json_quote(const std::string& s) { return dump(json(s)); }

std::string
json_object(const std::vector<std::pair<std::string, std::string>>& members) {
  std::string out = "{";
  for (auto& [name, value] : members) {
    if (out.size() > 1) out += ',';
    out += json_quote(name) + ":" + value;
  }
  return out + "}";
}

std::string invoke_frame(const cli_invoke& x,
                         const std::string& invocation_id) {
  auto data = parse(x.data);
  if (data.is_discarded()) data = nullptr;
  json frame{{"type", "invokefunction"}};
  if (x.action != cli_action::void_call) frame["invocation_id"] = invocation_id;
  frame["function_id"] = x.function_id;
  frame["data"] = std::move(data);
  if (x.action == cli_action::void_call)
    frame["action"] = {{"type", "void"}};
  else if (x.action == cli_action::enqueue)
    frame["action"] = {{"type", "enqueue"}, {"queue", x.queue}};
  return dump(frame);
}

std::string worker_register_frame(const std::string& name,
                                  const std::string& version, long pid) {
  json frame{{"type", "invokefunction"},
             {"function_id", "engine::workers::register"},
             {"data",
              {{"runtime", "troupe-cli"},
               {"version", version},
               {"name", name},
               {"pid", pid}}},
             {"action", {{"type", "void"}}}};
  return dump(frame);
}

cli_reply parse_reply(const std::string& frame,
                      const std::string& invocation_id) {
  cli_reply out;
  auto j = parse(frame);
  if (!j.is_object()) return out;
  auto type = j.find("type");
  if (type == j.end() || !type->is_string()) return out;
  auto read_error = [&out](const json& e) {
    out.kind = cli_reply::failed;
    if (e.is_object()) {
      auto code = e.find("code");
      auto message = e.find("message");
      if (code != e.end()) out.code = cell(*code, false);
      if (message != e.end()) out.message = cell(*message, false);
    } else if (!e.is_null()) {
      out.message = cell(e, false);
    }
    if (out.code.empty()) out.code = "error";
  };
  if (*type == "error") {
    read_error(j.value("error", json{}));
    return out;
  }
  if (*type != "invocationresult") return out;
  auto id = j.find("invocation_id");
  if (id == j.end() || !id->is_string() || *id != invocation_id) return out;
  if (auto e = j.find("error"); e != j.end() && !e->is_null()) {
    read_error(*e);
    return out;
  }
  out.kind = cli_reply::answered;
  auto r = j.find("result");
  out.result = r == j.end() ? "null" : dump(*r);
  return out;
}

std::string render_result(const std::string& result, cli_view view) {
  auto j = parse(result);
  if (j.is_discarded()) return result + "\n";
  switch (view) {
    case cli_view::queue_stats: return queue_table(j);
    case cli_view::workers: return workers_table(j);
    case cli_view::receipt:
      if (j.is_object() && j.contains("messageReceiptId")
          && j["messageReceiptId"].is_string())
        return j["messageReceiptId"].get<std::string>() + "\n";
      return generic(j);
    case cli_view::value: return dump(j, 2) + "\n";
    case cli_view::generic: break;
  }
  return generic(j);
}

std::string render_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  auto measure = [&widths](const std::vector<std::string>& row) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i)
      widths[i] = std::max(widths[i], code_points(row[i]));
  };
  if (!header.empty()) measure(header);
  for (auto& r : rows) measure(r);
  std::string out;
  auto line = [&](const std::vector<std::string>& row) {
    std::string s;
    for (size_t i = 0; i < row.size(); ++i) {
      s += row[i];
      if (i + 1 < row.size())
        s += std::string(widths[i] - code_points(row[i]) + 2, ' ');
    }
    while (!s.empty() && s.back() == ' ') s.pop_back();
    out += s + "\n";
  };
  if (!header.empty()) line(header);
  for (auto& r : rows) line(r);
  return out;
}

std::string check_config_json(const std::string& file, bool ok,
                              const std::string& error) {
  json j{{"ok", ok}, {"file", file}};
  if (!ok) j["errors"] = json::array({error});
  return dump(j);
}

} // namespace troupe::protocol
