#include "protocol/http_function.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdlib>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <nlohmann/json.hpp>

#include "protocol/frames.hpp"
#include "protocol/json_member.hpp"

namespace troupe::protocol {

using json = nlohmann::json;

namespace {

std::string lower(std::string_view s) {
  std::string out{s};
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string upper(std::string_view s) {
  std::string out{s};
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return std::toupper(c); });
  return out;
}

/// A header name or value a request may carry (no CR, LF or NUL; names are
/// tokens).
bool valid_header_name(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return c > 32 && c < 127 && c != ':' && c != '(' && c != ')' && c != ','
           && c != ';' && c != '"' && c != '/' && c != '\\' && c != '['
           && c != ']' && c != '?' && c != '=' && c != '{' && c != '}'
           && c != '<' && c != '>' && c != '@';
  });
}

bool valid_header_value(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    return c == '\r' || c == '\n' || c == '\0';
  });
}

std::optional<http_invocation> fail(http_function_error& err,
                                    std::string message) {
  err = {"invalid_invocation", std::move(message)};
  return std::nullopt;
}

/// Reads `auth`: {type: bearer, token_key} | {type: api_key, header,
/// value_key} | {type: hmac, secret_key}.
bool read_auth(const json& a, http_auth_ref& out, http_function_error& err) {
  auto str = [&](const char* key, std::string& dst) {
    auto i = a.find(key);
    if (i == a.end() || !i->is_string()
        || i->get_ref<const std::string&>().empty()) {
      err = {"invalid_invocation", std::string{"invocation.auth of type '"}
                                     + out.type + "' needs a non-empty string '"
                                     + key + "'"};
      return false;
    }
    dst = i->get<std::string>();
    return true;
  };
  if (!a.is_object()) {
    err = {"invalid_invocation", "invocation.auth must be an object"};
    return false;
  }
  auto t = a.find("type");
  if (t == a.end() || !t->is_string()) {
    err = {"invalid_invocation",
           "invocation.auth needs a string 'type': bearer, api_key or hmac"};
    return false;
  }
  out.type = t->get<std::string>();
  if (out.type == "bearer") return str("token_key", out.key);
  if (out.type == "api_key")
    return str("header", out.header) && str("value_key", out.key);
  if (out.type == "hmac") return str("secret_key", out.key);
  err = {"invalid_invocation", "invocation.auth.type must be bearer, api_key "
                               "or hmac, got "
                                 + quote(out.type)};
  return false;
}

std::string error_json(std::string_view code, std::string_view message) {
  return error_body_json(code, message);
}

} // namespace

std::optional<http_url> parse_http_url(std::string_view url) {
  http_url out;
  auto colon = url.find("://");
  if (colon == std::string_view::npos) return std::nullopt;
  out.scheme = lower(url.substr(0, colon));
  if (out.scheme != "http" && out.scheme != "https") return std::nullopt;
  auto rest = url.substr(colon + 3);
  auto end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, end);
  auto tail = end == std::string_view::npos ? std::string_view{}
                                            : rest.substr(end);
  if (auto hash = tail.find('#'); hash != std::string_view::npos)
    tail = tail.substr(0, hash);
  if (authority.empty() || authority.find('@') != std::string_view::npos)
    return std::nullopt;
  std::string_view port;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    out.host = std::string{authority.substr(1, close - 1)};
    auto after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
    }
  } else {
    auto c = authority.rfind(':');
    out.host = std::string{authority.substr(0, c)};
    if (c != std::string_view::npos) port = authority.substr(c + 1);
  }
  if (out.host.empty()) return std::nullopt;
  for (unsigned char ch : out.host)
    if (ch <= 32 || ch >= 127 || ch == '/' || ch == '\\') return std::nullopt;
  if (!port.empty()) {
    if (port.size() > 5
        || !std::all_of(port.begin(), port.end(),
                        [](unsigned char c) { return std::isdigit(c); }))
      return std::nullopt;
    auto n = std::atoi(std::string{port}.c_str());
    if (n < 1 || n > 65535) return std::nullopt;
    out.port = std::string{port};
  } else {
    out.port = out.scheme == "https" ? "443" : "80";
  }
  out.target = tail.empty() || tail.front() != '/' ? "/" + std::string{tail}
                                                   : std::string{tail};
  for (unsigned char ch : out.target)
    if (ch <= 32 || ch >= 127) return std::nullopt;
  return out;
}

