// Turns `iii-config.yaml` into an engine_config: `${VAR}` substitution, then
// yaml-cpp, then a strict schema walk. The only file that includes yaml-cpp;
// every yaml-cpp exception is caught here and becomes an errc::bad_config.
#include "troupe/config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <sstream>
#include <system_error>
#include <utility>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "base/errc.hpp"
#include "base/worker_access.hpp"

namespace troupe {

namespace {

constexpr uint64_t max_u64 = std::numeric_limits<uint64_t>::max();

/// Builds the error `WHERE: WHAT`, WHERE being `FILE` or `FILE:LINE:COL`.
caf::error bad_config(const std::string& where, const std::string& what) {
  return caf::make_error(errc::bad_config, where + ": " + what);
}

// -- positions ----------------------------------------------------------------

/// Maps byte offsets in the text after `${VAR}` substitution back to 1-based
/// `LINE:COL` in the text the user wrote, so errors point into their file.
class source_map {
public:
  explicit source_map(const std::string& original) {
    for (size_t i = 0; i < original.size(); ++i)
      if (original[i] == '\n') line_starts_.push_back(i + 1);
  }

  /// Output from offset `out` on was copied from offset `orig` (`literal`),
  /// or substituted for the `${...}` starting at `orig`.
  void add(size_t out, size_t orig, bool literal) {
    pieces_.push_back(piece{out, orig, literal});
  }

  /// `LINE:COL` in the original text of the output offset `out`.
  std::string locate_output(size_t out) const {
    auto i
      = std::upper_bound(pieces_.begin(), pieces_.end(), out,
                         [](size_t x, const piece& p) { return x < p.out; });
    if (i == pieces_.begin()) return locate_original(out);
    --i;
    return locate_original(i->literal ? i->orig + (out - i->out) : i->orig);
  }

  /// `LINE:COL` of the original offset `orig`.
  std::string locate_original(size_t orig) const {
    auto next = std::upper_bound(line_starts_.begin(), line_starts_.end(),
                                 orig);
    auto line = static_cast<size_t>(next - line_starts_.begin());
    return std::to_string(line) + ":"
           + std::to_string(orig - line_starts_[line - 1] + 1);
  }

private:
  struct piece {
    size_t out;
    size_t orig;
    bool literal;
  };
  std::vector<size_t> line_starts_{0};
  std::vector<piece> pieces_;
};

// -- ${VAR} substitution ------------------------------------------------------

/// The text with every `${VAR}` and `${VAR:default}` replaced.
struct expanded_text {
  std::string text;
  source_map map;
};

caf::expected<expanded_text> expand_env(const std::string& in,
                                        const std::string& file,
                                        const env_lookup& env) {
  expanded_text out{{}, source_map{in}};
  auto fail = [&](size_t at, const std::string& what) {
    return bad_config(file + ":" + out.map.locate_original(at), what);
  };
  out.map.add(0, 0, true);
  size_t done = 0;
  for (auto at = in.find("${"); at != std::string::npos;
       at = in.find("${", done)) {
    out.text.append(in, done, at - done);
    auto close = in.find_first_of("}\n", at + 2);
    if (close == std::string::npos || in[close] != '}')
      return fail(at, "'${' has no closing '}' on its line; write ${VAR} or "
                      "${VAR:default}");
    auto ref = in.substr(at + 2, close - at - 2);
    auto colon = ref.find(':');
    auto name = ref.substr(0, colon);
    if (name.empty())
      return fail(at, "'${" + ref
                        + "}' names no variable; write ${VAR} or "
                          "${VAR:default}");
    auto value = env(name);
    if (!value && colon == std::string::npos)
      return fail(at, "environment variable '" + name
                        + "' is not set and has no default");
    out.map.add(out.text.size(), at, false);
    out.text += value ? *value : ref.substr(colon + 1);
    done = close + 1;
    out.map.add(out.text.size(), done, true);
  }
  out.text.append(in, done);
  return out;
}

// -- scalar helpers -----------------------------------------------------------

/// How a node looks, for "got ..." in messages.
std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: return "'" + node.Scalar() + "'";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    default: return "no value";
  }
}

/// The value of `text` if it is only decimal digits and fits in 64 bits.
std::optional<uint64_t> parse_digits(const std::string& text) {
  if (text.empty()) return std::nullopt;
  uint64_t result = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    auto digit = static_cast<uint64_t>(c - '0');
    if (result > (max_u64 - digit) / 10) return std::nullopt;
    result = result * 10 + digit;
  }
  return result;
}

