// The `troupe` binary: parses its own command line (CAF never sees argv),
// loads the configuration and runs one engine node; or, when argv[1] is a
// client command (`troupe queues`, ...), runs that command (cluster/cli.hpp).

#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "base/log.hpp"
#include "cluster/cli.hpp"
#include "cluster/node.hpp"
#include "troupe/config.hpp"
#include "troupe/engine.hpp"

namespace {

constexpr int exit_usage = 2;
constexpr int exit_config = 2;
constexpr auto default_config_file = "iii-config.yaml";

const char* usage_text
  = R"(usage: troupe [--config PATH] [--admin HOST:PORT] [--log-level LEVEL]
              [--threads N]
       troupe COMMAND [ARGS] [options]

troupe runs named job queues for workers that speak the iii worker protocol
(for example workers written with the iii-sdk npm package).

options:
  -c, --config PATH      iii-config.yaml to load. Without it, ./iii-config.yaml
                         is used if it exists, else the built-in defaults
                         (workers on ws://127.0.0.1:49134, queue 'default',
                         in-memory store).
      --admin HOST:PORT  open the admin listener (health checks, JSON API,
                         dashboard) on HOST:PORT, such as 127.0.0.1:3113
                         (port 0: any free port); overrides the address of
                         the config's troupe-admin entry and keeps its
                         token and read_only
  -l, --log-level LEVEL  debug, info (default), warn, error or off
  -t, --threads N        actor scheduler threads (default: number of cores)
  -h, --help             print this help and exit
  -V, --version          print the version and exit

Exit status: 0 after a clean stop (SIGINT/SIGTERM), 1 when a port cannot be
opened, 2 for a bad command line or configuration, 3 when the job store
cannot be opened or read.

)";

struct cli {
  std::string config_path;
  bool config_given = false;
  std::string log_level = "info";
  int threads = 0;
  /// --admin HOST:PORT, if given.
  std::string admin_host;
  uint16_t admin_port = 0;
  bool admin_given = false;
};

/// Reads "HOST:PORT" ("[v6]:PORT" for IPv6) of --admin.
bool parse_host_port(const std::string& text, std::string& host,
                     uint16_t& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return false;
  host = text.substr(0, colon);
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
    host = host.substr(1, host.size() - 2);
  }
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(AF_INET, host.c_str(), buf) != 1
      && inet_pton(AF_INET6, host.c_str(), buf) != 1)
    return false;
  auto digits = text.substr(colon + 1);
  if (digits.size() > 5
      || digits.find_first_not_of("0123456789") != std::string::npos)
    return false;
  auto n = std::stoul(digits);
  if (n > 65535) return false;
  port = static_cast<uint16_t>(n);
  return true;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

/// Parses argv; returns -1 to continue, else the exit status.
int parse_cli(int argc, char** argv, cli& out) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg{argv[i]};
    std::string value;
    auto take = [&](std::string_view long_name, std::string_view short_name) {
      if (arg == long_name || arg == short_name) {
        if (i + 1 >= argc) {
          std::cerr << "troupe: " << long_name << " needs a value\n";
          return -1;
        }
        value = argv[++i];
        return 1;
      }
      auto prefix = std::string{long_name} + "=";
      if (arg.substr(0, prefix.size()) == prefix) {
        value = std::string{arg.substr(prefix.size())};
        return 1;
      }
      return 0;
    };
    if (arg == "-h" || arg == "--help") {
      std::cout << usage_text << troupe::cli::commands_help();
      return EXIT_SUCCESS;
    }
    if (arg == "-V" || arg == "--version") {
      std::cout << "troupe " << TROUPE_VERSION << "\n";
      return EXIT_SUCCESS;
    }
    int r;
    if ((r = take("--config", "-c")) != 0) {
      if (r < 0) return exit_usage;
      out.config_path = value;
      out.config_given = true;
    } else if ((r = take("--admin", "--admin")) != 0) {
      if (r < 0) return exit_usage;
      if (!parse_host_port(value, out.admin_host, out.admin_port)) {
        std::cerr << "troupe: --admin takes HOST:PORT with an IP address, "
                     "such as 127.0.0.1:3113, got '"
                  << value << "'\n";
        return exit_usage;
      }
      out.admin_given = true;
    } else if ((r = take("--log-level", "-l")) != 0) {
      if (r < 0) return exit_usage;
      out.log_level = value;
    } else if ((r = take("--threads", "-t")) != 0) {
      if (r < 0) return exit_usage;
      char* end = nullptr;
      long n = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || n < 1 || n > 256) {
        std::cerr << "troupe: --threads takes a number from 1 to 256\n";
        return exit_usage;
      }
      out.threads = static_cast<int>(n);
    } else if (i == 1 && !arg.empty() && arg[0] != '-') {
      std::cerr << "troupe: unknown command '" << arg
                << "' (see troupe --help)\n";
      return exit_usage;
    } else {
      std::cerr << "troupe: unknown argument '" << arg
                << "' (see troupe --help)\n";
      return exit_usage;
    }
  }
  return -1;
}

} // namespace

int main(int argc, char** argv) {
  if (argc > 1 && troupe::cli::is_command(argv[1]))
    return troupe::cli::run(argc, argv, TROUPE_VERSION);
  troupe::block_stop_signals();
  cli args;
  if (auto status = parse_cli(argc, argv, args); status >= 0) return status;
  troupe::log::level lvl;
  if (!troupe::log::parse_level(args.log_level, lvl)) {
    std::cerr << "troupe: --log-level takes debug, info, warn, error or off\n";
    return exit_usage;
  }
  troupe::log::set_level(lvl);
  // Configuration.
  troupe::engine_config cfg;
  if (!args.config_given && file_exists(default_config_file)) {
    args.config_path = default_config_file;
    args.config_given = true;
  }
  if (args.config_given) {
    auto loaded = troupe::load_engine_config(args.config_path);
    if (!loaded) {
      auto& ctx = loaded.error().context();
      std::cerr << "troupe: "
                << (ctx.match_elements<std::string>()
                      ? ctx.get_as<std::string>(0)
                      : caf::to_string(loaded.error()))
                << "\n";
      return exit_config;
    }
    cfg = std::move(*loaded);
  } else {
    cfg = troupe::default_engine_config();
  }
  if (args.admin_given) {
    cfg.admin.enabled = true;
    cfg.admin.host = args.admin_host;
    cfg.admin.port = args.admin_port;
  }
  troupe::log::info("node", "troupe ", TROUPE_VERSION, " starting with ",
                    cfg.source);
  // The actor system: CAF never parses our argv, nor reads
  // caf-application.ini from the working directory.
  caf::actor_system_config sys_cfg;
  troupe::engine::configure(sys_cfg, cfg);
  auto threads
    = args.threads > 0
        ? args.threads
        : static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
  troupe::tune_scheduler(sys_cfg, threads);
  sys_cfg.set("logger.file-verbosity", caf::atom("quiet"));
  sys_cfg.set("logger.console-verbosity", caf::atom("quiet"));
  caf::actor_system sys{sys_cfg};
  return troupe::run_node(sys, cfg);
}