std::optional<http_invocation> parse_http_invocation(std::string_view text,
                                                     http_function_error& err) {
  if (nested_deeper_than(text, max_json_depth))
    return fail(err, "invocation is nested too deeply");
  auto j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return fail(err, "invocation must be an object {url, method, timeout_ms, "
                     "headers, auth}");
  http_invocation out;
  auto url = j.find("url");
  if (url == j.end() || url->is_null())
    return fail(err, "invocation.url is required");
  if (!url->is_string())
    return fail(err, "invocation.url must be a string, got "
                       + std::string{url->type_name()});
  out.url = url->get<std::string>();
  auto parsed = parse_http_url(out.url);
  if (!parsed)
    return fail(err, "invocation.url must be an http:// or https:// URL with "
                     "a host, got "
                       + quote(out.url));
  out.parsed = std::move(*parsed);
  if (auto m = j.find("method"); m != j.end() && !m->is_null()) {
    if (!m->is_string())
      return fail(err, "invocation.method must be a string, got "
                         + std::string{m->type_name()});
    out.method = upper(m->get<std::string>());
    static constexpr std::array<const char*, 5> methods{"GET", "POST", "PUT",
                                                        "PATCH", "DELETE"};
    if (std::find(methods.begin(), methods.end(), out.method) == methods.end())
      return fail(err, "invocation.method must be GET, POST, PUT, PATCH or "
                       "DELETE, got "
                         + quote(m->get<std::string>()));
  }
  if (auto t = j.find("timeout_ms"); t != j.end() && !t->is_null()) {
    if (!t->is_number_unsigned())
      return fail(err, "invocation.timeout_ms must be a non-negative integer "
                       "(milliseconds), got "
                         + t->dump());
    out.timeout_ms = t->get<uint64_t>();
  }
  if (auto h = j.find("headers"); h != j.end() && !h->is_null()) {
    if (!h->is_object())
      return fail(err, "invocation.headers must be an object of strings, got "
                         + std::string{h->type_name()});
    for (auto& [k, v] : h->items()) {
      if (!v.is_string())
        return fail(err, "invocation.headers." + k + " must be a string, got "
                           + std::string{v.type_name()});
      if (!valid_header_name(k) || !valid_header_value(v.get<std::string>()))
        return fail(err,
                    "invocation.headers has an invalid header " + quote(k));
      out.headers.emplace_back(k, v.get<std::string>());
    }
  }
  if (auto a = j.find("auth"); a != j.end() && !a->is_null()) {
    if (!read_auth(*a, out.auth, err)) return std::nullopt;
    if (out.auth.type == "api_key" && !valid_header_name(out.auth.header))
      return fail(err, "invocation.auth.header is not a valid header name: "
                         + quote(out.auth.header));
  }
  return out;
}

bool host_matches(std::string_view pattern, std::string_view host) {
  // Iterative glob with backtracking to the last '*'.
  size_t p = 0;
  size_t h = 0;
  size_t star = std::string_view::npos;
  size_t mark = 0;
  auto eq = [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a))
           == std::tolower(static_cast<unsigned char>(b));
  };
  while (h < host.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || eq(pattern[p], host[h]))) {
      ++p;
      ++h;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = h;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      h = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool is_private_address(std::string_view ip) {
  std::string s{ip};
  in_addr v4{};
  in6_addr v6{};
  auto private_v4 = [](const unsigned char* b) {
    return b[0] == 127 || b[0] == 10 || (b[0] == 172 && (b[1] & 0xF0) == 16)
           || (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254)
           || (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255)
           || (b[0] == 192 && b[1] == 0 && b[2] == 2)
           || (b[0] == 198 && b[1] == 51 && b[2] == 100)
           || (b[0] == 203 && b[1] == 0 && b[2] == 113) || b[0] == 0
           || b[0] >= 224;
  };
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1)
    return private_v4(reinterpret_cast<const unsigned char*>(&v4));
  if (inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    const auto* b = v6.s6_addr;
    if (IN6_IS_ADDR_V4MAPPED(&v6)) return private_v4(b + 12);
    return IN6_IS_ADDR_LOOPBACK(&v6) || IN6_IS_ADDR_UNSPECIFIED(&v6)
           || (b[0] & 0xFE) == 0xFC || (b[0] == 0xFE && (b[1] & 0xC0) == 0x80)
           || b[0] == 0xFF;
  }
  return false;
}