/// The value of a plain (unquoted, untagged) scalar of decimal digits.
std::optional<uint64_t> plain_uint(const YAML::Node& node) {
  if (!node.IsScalar() || node.Tag() != "?") return std::nullopt;
  return parse_digits(node.Scalar());
}

/// "an integer from 0 to 65535", "an integer >= 1", ...
std::string describe_range(uint64_t min, uint64_t max) {
  if (max != max_u64)
    return "an integer from " + std::to_string(min) + " to "
           + std::to_string(max);
  if (min == 0) return "a non-negative integer";
  return "an integer >= " + std::to_string(min);
}

/// Queue names: 1 to 128 of letters, digits, '-', '_', '.', ':'.
bool valid_queue_name(const std::string& name) {
  auto ok = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
           || c == ':';
  };
  return !name.empty() && name.size() <= 128
         && std::all_of(name.begin(), name.end(), ok);
}

/// A seed is `host:port` with a non-empty host and a port from 1 to 65535.
bool valid_seed(const YAML::Node& node) {
  if (!node.IsScalar()) return false;
  const auto& text = node.Scalar();
  auto colon = text.rfind(':');
  if (colon == 0 || colon == std::string::npos) return false;
  auto port = parse_digits(text.substr(colon + 1));
  return port && *port >= 1 && *port <= 65535;
}

