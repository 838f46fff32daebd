#include "protocol/auth_api.hpp"

#include <cctype>
#include <exception>
#include <map>

#include <nlohmann/json.hpp>

#include "protocol/query_string.hpp"

namespace troupe::protocol {

namespace {

using json = nlohmann::json;

/// Keeps only valid UTF-8 (invalid bytes become U+FFFD), so that dumping
/// never throws on what a client put in a header.
std::string utf8_or_replaced(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  size_t i = 0;
  while (i < in.size()) {
    auto c = static_cast<unsigned char>(in[i]);
    size_t n = c < 0x80           ? 1
               : (c >> 5) == 0x6  ? 2
               : (c >> 4) == 0xE  ? 3
               : (c >> 3) == 0x1E ? 4
                                  : 0;
    bool ok = n > 0 && i + n <= in.size();
    for (size_t k = 1; ok && k < n; ++k)
      ok = (static_cast<unsigned char>(in[i + k]) & 0xC0) == 0x80;
    if (ok && n == 2) ok = c >= 0xC2;
    if (ok && n == 3) {
      auto c1 = static_cast<unsigned char>(in[i + 1]);
      ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);
    }
    if (ok && n == 4) {
      auto c1 = static_cast<unsigned char>(in[i + 1]);
      ok = c <= 0xF4 && !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
    }
    if (ok) {
      out.append(in.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

bool iequals_prefix(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(text[i]))
        != std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

/// Reads `key` of `obj` as a list of strings into `out`; absent or null
/// keeps `out`. False (with `why`) for another type.
bool string_list(const json& obj, const char* key,
                 std::vector<std::string>& out, std::string& why) {
  auto i = obj.find(key);
  if (i == obj.end() || i->is_null()) return true;
  if (!i->is_array()) {
    why = std::string{"'"} + key + "' must be a list of strings";
    return false;
  }
  for (const auto& x : *i) {
    if (!x.is_string()) {
      why = std::string{"'"} + key + "' must be a list of strings";
      return false;
    }
    out.push_back(x.get<std::string>());
  }
  return true;
}

bool boolean(const json& obj, const char* key, bool& out, std::string& why) {
  auto i = obj.find(key);
  if (i == obj.end() || i->is_null()) return true;
  if (!i->is_boolean()) {
    why = std::string{"'"} + key + "' must be true or false";
    return false;
  }
  out = i->get<bool>();
  return true;
}

} // namespace

std::string auth_input_json(const upgrade_request& req) {
  try {
    json headers = json::object();
    for (const auto& [name, value] : req.headers) {
      auto key = utf8_or_replaced(name);
      auto val = utf8_or_replaced(value);
      auto i = headers.find(key);
      if (i == headers.end())
        headers[key] = val;
      else
        *i = i->get<std::string>() + ", " + val;
    }
    json query = json::object();
    for_each_query_pair(req.query, [&](std::string_view n,
                                       std::string_view v) {
      query[utf8_or_replaced(url_decode(n))].push_back(
        utf8_or_replaced(url_decode(v)));
      return true;
    });
    return json{{"headers", std::move(headers)},
                {"query_params", std::move(query)},
                {"ip_address", utf8_or_replaced(req.ip_address)}}
      .dump();
  } catch (const std::exception&) {
    // Unreachable with valid UTF-8 everywhere; an empty input still lets
    // the auth function refuse.
    return R"({"headers":{},"query_params":{},"ip_address":""})";
  }
}

std::string bearer_token(const upgrade_request& req) {
  for (const auto& [name, value] : req.headers) {
    if (name != "authorization") continue;
    std::string_view v = value;
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    if (!iequals_prefix(v, "bearer ")) return {};
    v.remove_prefix(7);
    while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t'))
      v.remove_suffix(1);
    return std::string{v};
  }
  return {};
}

std::variant<access_grant, std::string>
parse_auth_result(std::string_view text) {
  try {
    auto doc = json::parse(text, nullptr, false);
    if (doc.is_discarded() || !doc.is_object())
      return std::string{"the auth function's answer is not an object "
                         "(iii's AuthResult)"};
    access_grant g;
    // iii: a session its auth function admitted may register functions but
    // not trigger types unless the answer says so.
    g.allow_trigger_type_registration = false;
    std::string why;
    if (!string_list(doc, "allowed_functions", g.allowed_functions, why)
        || !string_list(doc, "forbidden_functions", g.forbidden_functions, why)
        || !boolean(doc, "allow_trigger_type_registration",
                    g.allow_trigger_type_registration, why)
        || !boolean(doc, "allow_function_registration",
                    g.allow_function_registration, why))
      return "the auth function's answer is invalid: " + why;
    if (auto i = doc.find("allowed_trigger_types");
        i != doc.end() && !i->is_null()) {
      std::vector<std::string> types;
      if (!string_list(doc, "allowed_trigger_types", types, why))
        return "the auth function's answer is invalid: " + why;
      g.allowed_trigger_types = std::move(types);
    }
    if (auto i = doc.find("function_registration_prefix");
        i != doc.end() && !i->is_null()
        && !(i->is_string() && i->get<std::string>().empty()))
      return std::string{"the auth function's answer sets "
                         "'function_registration_prefix', which troupe "
                         "does not support"};
    return g;
  } catch (const std::exception& e) {
    return std::string{"the auth function's answer cannot be read: "}
           + e.what();
  }
}

} // namespace troupe::protocol