std::optional<http_function_error>
check_http_invocation(const http_invocation& inv,
                      const http_functions_config& cfg) {
  const auto& host = inv.parsed.host;
  if (inv.parsed.scheme != "http")
    return http_function_error{"url_validation_failed",
                               "HTTPS is not supported: troupe calls "
                               "http:// URLs only (no TLS client), got "
                                 + inv.url};
  if (!cfg.url_allowlist.empty()
      && std::none_of(cfg.url_allowlist.begin(), cfg.url_allowlist.end(),
                      [&](const std::string& p) {
                        return host_matches(p, host);
                      }))
    return http_function_error{"url_validation_failed",
                               "URL not in allowlist: host '" + host
                                 + "' matches no entry of "
                                   "iii-http-functions security.url_allowlist"};
  if (cfg.block_private_ips && is_private_address(host))
    return http_function_error{"url_validation_failed",
                               "Private IP blocked: " + host
                                 + " (iii-http-functions "
                                   "security.block_private_ips is on)"};
  if (inv.auth.type == "hmac")
    return http_function_error{"unsupported_auth",
                               "auth type 'hmac' is not supported by troupe; "
                               "use bearer or api_key"};
  if (!inv.auth.type.empty() && std::getenv(inv.auth.key.c_str()) == nullptr)
    return http_function_error{"missing_env_var",
                               "Missing environment variable '" + inv.auth.key
                                 + "' for " + inv.auth.type
                                 + " authentication; set it in the engine's "
                                   "environment before registering the "
                                   "function"};
  return std::nullopt;
}

outbound_request make_outbound_request(const http_invocation& inv,
                                       const http_functions_config& cfg,
                                       const std::string& function_id,
                                       std::string data,
                                       const std::string& invocation_id,
                                       uint64_t unix_seconds) {
  outbound_request out;
  out.method = inv.method;
  out.url = inv.parsed;
  out.timeout = std::chrono::milliseconds(
    inv.timeout_ms != 0 ? inv.timeout_ms : cfg.default_timeout_ms);
  out.headers.emplace_back("Content-Type", "application/json");
  out.headers.emplace_back("x-iii-Function-Path", function_id);
  out.headers.emplace_back("x-iii-Invocation-ID", invocation_id);
  out.headers.emplace_back("x-iii-Timestamp", std::to_string(unix_seconds));
  for (auto& h : inv.headers) out.headers.push_back(h);
  if (!inv.auth.type.empty()) {
    const char* secret = std::getenv(inv.auth.key.c_str());
    std::string value = secret != nullptr ? secret : "";
    if (inv.auth.type == "bearer")
      out.headers.emplace_back("Authorization", "Bearer " + value);
    else if (inv.auth.type == "api_key")
      out.headers.emplace_back(inv.auth.header, value);
  }
  out.body = std::move(data);
  return out;
}

http_outcome map_outbound_response(const outbound_response& res,
                                   const std::string& what,
                                   std::chrono::milliseconds timeout,
                                   size_t max_response_bytes) {
  switch (res.failure) {
    case outbound_failure::none: break;
    case outbound_failure::timeout:
      return {false, error_json("http_timeout",
                                what + " did not answer within "
                                  + std::to_string(timeout.count()) + " ms")};
    case outbound_failure::dns:
      return {false, error_json("http_request_failed",
                                what + ": DNS lookup failed: " + res.detail)};
    case outbound_failure::connect:
      return {false,
              error_json("http_request_failed", what + ": " + res.detail)};
    case outbound_failure::too_large:
      return {false,
              error_json("response_too_large",
                         what + ": the response body is over "
                           + std::to_string(max_response_bytes)
                           + " bytes (iii-http-functions max_response_bytes)")};
    case outbound_failure::bad_response:
      return {false,
              error_json("http_response_failed",
                         what + ": invalid HTTP response: " + res.detail)};
    case outbound_failure::blocked:
      return {false, error_json("url_validation_failed",
                                "Private IP blocked: " + res.detail)};
  }
  auto status = res.status;
  auto parse = [&]() -> std::optional<json> {
    if (nested_deeper_than(res.body, max_json_depth) || has_nul(res.body))
      return std::nullopt;
    auto j = json::parse(res.body, nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    return j;
  };
  auto all_space = std::all_of(res.body.begin(), res.body.end(),
                               [](unsigned char c) { return std::isspace(c); });
  if (status >= 200 && status < 300) {
    if (all_space) return {true, "null"};
    auto j = parse();
    if (!j)
      return {false, error_json("invalid_response",
                                what + " answered " + std::to_string(status)
                                  + " with a body that is not JSON")};
    return {true, res.body};
  }
  if (status < 400) {
    auto j = all_space ? std::nullopt : parse();
    return {true, j ? res.body : std::string{"null"}};
  }
  std::string code = "http_error";
  std::string message = "HTTP " + std::to_string(status);
  if (!res.reason.empty()) message += " " + res.reason;
  if (auto j = all_space ? std::nullopt : parse();
      j && j->is_object() && j->contains("error")
      && (*j)["error"].is_object()) {
    auto& e = (*j)["error"];
    if (auto c = e.find("code"); c != e.end() && c->is_string())
      code = c->get<std::string>();
    if (auto m = e.find("message"); m != e.end() && m->is_string())
      message += ": " + m->get<std::string>();
  }
  return {false, error_json(code, message + " from " + what)};
}

} // namespace troupe::protocol