/// The host part of a valid seed, without IPv6 brackets.
std::string host_of(const std::string& address) {
  auto host = address.substr(0, address.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    return host.substr(1, host.size() - 2);
  return host;
}

/// Whether binding to `host` means every interface: no peer can dial it.
bool is_wildcard_host(const std::string& host) {
  for (auto any : {"0.0.0.0", "::", "[::]", "::0", "0:0:0:0:0:0:0:0", "*"})
    if (host == any) return true;
  return false;
}

/// "host:port", with an IPv6 host in brackets.
std::string join_host_port(const std::string& host, uint16_t port) {
  auto bracket = host.find(':') != std::string::npos && host.front() != '[';
  return (bracket ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

/// Node names: 1 to 255 printable ASCII characters, no spaces.
bool valid_node_name(const std::string& name) {
  return !name.empty() && name.size() <= 255
         && std::all_of(name.begin(), name.end(),
                        [](char c) { return c > ' ' && c < 127; });
}

// -- the schema walk ----------------------------------------------------------

/// One `key: value` entry of a YAML map (Nodes are cheap shared handles).
struct field {
  YAML::Node key;
  YAML::Node value;

  std::string name() const { return key.Scalar(); }

  /// Where to point for a bad value: yaml-cpp marks an empty value at the
  /// next token, so point at the key then.
  const YAML::Node& at() const { return value.IsNull() ? key : value; }
};

/// Reads one known key; the table of them defines a map's schema.
using field_reader = std::function<caf::error(const field&)>;
using field_table = std::vector<std::pair<std::string, field_reader>>;

constexpr const char* known_workers
  = "iii-worker-manager, iii-http, iii-http-functions, iii-queue, "
    "troupe-cluster, troupe-admin";

/// Walks one parsed document into an engine_config.
class reader {
public:
  reader(const std::string& file, const source_map& map)
      : file_(file), map_(map) {
    // nop
  }

  caf::error error_at(const YAML::Mark& mark, const std::string& what) const {
    if (mark.is_null() || mark.pos < 0) return bad_config(file_, what);
    return bad_config(
      file_ + ":" + map_.locate_output(static_cast<size_t>(mark.pos)), what);
  }

  caf::error error_at(const YAML::Node& node, const std::string& what) const {
    return error_at(node.Mark(), what);
  }

  caf::error read_document(const YAML::Node& root, engine_config& cfg) {
    return read_map(root, "the top level", {{"workers", [&](const field& f) {
                                               cfg.http.enabled = false;
                                               return read_workers(f, cfg);
                                             }}});
  }

private:
  /// Checks that `node` is a map (or empty) whose keys all appear in `fields`,
  /// at most once each, and runs their readers in file order.
  caf::error read_map(const YAML::Node& node, const std::string& what,
                      const field_table& fields) const {
    if (node.IsNull()) return {};
    if (!node.IsMap())
      return error_at(node, what + " must be a map, got " + describe(node));
    std::vector<std::string> seen;
    for (const auto& kv : node) {
      field f{kv.first, kv.second};
      auto i = std::find_if(fields.begin(), fields.end(), [&](const auto& x) {
        return f.key.IsScalar() && x.first == f.name();
      });
      if (i == fields.end())
        return error_at(f.key, "unknown key " + describe(f.key) + " in " + what
                                 + "; allowed keys: " + key_list(fields));
      if (std::find(seen.begin(), seen.end(), i->first) != seen.end())
        return error_at(f.key,
                        "key '" + i->first + "' appears twice in " + what);
      seen.push_back(i->first);
      if (auto err = i->second(f)) return err;
    }
    return {};
  }

  static std::string key_list(const field_table& fields) {
    std::string result;
    for (const auto& x : fields)
      result += (result.empty() ? "" : ", ") + x.first;
    return result;
  }

  caf::error read_string(const field& f, std::string& out) const {
    if (!f.value.IsScalar() || f.value.Scalar().empty())
      return error_at(f.at(), "'" + f.name() + "' must be a non-empty string, "
                                + "got " + describe(f.value));
    out = f.value.Scalar();
    return {};
  }

  template <class T>
  caf::error read_uint(const field& f, T& out, uint64_t min = 0,
                       uint64_t limit
                       = std::numeric_limits<uint64_t>::max()) const {
    const uint64_t max = std::min<uint64_t>(std::numeric_limits<T>::max(),
                                            limit);
    auto x = plain_uint(f.value);
    if (!x || *x < min || *x > max)
      return error_at(f.at(), "'" + f.name() + "' must be "
                                + describe_range(min, max) + ", got "
                                + describe(f.value)
                                + (f.value.Tag() == "!" ? " (quoted)" : ""));
    out = static_cast<T>(*x);
    return {};
  }

  template <class T>
  caf::error read_uint(const field& f, std::optional<T>& out, uint64_t min,
                       uint64_t limit
                       = std::numeric_limits<uint64_t>::max()) const {
    T x = 0;
    auto err = read_uint(f, x, min, limit);
    if (!err) out = x;
    return err;
  }

  /// A listener's interface: an IPv4 or IPv6 address, as the listener
  /// parses it (a name such as "localhost" fails there, at bind time).
  field_reader ip_into(std::string& out) const {
    return [this, &out](const field& f) {
      if (auto err = read_string(f, out)) return err;
      unsigned char buf[sizeof(in6_addr)];
      if (inet_pton(AF_INET, out.c_str(), buf) == 1
          || inet_pton(AF_INET6, out.c_str(), buf) == 1)
        return caf::error{};
      return error_at(f.at(), "'" + f.name()
                                + "' must be an IP address (such as "
                                  "127.0.0.1, 0.0.0.0 or ::1), got '"
                                + out + "'");
    };
  }

  field_reader string_into(std::string& out) const {
    return [this, &out](const field& f) { return read_string(f, out); };
  }

  template <class T>
  field_reader uint_into(T& out, uint64_t min = 0,
                         uint64_t max
                         = std::numeric_limits<uint64_t>::max()) const {
    return [this, &out, min, max](const field& f) {
      return read_uint(f, out, min, max);
    };
  }

  static field_reader keep(std::optional<field>& out) {
    return [&out](const field& f) {
      out = f;
      return caf::error{};
    };
  }

  caf::error read_workers(const field& f, engine_config& cfg) {
    if (!f.value.IsNull() && !f.value.IsSequence())
      return error_at(f.at(), "'workers' must be a list of {name, config} "
                              "maps, got "
                                + describe(f.value));
    std::map<std::string, YAML::Node> seen;
    for (const auto& entry : f.value)
      if (auto err = read_worker(entry, cfg, seen)) return err;
    return {};
  }

  caf::error read_worker(const YAML::Node& entry, engine_config& cfg,
                         std::map<std::string, YAML::Node>& seen) {
    std::optional<field> name_f;
    std::optional<field> config_f;
    if (auto err
        = read_map(entry, "a worker entry",
                   {{"name", keep(name_f)}, {"config", keep(config_f)}}))
      return err;
    if (!name_f)
      return error_at(entry, "a worker entry needs a 'name', one of: "
                               + std::string{known_workers});
    std::string name;
    if (auto err = read_string(*name_f, name)) return err;
    if (auto prev = seen.find(name); prev != seen.end())
      return error_at(
        name_f->value,
        "worker '" + name + "' is listed twice (first at "
          + map_.locate_output(static_cast<size_t>(prev->second.Mark().pos))
          + "); list each worker once");
    seen.emplace(name, name_f->value);
    auto body = config_f ? config_f->value : YAML::Node{};
    auto what = "the " + name + " config";
    if (name == "iii-worker-manager")
      return read_worker_manager(body, what, cfg.worker_manager);
    if (name == "iii-http") {
      cfg.http.enabled = true;
      return read_http(body, what, cfg.http);
    }
    if (name == "iii-http-functions") {
      cfg.http_functions.enabled = true;
      return read_http_functions(body, what, cfg.http_functions);
    }
    if (name == "iii-queue") return read_queue_worker(body, what, cfg.queue);
    if (name == "troupe-cluster") {
      cfg.cluster.enabled = true;
      return read_cluster(body, what, cfg.cluster);
    }
    if (name == "troupe-admin") {
      cfg.admin.enabled = true;
      return read_admin(body, what, cfg.admin);
    }
    return error_at(name_f->value, "unknown worker '" + name
                                     + "'; known workers: " + known_workers);
  }

  caf::error read_worker_manager(const YAML::Node& node,
                                 const std::string& what,
                                 worker_manager_config& out) const {
    return read_map(
      node, what,
      {{"host", ip_into(out.host)},
       {"port", uint_into(out.port)},
       {"max_frame_bytes",
        uint_into(out.max_frame_bytes, 1, max_message_bytes)},
       {"invocation_timeout_ms", uint_into(out.invocation_timeout_ms, 1)},
       {"idle_timeout_ms", uint_into(out.idle_timeout_ms, 100)},
       {"message_timeout_ms", uint_into(out.message_timeout_ms, 100)},
       {"max_connections",
        uint_into(out.max_connections, 1, max_worker_connections)},
       {"auth",
        [&](const field& f) {
          return read_map(f.value, "the iii-worker-manager auth config",
                          {{"token", string_into(out.auth.token)}});
        }},
       {"rbac", [&](const field& f) { return read_rbac(f, out.auth); }}});
  }

  /// iii's `rbac` map, without its registration hooks (refused by name).
  caf::error read_rbac(const field& f, worker_auth_config& out) const {
    out.rbac = true;
    auto unsupported = [this](const char* what) {
      return [this, what](const field& g) {
        return error_at(g.key, "'" + g.name()
                                 + "' is not supported by "
                                   "troupe ("
                                 + what + "); remove it");
      };
    };
    constexpr auto hook = "registration hooks are not implemented";
    return read_map(
      f.value, "the iii-worker-manager rbac config",
      {{"auth_function_id", string_into(out.auth_function_id)},
       {"auth_timeout_ms", uint_into(out.auth_timeout_ms, 1, 600000)},
       {"expose_functions",
        [&](const field& g) { return read_expose(g, out.expose_functions); }},
       {"on_function_registration_function_id", unsupported(hook)},
       {"on_trigger_registration_function_id", unsupported(hook)},
       {"on_trigger_type_registration_function_id", unsupported(hook)}});
  }

  caf::error read_expose(const field& f, std::vector<std::string>& out) const {
    if (f.value.IsNull()) return {};
    if (!f.value.IsSequence())
      return error_at(f.at(), "'expose_functions' must be a list of "
                              "match(\"pattern\") strings, got "
                                + describe(f.value));
    for (const auto& x : f.value) {
      if (x.IsMap())
        return error_at(x, "'expose_functions': metadata filters are not "
                           "supported by troupe; use match(\"pattern\")");
      auto pattern = x.IsScalar() ? parse_match_filter(x.Scalar())
                                  : std::nullopt;
      if (!pattern)
        return error_at(x, "'expose_functions' entries must look like "
                           "match(\"api::*\"), got "
                             + describe(x));
      out.push_back(std::move(*pattern));
    }
    return {};
  }

  caf::error read_http(const YAML::Node& node, const std::string& what,
                       http_config& out) const {
    return read_map(
      node, what,
      {{"host", ip_into(out.host)},
       {"port", uint_into(out.port)},
       {"default_timeout", uint_into(out.default_timeout_ms, 1)},
       {"max_body_bytes", uint_into(out.max_body_bytes, 1, max_message_bytes)},
       {"max_connections",
        uint_into(out.max_connections, 1, max_worker_connections)}});
  }

  caf::error read_admin(const YAML::Node& node, const std::string& what,
                        admin_config& out) const {
    return read_map(node, what,
                    {{"host", ip_into(out.host)},
                     {"port", uint_into(out.port)},
                     {"token",
                      [&](const field& f) {
                        // Empty (or null) means no token.
                        if (f.value.IsNull()) return caf::error{};
                        if (!f.value.IsScalar())
                          return error_at(f.at(), "'token' must be a string, "
                                                  "got "
                                                    + describe(f.value));
                        out.token = f.value.Scalar();
                        if (std::all_of(out.token.begin(), out.token.end(),
                                        [](char c) {
                                          return c > ' ' && c < 127;
                                        }))
                          return caf::error{};
                        return error_at(f.at(), "'token' must be printable "
                                                "ASCII without spaces (it "
                                                "travels in an HTTP header)");
                      }},
                     {"read_only", [&](const field& f) {
                        return read_bool(f, out.read_only);
                      }}});
  }

  caf::error read_bool(const field& f, bool& out) const {
    if (f.value.IsScalar() && f.value.Tag() != "!") {
      const auto& v = f.value.Scalar();
      if (v == "true" || v == "false") {
        out = v == "true";
        return {};
      }
    }
    return error_at(f.at(), "'" + f.name() + "' must be true or false, got "
                              + describe(f.value));
  }

  caf::error read_http_functions(const YAML::Node& node,
                                 const std::string& what,
                                 http_functions_config& out) const {
    return read_map(
      node, what,
      {{"security",
        [&](const field& f) {
          return read_map(f.value, "the iii-http-functions security config",
                          {{"url_allowlist",
                            [&](const field& g) {
                              return read_allowlist(g, out.url_allowlist);
                            }},
                           {"block_private_ips",
                            [&](const field& g) {
                              return read_bool(g, out.block_private_ips);
                            }},
                           {"require_https", [&](const field& g) {
                              if (auto err = read_bool(g, out.require_https))
                                return err;
                              if (!out.require_https) return caf::error{};
                              return error_at(
                                g.at(), "'require_https' must be false: "
                                        "troupe's HTTP client has no TLS, "
                                        "so it calls http:// URLs only");
                            }}});
        }},
       {"default_timeout_ms", uint_into(out.default_timeout_ms, 1)},
       {"max_response_bytes", uint_into(out.max_response_bytes, 1)}});
  }

  caf::error read_allowlist(const field& f,
                            std::vector<std::string>& out) const {
    auto fail = [this](const YAML::Node& at, const YAML::Node& got) {
      return error_at(at, "'url_allowlist' must be a list of non-empty host "
                          "patterns (glob: '*', '?'), got "
                            + describe(got));
    };
    if (!f.value.IsSequence()) return fail(f.at(), f.value);
    for (const auto& x : f.value) {
      if (!x.IsScalar() || x.Scalar().empty()) return fail(x, x);
      out.push_back(x.Scalar());
    }
    return {};
  }

  /// A reader that also remembers the field it read, for later checks.
  static field_reader remember(std::optional<field>& out, field_reader rd) {
    return [&out, rd](const field& f) {
      out = f;
      return rd(f);
    };
  }

  caf::error read_cluster(const YAML::Node& node, const std::string& what,
                          cluster_config& out) const {
    std::optional<field> host_f;
    std::optional<field> name_f;
    std::optional<field> advertise_f;
    std::optional<field> heartbeat_f;
    std::optional<field> timeout_f;
    auto err = read_map(
      node, what,
      {{"host", remember(host_f, string_into(out.host))},
       {"port", uint_into(out.port)},
       {"name",
        remember(name_f,
                 [&](const field& f) { return read_node_name(f, out.name); })},
       {"advertise", remember(advertise_f,
                              [&](const field& f) {
                                return read_advertise(f, out.advertise);
                              })},
       {"seeds", [&](const field& f) { return read_seeds(f, out.seeds); }},
       {"heartbeat_ms", remember(heartbeat_f, uint_into(out.heartbeat_ms, 50))},
       {"peer_timeout_ms",
        remember(timeout_f, uint_into(out.peer_timeout_ms, 1))},
       {"cookie", string_into(out.cookie)}});
    if (err) return err;
    auto min_timeout = 2 * uint64_t{out.heartbeat_ms};
    if (out.peer_timeout_ms < min_timeout)
      return error_at(
        timeout_f ? timeout_f->at() : heartbeat_f->at(),
        "'peer_timeout_ms' must be at least 2 * 'heartbeat_ms' (2 * "
          + std::to_string(out.heartbeat_ms) + " = "
          + std::to_string(min_timeout) + "), got "
          + std::to_string(out.peer_timeout_ms)
          + (timeout_f ? "" : " (the default)")
          + ": one late heartbeat must not take a peer down");
    if (is_wildcard_host(out.host)) {
      auto why = "'host' '" + out.host + "' listens on every interface, so ";
      if (!name_f)
        return error_at(host_f->at(),
                        why
                          + "'name' is required: set it to a name unique "
                            "in the cluster, such as this machine's "
                            "host:port");
      if (!advertise_f)
        return error_at(host_f->at(),
                        why
                          + "'advertise' is required: set it to the "
                            "host:port other nodes dial to reach this one");
    }
    // With port 0 the node fills these in once it knows its port.
    if (out.port != 0) {
      if (!name_f) out.name = join_host_port(out.host, out.port);
      if (!advertise_f) out.advertise = join_host_port(out.host, out.port);
    }
    return {};
  }

  caf::error read_node_name(const field& f, std::string& out) const {
    if (!f.value.IsScalar() || !valid_node_name(f.value.Scalar()))
      return error_at(f.at(), "'name' must be 1 to 255 printable characters "
                              "without spaces, got "
                                + describe(f.value));
    out = f.value.Scalar();
    return {};
  }

  caf::error read_advertise(const field& f, std::string& out) const {
    if (!valid_seed(f.value))
      return error_at(f.at(), "'advertise' must be a 'host:port' string "
                              "with a port from 1 to 65535, got "
                                + describe(f.value));
    if (is_wildcard_host(host_of(f.value.Scalar())))
      return error_at(f.at(), "'advertise' must name an address other nodes "
                              "can dial, not the wildcard "
                                + describe(f.value));
    out = f.value.Scalar();
    return {};
  }

  caf::error read_seeds(const field& f, std::vector<std::string>& out) const {
    auto fail = [this](const YAML::Node& at, const YAML::Node& got) {
      return error_at(at, "'seeds' must be a list of 'host:port' strings "
                          "with a port from 1 to 65535, got "
                            + describe(got));
    };
    if (!f.value.IsNull() && !f.value.IsSequence())
      return fail(f.at(), f.value);
    for (const auto& seed : f.value) {
      if (!valid_seed(seed)) return fail(seed, seed);
      out.push_back(seed.Scalar());
    }
    return {};
  }

  caf::error read_queue_worker(const YAML::Node& node, const std::string& what,
                               queue_worker_config& out) const {
    out.queues.clear();
    auto err = read_map(
      node, what,
      {{"queue_configs",
        [&](const field& f) { return read_queues(f, out.queues); }},
       {"adapter", [&](const field& f) { return read_adapter(f, out); }},
       {"max_payload_bytes",
        uint_into(out.max_payload_bytes, 1, max_message_bytes)},
       {"startup_grace_ms", uint_into(out.startup_grace_ms)}});
    if (!err
        && std::none_of(out.queues.begin(), out.queues.end(),
                        [](const auto& q) { return q.name == "default"; }))
      out.queues.emplace_back().name = "default";
    return err;
  }

  caf::error read_queues(const field& f, std::vector<queue_config>& out) const {
    if (!f.value.IsNull() && !f.value.IsMap())
      return error_at(f.at(), "'queue_configs' must be a map from queue "
                              "names to settings, got "
                                + describe(f.value));
    for (const auto& kv : f.value) {
      field entry{kv.first, kv.second};
      if (!entry.key.IsScalar() || !valid_queue_name(entry.name()))
        return error_at(entry.key, "queue name " + describe(entry.key)
                                     + " is invalid: use 1 to 128 letters, "
                                       "digits, '-', '_', '.' or ':'");
      auto same = [&](const auto& q) { return q.name == entry.name(); };
      if (std::any_of(out.begin(), out.end(), same))
        return error_at(entry.key,
                        "queue '" + entry.name() + "' is configured twice");
      queue_config q;
      q.name = entry.name();
      if (auto err = read_queue(entry, q)) return err;
      out.push_back(std::move(q));
    }
    return {};
  }

  caf::error read_queue(const field& entry, queue_config& q) const {
    auto prefix = "Queue '" + q.name + "'";
    std::optional<field> group_f;
    auto err = read_map(
      entry.value, "queue '" + q.name + "'",
      {{"max_retries", uint_into(q.max_retries)},
       {"concurrency", [&](const field& f) { return read_concurrency(f, q); }},
       {"type", [&](const field& f) { return read_queue_type(f, q); }},
       {"message_group_field",
        [&](const field& f) {
          group_f = f;
          return read_string(f, q.message_group_field);
        }},
       {"backoff_ms", uint_into(q.backoff_ms)},
       {"poll_interval_ms", uint_into(q.poll_interval_ms)},
       {"timeout_ms", uint_into(q.timeout_ms, 1)},
       {"max_backoff_ms", uint_into(q.max_backoff_ms, 1)},
       {"max_crash_recoveries",
        uint_into(q.max_crash_recoveries, 1, max_crash_recoveries_limit)}});
    if (err) return err;
    if (q.type == queue_type::fifo && q.message_group_field.empty())
      return error_at(entry.key, prefix
                                   + " is of type 'fifo' but "
                                     "'message_group_field' is not set");
    if (q.type == queue_type::standard && group_f)
      return error_at(group_f->key,
                      prefix
                        + " sets 'message_group_field' but is of type "
                          "'standard'; only 'fifo' queues use it (add "
                          "type: fifo or remove the field)");
    return {};
  }

  caf::error read_concurrency(const field& f, queue_config& q) const {
    if (auto err = read_uint(f, q.concurrency)) return err;
    if (q.concurrency > max_concurrency)
      return error_at(f.at(), "Queue '" + q.name + "' has 'concurrency' "
                                + std::to_string(q.concurrency)
                                + "; it must be at most "
                                + std::to_string(max_concurrency));
    if (q.concurrency == 0)
      return error_at(f.at(),
                      "Queue '" + q.name
                        + "' has 'concurrency' 0; it must be at least 1");
    return {};
  }

  caf::error read_queue_type(const field& f, queue_config& q) const {
    std::string type;
    if (auto err = read_string(f, type)) return err;
    if (type != "standard" && type != "fifo")
      return error_at(f.at(), "Queue '" + q.name + "' has invalid type '" + type
                                + "'. Must be 'standard' or 'fifo'");
    q.type = type == "fifo" ? queue_type::fifo : queue_type::standard;
    return {};
  }

  caf::error read_adapter(const field& f, queue_worker_config& out) const {
    std::optional<field> name_f;
    std::optional<field> config_f;
    if (auto err
        = read_map(f.value, "the iii-queue adapter",
                   {{"name", keep(name_f)}, {"config", keep(config_f)}}))
      return err;
    if (!name_f)
      return error_at(f.at(), "the iii-queue adapter needs a 'name'; only "
                              "'builtin' is supported");
    std::string name;
    if (auto err = read_string(*name_f, name)) return err;
    if (name != "builtin")
      return error_at(name_f->value, "adapter '" + name
                                       + "' is not supported; "
                                         "only 'builtin' is supported");
    std::optional<field> method_f;
    auto err = read_map(config_f ? config_f->value : YAML::Node{},
                        "the builtin adapter config",
                        {{"store_method",
                          [&](const field& f) {
                            method_f = f;
                            return read_store_method(f, out.store);
                          }},
                         {"file_path", string_into(out.file_path)}});
    if (!err && out.store == store_method::file_based && out.file_path.empty())
      return error_at(method_f->at(), "store_method 'file_based' needs a "
                                      "non-empty 'file_path' (the directory "
                                      "the store owns)");
    return err;
  }

  caf::error read_store_method(const field& f, store_method& out) const {
    std::string method;
    if (auto err = read_string(f, method)) return err;
    if (method != "in_memory" && method != "file_based")
      return error_at(f.at(), "'store_method' must be 'in_memory' or "
                              "'file_based', got "
                                + describe(f.value));
    out = method == "file_based" ? store_method::file_based
                                 : store_method::in_memory;
    return {};
  }

  const std::string& file_;
  const source_map& map_;
};

/// Where each document of a YAML stream starts, and where its root node
/// does; nothing else is kept.
class document_starts : public YAML::EventHandler {
public:
  std::vector<YAML::Mark> marks;
  std::vector<YAML::Mark> roots;

  void OnDocumentStart(const YAML::Mark& mark) override {
    marks.push_back(mark);
    roots.push_back(mark);
    fresh_ = true;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { node(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                const std::string&) override {
    node(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    node(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    node(m);
  }
  void OnMapEnd() override {}

private:
  void node(const YAML::Mark& m) {
    if (fresh_) roots.back() = m;
    fresh_ = false;
  }

  bool fresh_ = false;
};

/// Checks that `text` is one YAML document, or none; sets `count`. Not YAML::LoadAll:
/// on a token no rule consumes (a ',' outside [ ] and { }, e.g.) yaml-cpp
/// 0.7 "parses" it as one empty document after another, and LoadAll
/// collects them until memory runs out. Here a document that starts where
/// the last one started is that token, and the walk stops at three.
caf::error check_documents(const std::string& text, const reader& rd,
                           size_t& count) {
  std::istringstream in{text};
  YAML::Parser parser{in};
  document_starts docs;
  while (docs.marks.size() < 3 && parser.HandleNextDocument(docs)) {
    auto n = docs.marks.size();
    if (n >= 2 && docs.marks[n - 1].pos == docs.marks[n - 2].pos) {
      auto& at = docs.marks[n - 1];
      auto pos = static_cast<size_t>(std::max(at.pos, 0));
      std::string what = "this is not valid YAML";
      if (pos < text.size()) {
        what += std::string{": unexpected '"} + text[pos] + "'";
        if (text[pos] == ',')
          what += " (a ',' separates entries only inside [ ] or { })";
      }
      return rd.error_at(at, what);
    }
  }
  count = docs.marks.size();
  if (count > 1)
    return rd.error_at(docs.roots[1], "a config file holds one YAML "
                                      "document; remove the second one");
  return {};
}

/// parse_engine_config without the last-resort catch.
caf::expected<engine_config> parse_text(std::string text,
                                        const std::string& file_name,
                                        const env_lookup& env) {
  // Editors hide a UTF-8 byte order mark; so do our columns.
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);
  // yaml-cpp takes NUL bytes and UTF-16 byte order marks for a UTF-16 or
  // UTF-32 file and counts its marks in characters of that, so errors
  // would point past the end of the text.
  if (text.compare(0, 2, "\xFE\xFF") == 0 || text.compare(0, 2, "\xFF\xFE") == 0)
    return bad_config(file_name + ":1:1", "the file starts with a UTF-16 byte "
                                          "order mark; write it as UTF-8");
  if (auto nul = text.find('\0'); nul != std::string::npos)
    return bad_config(file_name + ":" + source_map{text}.locate_original(nul),
                      "the file holds a NUL byte; a config file is UTF-8 "
                      "text");
  auto expanded = expand_env(text, file_name, env);
  if (!expanded) return expanded.error();
  reader rd{file_name, expanded->map};
  auto cfg = default_engine_config();
  cfg.source = file_name;
  try {
    size_t documents = 0;
    if (auto err = check_documents(expanded->text, rd, documents)) return err;
    // YAML::Load reads the first document only.
    if (documents == 1)
      if (auto err = rd.read_document(YAML::Load(expanded->text), cfg))
        return err;
  } catch (const YAML::Exception& e) {
    return rd.error_at(e.mark, e.msg);
  }
  return cfg;
}

struct file_closer {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

caf::error cannot_read(const std::string& path, int code) {
  return bad_config(path, "cannot read file: "
                            + std::generic_category().message(code));
}

} // namespace

const queue_config* engine_config::find_queue(const std::string& name) const {
  for (const auto& q : queue.queues)
    if (q.name == name) return &q;
  return nullptr;
}

env_lookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (const char* value = std::getenv(name.c_str()))
      return std::string{value};
    return std::nullopt;
  };
}

engine_config default_engine_config() {
  engine_config result;
  result.queue.queues.emplace_back().name = "default";
  return result;
}

caf::expected<engine_config> parse_engine_config(const std::string& text,
                                                 const std::string& file_name,
                                                 const env_lookup& env) {
  try {
    return parse_text(text, file_name, env);
  } catch (const std::exception& e) {
    return bad_config(file_name, std::string{"cannot parse: "} + e.what());
  } catch (...) {
    return bad_config(file_name, "cannot parse: unknown exception");
  }
}

caf::expected<engine_config> load_engine_config(const std::string& path) {
  std::unique_ptr<std::FILE, file_closer> file{std::fopen(path.c_str(), "rb")};
  if (!file) return cannot_read(path, errno);
  std::string text;
  char buf[65536];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof(buf), file.get())) > 0)
    text.append(buf, n);
  if (std::ferror(file.get())) return cannot_read(path, errno);
  auto result = parse_engine_config(text, path, process_env());
  if (result) result->source = path;
  return result;
}

uint64_t retry_delay_ms(const queue_config& q, uint32_t failed_attempts) {
  auto shift = failed_attempts > 1 ? failed_attempts - 1 : 0u;
  uint64_t delay = 0;
  if (q.backoff_ms != 0)
    delay = shift >= 64 || q.backoff_ms > (max_u64 >> shift)
              ? max_u64
              : q.backoff_ms << shift;
  return q.max_backoff_ms ? std::min(delay, *q.max_backoff_ms) : delay;
}

uint32_t max_attempts(const queue_config& q) {
  return std::max<uint32_t>(q.max_retries, 1);
}

} // namespace troupe
