// A load generator for one engine over real sockets: producer and consumer
// workers in one process, speaking the iii worker protocol over WebSocket as
// the SDK does (registerfunction, engine::workers::register, invokefunction
// with an enqueue action or as a sync call, invocationresult), so the
// engine's capacity is measured without Node in the way.
//
//   build/bench/loadgen [--troupe build/cluster/troupe] [--engine-cpu N]
//                       [--seconds S | --jobs N] [--cases LIST] ...
//                       (--help lists every flag)
//
// Per case it writes a config, starts the real binary on a port the OS
// picks (pinned to core N with --engine-cpu, the generator then on the other
// cores), connects the consumers, then the producers, and runs the load. It
// prints receipts/s and completions/s, p50/p99 from enqueue to start (or the
// sync round trip), and the engine's CPU µs per job from /proc/PID/stat.
// Every job is accounted for: a receipted job never started, one started
// twice, a start without a receipt, an error answer or, on FIFO queues, a
// job of a group that starts before an earlier one of the same producer all
// fail the run (exit 1).
//
// Each connection has one thread with a blocking socket. The frames of a
// batch (a producer's window refill, a consumer's answers to one read) go
// out in one write; one read takes every frame that has arrived.

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "protocol/frames.hpp"
#include "protocol/json_member.hpp"
#include "protocol/json_scan.hpp"
#include "protocol/ws_codec.hpp"

namespace {

namespace ws = troupe::protocol::ws;
namespace proto = troupe::protocol;
namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;

constexpr const char* function_id = "bench::job";
constexpr const char* queue_name = "bench";

// -- options and cases --------------------------------------------------------

struct options {
  std::string troupe = "build/cluster/troupe";
  int engine_cpu = -1;
  int engine_threads = 0; // 0: 1 when pinned, else the engine's default
  double seconds = 5;
  uint64_t jobs = 0; // > 0: run this many per case instead of --seconds
  uint64_t max_jobs = 20'000'000;
  int producers = 2;
  int consumers = 2;
  int window = 256;
  int concurrency = 256;
  int groups = 1000;
  uint64_t backlog = 10'000;
  size_t payload_bytes = 100;
  std::vector<std::string> cases;
  bool keep = false;
};

struct case_spec {
  std::string name;
  bool sync = false;
  bool fifo = false;
  bool file_based = false;
};

const std::vector<case_spec> all_cases = {
  {"standard-in_memory", false, false, false},
  {"standard-file_based", false, false, true},
  {"fifo-in_memory", false, true, false},
  {"fifo-file_based", false, true, true},
  {"sync", true, false, false},
};

const char* usage = R"(usage: loadgen [options]
  --troupe PATH        the engine binary (default build/cluster/troupe)
  --engine-cpu N       pin the engine to core N and the generator to the others
  --engine-threads N   the engine's --threads (default 1 when pinned, else
                       the engine's own default)
  --seconds S          enqueue (or call) for S seconds per case (default 5)
  --jobs N             instead: N jobs (or calls) per case
  --max-jobs N         cap per case in --seconds mode (default 20000000);
                       both at most 100000000 (2 bytes of bookkeeping each)
  --producers N        producer connections (default 2)
  --consumers N        consumer connections (default 2)
  --window N           calls in flight per producer connection (default 256)
  --concurrency N      the queue's concurrency (default 256)
  --groups N           FIFO groups (default 1000)
  --backlog N          enqueue only while fewer than N jobs are sent and not
                       started yet (default 10000; 0: no bound), so the rate
                       is the engine's steady one, not a queue filling up
  --payload-bytes N    size of a job's data (default 100)
  --cases LIST         comma-separated among standard-in_memory,
                       standard-file_based, fifo-in_memory, fifo-file_based,
                       sync (default all)
  --keep               keep each case's directory (config, engine log, store)
)";

bool parse_options(int argc, char** argv, options& o) {
  auto number = [](const char* s, uint64_t& out) {
    char* end = nullptr;
    errno = 0;
    auto v = std::strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0') return false;
    out = v;
    return true;
  };
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--help" || k == "-h") {
      std::fputs(usage, stdout);
      std::exit(0);
    }
    if (k == "--keep") {
      o.keep = true;
      continue;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "loadgen: %s needs a value\n%s", k.c_str(), usage);
      return false;
    }
    const char* v = argv[++i];
    uint64_t n = 0;
    auto want = [&](uint64_t lo, uint64_t hi) {
      if (!number(v, n) || n < lo || n > hi) {
        std::fprintf(stderr, "loadgen: %s takes a number from %llu to %llu\n",
                     k.c_str(), static_cast<unsigned long long>(lo),
                     static_cast<unsigned long long>(hi));
        return false;
      }
      return true;
    };
    if (k == "--troupe") {
      o.troupe = v;
    } else if (k == "--engine-cpu") {
      if (!want(0, CPU_SETSIZE - 1)) return false;
      o.engine_cpu = static_cast<int>(n);
    } else if (k == "--engine-threads") {
      if (!want(1, 256)) return false;
      o.engine_threads = static_cast<int>(n);
    } else if (k == "--seconds") {
      char* end = nullptr;
      o.seconds = std::strtod(v, &end);
      if (end == v || *end != '\0' || !(o.seconds > 0) || o.seconds > 3600) {
        std::fprintf(stderr, "loadgen: --seconds takes a number above 0 and "
                             "at most 3600\n");
        return false;
      }
    } else if (k == "--jobs") {
      if (!want(1, 100'000'000)) return false;
      o.jobs = n;
    } else if (k == "--max-jobs") {
      if (!want(1, 100'000'000)) return false;
      o.max_jobs = n;
    } else if (k == "--producers") {
      if (!want(1, 256)) return false;
      o.producers = static_cast<int>(n);
    } else if (k == "--consumers") {
      if (!want(1, 256)) return false;
      o.consumers = static_cast<int>(n);
    } else if (k == "--window") {
      if (!want(1, 100'000)) return false;
      o.window = static_cast<int>(n);
    } else if (k == "--concurrency") {
      if (!want(1, 10'000)) return false;
      o.concurrency = static_cast<int>(n);
    } else if (k == "--groups") {
      if (!want(1, 1'000'000)) return false;
      o.groups = static_cast<int>(n);
    } else if (k == "--backlog") {
      if (!want(0, 1'000'000'000)) return false;
      o.backlog = n;
    } else if (k == "--payload-bytes") {
      if (!want(60, 1'000'000)) return false;
      o.payload_bytes = n;
    } else if (k == "--cases") {
      std::stringstream in{v};
      std::string name;
      while (std::getline(in, name, ',')) {
        auto known
          = std::any_of(all_cases.begin(), all_cases.end(),
                        [&](const case_spec& c) { return c.name == name; });
        if (!known) {
          std::fprintf(stderr, "loadgen: unknown case '%s'\n%s", name.c_str(),
                       usage);
          return false;
        }
        o.cases.push_back(name);
      }
    } else {
      std::fprintf(stderr, "loadgen: unknown option %s\n%s", k.c_str(), usage);
      return false;
    }
  }
  return true;
}

// -- the engine process -------------------------------------------------------

struct engine_process {
  pid_t pid = -1;
  fs::path dir;
  uint16_t port = 0;
};

/// User plus system CPU time of a process in µs, from /proc/PID/stat
/// (fields 14 and 15, in clock ticks); -1 if it cannot be read.
int64_t process_cpu_us(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  // The command name (field 2) is in parentheses and may hold spaces.
  auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream rest{text.substr(close + 2)};
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
    if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
  }
  static const long ticks = sysconf(_SC_CLK_TCK);
  return static_cast<int64_t>((utime + stime) * 1'000'000ull / ticks);
}

int64_t own_cpu_us() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto us = [](const timeval& t) {
    return static_cast<int64_t>(t.tv_sec) * 1'000'000 + t.tv_usec;
  };
  return us(ru.ru_utime) + us(ru.ru_stime);
}

std::string config_text(const options& o, const case_spec& c,
                        const fs::path& dir) {
  std::string q = "{ type: ";
  q += c.fifo ? "fifo, message_group_field: g" : "standard";
  q += ", concurrency: " + std::to_string(o.concurrency);
  // One attempt each and a long timeout: a job that starts twice is a
  // duplicate of the engine's, never a retry of ours.
  q += ", max_retries: 1, timeout_ms: 600000 }";
  std::string store = c.file_based ? "{ store_method: file_based, file_path: \""
                                       + (dir / "store").string() + "\" }"
                                   : "{ store_method: in_memory }";
  return "workers:\n"
         "  - name: iii-worker-manager\n"
         "    config: { host: 127.0.0.1, port: 0 }\n"
         "  - name: iii-queue\n"
         "    config:\n"
         "      queue_configs:\n"
         "        "
         + std::string{queue_name} + ": " + q
         + "\n"
           "      adapter: { name: builtin, config: "
         + store + " }\n";
}

bool start_engine(const options& o, const case_spec& c, engine_process& e,
                  std::string& err) {
  char tmpl[] = "/tmp/troupe-loadgen-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) {
    err = std::string{"cannot make a temp dir: "} + std::strerror(errno);
    return false;
  }
  e.dir = tmpl;
  auto config = e.dir / "iii-config.yaml";
  auto log = e.dir / "engine.log";
  std::ofstream{config} << config_text(o, c, e.dir);
  int threads = o.engine_threads > 0 ? o.engine_threads
                                     : (o.engine_cpu >= 0 ? 1 : 0);
  std::vector<std::string> args{o.troupe, "--config", config.string()};
  if (threads > 0) {
    args.push_back("--threads");
    args.push_back(std::to_string(threads));
  }
  auto pid = fork();
  if (pid < 0) {
    err = std::string{"fork failed: "} + std::strerror(errno);
    return false;
  }
  if (pid == 0) {
    // The child: pinned as `taskset -c N` would, stderr to the log file.
    if (o.engine_cpu >= 0) {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(o.engine_cpu, &set);
      if (sched_setaffinity(0, sizeof(set), &set) != 0) {
        std::perror("loadgen: sched_setaffinity for the engine");
        _exit(126);
      }
    }
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 2);
      dup2(fd, 1);
      ::close(fd);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    std::perror("loadgen: cannot start the engine");
    _exit(127);
  }
  e.pid = pid;
  // Wait for "listening for workers on ws://127.0.0.1:PORT".
  auto deadline = clock_type::now() + std::chrono::seconds(30);
  const std::string mark = "listening for workers on ws://127.0.0.1:";
  while (clock_type::now() < deadline) {
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      e.pid = -1;
      std::ifstream in{log};
      std::string text{std::istreambuf_iterator<char>{in}, {}};
      err = "the engine exited before listening (status "
            + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1)
            + "):\n" + text;
      return false;
    }
    std::ifstream in{log};
    std::string text{std::istreambuf_iterator<char>{in}, {}};
    auto at = text.find(mark);
    if (at != std::string::npos) {
      auto digits = text.substr(at + mark.size(), 5);
      e.port = static_cast<uint16_t>(std::strtoul(digits.c_str(), nullptr, 10));
      if (e.port != 0) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  err = "the engine did not listen within 30 s (log in " + log.string() + ")";
  return false;
}

void stop_engine(engine_process& e, bool keep) {
  if (e.pid > 0) {
    kill(e.pid, SIGTERM);
    auto deadline = clock_type::now() + std::chrono::seconds(20);
    int status = 0;
    while (waitpid(e.pid, &status, WNOHANG) != e.pid) {
      if (clock_type::now() > deadline) {
        kill(e.pid, SIGKILL);
        waitpid(e.pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    e.pid = -1;
  }
  if (!keep && !e.dir.empty()) {
    std::error_code ec;
    fs::remove_all(e.dir, ec);
  }
}

// -- one WebSocket connection -------------------------------------------------

class connection {
public:
  ~connection() {
    if (fd_ >= 0) ::close(fd_);
  }

  /// Connects to 127.0.0.1:port and upgrades. The engine's answer is checked
  /// for 101; its Sec-WebSocket-Accept is not (this is our own engine).
  bool open(uint16_t port, std::string& err) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return fail(err, "socket");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
      return fail(err, "connect");
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    std::string key;
    static const char* b64
      = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 21; ++i) key += b64[next_random() % 64];
    key += "A=="; // 16 bytes as base64: 22 characters and "=="
    std::string req = "GET / HTTP/1.1\r\nHost: 127.0.0.1:"
                      + std::to_string(port)
                      + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        "Sec-WebSocket-Key: "
                      + key
                      + "\r\nSec-WebSocket-Version: 13\r\n"
                        "User-Agent: troupe-loadgen\r\n\r\n";
    if (!send_all(req)) return fail(err, "sending the upgrade");
    std::string head;
    char buf[4096];
    while (head.find("\r\n\r\n") == std::string::npos) {
      if (!wait_readable(10'000)) {
        err = "no answer to the upgrade within 10 s";
        return false;
      }
      auto n = ::recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) return fail(err, "reading the upgrade answer");
      head.append(buf, static_cast<size_t>(n));
    }
    auto end = head.find("\r\n\r\n") + 4;
    if (head.compare(0, 12, "HTTP/1.1 101") != 0) {
      err = "the engine did not upgrade: " + head.substr(0, head.find('\r'));
      return false;
    }
    buf_.assign(head.begin() + static_cast<long>(end), head.end());
    end_ = buf_.size();
    return true;
  }

  /// Appends `json` as one masked text frame to `out`.
  void add_text(std::string& out, std::string_view json) {
    ws::append_masked_frame(out, ws::opcode::text, json, next_random());
  }

  bool send_all(const std::string& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
      auto n = ::send(fd_, bytes.data() + done, bytes.size() - done,
                      MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  /// Waits up to `timeout_ms` for data, then puts every whole text message
  /// that has arrived into `out` (cleared first). Answers pings. Returns the
  /// number of messages, 0 on timeout, -1 when the connection failed or the
  /// engine closed it (the reason in `err`).
  int read_messages(std::vector<std::string>& out, int timeout_ms,
                    std::string& err) {
    out.clear();
    for (;;) {
      if (end_ > begin_) {
        events_.clear();
        ws::decode_error derr;
        begin_ += dec_.decode(buf_.data() + begin_, end_ - begin_, events_,
                              derr);
        if (derr.code != 0) {
          err = "bad frame from the engine: " + derr.reason;
          return -1;
        }
        std::string pongs;
        for (auto& ev : events_) {
          switch (ev.kind) {
            case ws::event::message:
              out.push_back(std::move(ev.payload));
              break;
            case ws::event::ping:
              ws::append_masked_frame(pongs, ws::opcode::pong, ev.payload,
                                      next_random());
              break;
            case ws::event::pong: break;
            case ws::event::close:
              err = "the engine closed the connection (code "
                    + std::to_string(ev.code) + ": " + ev.payload + ")";
              return -1;
          }
        }
        if (!pongs.empty() && !send_all(pongs)) {
          err = "sending a pong failed";
          return -1;
        }
        if (!out.empty()) return static_cast<int>(out.size());
      }
      // Keep only the incomplete frame, then read behind it: no copy of
      // what arrives, and no poll() when data is already there.
      if (begin_ > 0) {
        std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
        end_ -= begin_;
        begin_ = 0;
      }
      auto need = std::max(end_ + read_chunk, dec_.frame_size_hint());
      if (buf_.size() < need) buf_.resize(need);
      auto room = buf_.size() - end_;
      auto n = ::recv(fd_, buf_.data() + end_, room, MSG_DONTWAIT);
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!wait_readable(timeout_ms)) return 0;
        n = ::recv(fd_, buf_.data() + end_, room, MSG_DONTWAIT);
      }
      if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
        continue;
      if (n <= 0) {
        err = n == 0 ? "the engine closed the socket"
                     : std::string{"recv: "} + std::strerror(errno);
        return -1;
      }
      end_ += static_cast<size_t>(n);
    }
  }

  /// Sends a normal close and closes the socket without waiting.
  void close() {
    if (fd_ < 0) return;
    std::string bye;
    std::string body{"\x03\xe8", 2}; // 1000
    ws::append_masked_frame(bye, ws::opcode::close, body, next_random());
    send_all(bye);
    ::close(fd_);
    fd_ = -1;
  }

private:
  bool fail(std::string& err, const char* what) {
    err = std::string{what} + ": " + std::strerror(errno);
    return false;
  }

  bool wait_readable(int timeout_ms) {
    pollfd p{fd_, POLLIN, 0};
    int r = 0;
    do {
      r = ::poll(&p, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    return r > 0;
  }

  uint32_t next_random() {
    // xorshift32: mask keys need not be secret here, only varied.
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 17;
    rng_ ^= rng_ << 5;
    return rng_;
  }

  static constexpr size_t read_chunk = 256 * 1024;

  int fd_ = -1;
  /// Bytes from the engine in [begin_, end_) not decoded yet. Grown, never
  /// shrunk: a vector's resize zero-fills only the bytes it adds.
  std::vector<char> buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
  uint32_t rng_
    = static_cast<uint32_t>(clock_type::now().time_since_epoch().count() | 1);
  std::vector<ws::event> events_;
  ws::decoder dec_{64 << 20, ws::peer::server};
};

// -- shared accounting --------------------------------------------------------

struct run_state {
  explicit run_state(uint64_t cap, int producers, int groups)
      : max_jobs(cap), receipted(cap, 0),
        started(std::make_unique<std::atomic<uint8_t>[]>(cap)),
        last_seq(std::make_unique<std::atomic<uint64_t>[]>(
          static_cast<size_t>(producers) * groups)),
        producers(producers), groups(groups) {
    for (uint64_t i = 0; i < cap; ++i) started[i].store(0);
    for (size_t i = 0; i < static_cast<size_t>(producers) * groups; ++i)
      last_seq[i].store(0);
  }

  int64_t now_ns() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
             clock_type::now() - t0)
      .count();
  }

  void fail(const std::string& what) {
    std::lock_guard<std::mutex> guard{mu};
    if (first_error.empty()) first_error = what;
    abort = true;
  }

  void note_max(std::atomic<int64_t>& x, int64_t v) {
    auto cur = x.load();
    while (v > cur && !x.compare_exchange_weak(cur, v)) {
      // retry
    }
  }

  const uint64_t max_jobs;
  /// Set before any thread starts; times are in ns since then.
  clock_type::time_point t0;
  /// When the producers started (after the warm-up).
  int64_t load_start_ns = 0;
  std::atomic<bool> stop_issuing{false};
  std::atomic<bool> consumers_done{false};
  std::atomic<bool> abort{false};
  std::atomic<uint64_t> next_id{0};
  /// Per job number, written only by the producer that sent it.
  std::vector<uint8_t> receipted;
  std::unique_ptr<std::atomic<uint8_t>[]> started;
  /// FIFO: per (group, producer), 1 + the sequence number last started.
  std::unique_ptr<std::atomic<uint64_t>[]> last_seq;
  const int producers;
  const int groups;
  std::atomic<uint64_t> receipts{0};
  std::atomic<uint64_t> unique_starts{0};
  std::atomic<uint64_t> duplicates{0};
  std::atomic<uint64_t> unknown{0};
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> order_violations{0};
  std::atomic<int64_t> last_receipt_ns{0};
  std::atomic<int64_t> last_start_ns{0};
  std::mutex mu;
  std::string first_error;
};

/// An invocation id in UUID v4 form that carries the job number, so an
/// answer names its job without a table lookup. Appended as a JSON string.
void append_invocation_id(std::string& out, uint64_t n) {
  char buf[48];
  auto len
    = std::snprintf(buf, sizeof(buf), "\"%08x-0000-4000-8000-%012llx\"",
                    static_cast<unsigned>(n >> 48),
                    static_cast<unsigned long long>(n & 0xFFFFFFFFFFFFull));
  out.append(buf, static_cast<size_t>(len));
}

/// The job number in an id made by append_invocation_id (quotes included).
bool job_of(std::string_view id, uint64_t& n) {
  if (id.size() != 38 || id.front() != '"' || id.back() != '"') return false;
  uint64_t hi = 0, lo = 0;
  auto a = std::from_chars(id.data() + 1, id.data() + 9, hi, 16);
  auto b = std::from_chars(id.data() + 25, id.data() + 37, lo, 16);
  if (a.ptr != id.data() + 9 || b.ptr != id.data() + 37) return false;
  n = (hi << 48) | lo;
  return true;
}

/// The top-level members of a frame from the engine that the hot paths
/// need, as JSON text (strings keep their quotes). Frames are split with
/// protocol/json_scan, the engine's own scanner, into a reused vector, so
/// reading one allocates nothing for frames of the usual shape.
struct frame_view {
  std::string_view type, invocation_id, function_id, data, result, error;
};

bool view_frame(std::string_view text,
                std::vector<proto::json_scan::member>& scratch,
                frame_view& out) {
  scratch.clear();
  out = frame_view{};
  if (!proto::json_scan::split_object(text, scratch, proto::max_json_depth))
    return false;
  for (auto& m : scratch) {
    if (m.key == "type")
      out.type = m.text;
    else if (m.key == "invocation_id")
      out.invocation_id = m.text;
    else if (m.key == "function_id")
      out.function_id = m.text;
    else if (m.key == "data")
      out.data = m.text;
    else if (m.key == "result")
      out.result = m.text;
    else if (m.key == "error")
      out.error = m.text;
  }
  return true;
}

struct thread_stats {
  std::vector<uint32_t> latency_us;
};

// -- producers ----------------------------------------------------------------

/// Appends one call of bench::job as `to_json(invoke_frame)` writes it: an
/// enqueue to the bench queue, or a sync call.
void append_call(std::string& json, uint64_t n, int producer, uint64_t seq,
                 int groups, int64_t sent_ns, size_t payload_bytes, bool sync) {
  json.assign(R"({"type":"invokefunction","invocation_id":)");
  append_invocation_id(json, n);
  json.append(R"(,"function_id":")").append(function_id).append("\"");
  auto data_at = json.size();
  json.append(R"(,"data":{"n":)").append(std::to_string(n));
  json.append(R"(,"p":)").append(std::to_string(producer));
  json.append(R"(,"s":)").append(std::to_string(seq));
  json.append(R"(,"g":"g)").append(std::to_string(n % groups));
  json.append(R"(","t":)").append(std::to_string(sent_ns));
  json.append(R"(,"pad":")");
  // Pad the data object to `payload_bytes` in all.
  auto data_len = json.size() - data_at - 8; // without `,"data":`
  if (payload_bytes > data_len + 2)
    json.append(payload_bytes - data_len - 2, 'x');
  json.append("\"}");
  if (!sync)
    json.append(R"(,"action":{"type":"enqueue","queue":")")
      .append(queue_name)
      .append("\"}");
  json.append("}");
}

void producer_loop(int index, connection& c, run_state& st, const case_spec& cs,
                   const options& o, thread_stats& ts) {
  std::unordered_map<uint64_t, int64_t> pending; // job number -> sent at (ns)
  pending.reserve(static_cast<size_t>(o.window) * 2);
  std::string out, json;
  std::vector<std::string> msgs;
  std::vector<proto::json_scan::member> scratch;
  std::string err;
  uint64_t seq = 0;
  auto last_progress = clock_type::now();
  auto who = "producer " + std::to_string(index) + ": ";
  auto room = [&] {
    return cs.sync || o.backlog == 0
           || st.next_id.load() - st.unique_starts.load() < o.backlog;
  };
  while (!st.abort) {
    out.clear();
    while (pending.size() < static_cast<size_t>(o.window) && !st.stop_issuing
           && room()) {
      auto n = st.next_id.fetch_add(1);
      if (n >= st.max_jobs) {
        st.stop_issuing = true;
        break;
      }
      auto sent = st.now_ns();
      append_call(json, n, index, seq++, st.groups, sent, o.payload_bytes,
                  cs.sync);
      c.add_text(out, json);
      pending.emplace(n, sent);
    }
    if (!out.empty() && !c.send_all(out)) {
      st.fail(who + "sending failed");
      return;
    }
    if (pending.empty()) {
      if (st.stop_issuing) return; // everything sent has its answer
      // The backlog is full: wait for the consumers.
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      last_progress = clock_type::now();
      continue;
    }
    auto got = c.read_messages(msgs, 200, err);
    if (got < 0) {
      st.fail(who + err);
      return;
    }
    if (got == 0) {
      if (clock_type::now() - last_progress > std::chrono::seconds(30)) {
        st.fail(who + std::to_string(pending.size())
                + " calls without an answer for 30 s");
        return;
      }
      continue;
    }
    last_progress = clock_type::now();
    auto now = st.now_ns();
    frame_view f;
    for (auto& m : msgs) {
      if (!view_frame(m, scratch, f)) {
        st.fail(who + "a frame that is not a JSON object: " + m);
        continue;
      }
      if (f.type != "\"invocationresult\"") continue; // workerregistered
      uint64_t n = 0;
      auto i = job_of(f.invocation_id, n) ? pending.find(n) : pending.end();
      if (i == pending.end()) {
        st.unknown++;
        st.fail(who + "an answer for no call in flight: " + m);
        continue;
      }
      if (!f.error.empty()) {
        st.errors++;
        st.fail(who + "error answer: " + m);
      } else if (!cs.sync
                 && f.result.find("\"messageReceiptId\"")
                      == std::string_view::npos) {
        st.errors++;
        st.fail(who + "a receipt without messageReceiptId: " + m);
      } else {
        st.receipted[n] = 1;
        st.receipts++;
        if (cs.sync)
          ts.latency_us.push_back(
            static_cast<uint32_t>((now - i->second) / 1000));
      }
      pending.erase(i);
    }
    st.note_max(st.last_receipt_ns, now);
  }
}

// -- consumers ----------------------------------------------------------------

/// The numbers our producers put in a job's data.
struct job_fields {
  uint64_t n = 0, p = 0, s = 0;
  int64_t t = 0;
  bool ok = false;
};

job_fields read_job(std::string_view data,
                    std::vector<proto::json_scan::member>& scratch) {
  job_fields j;
  scratch.clear();
  if (!proto::json_scan::split_object(data, scratch, 4)) return j;
  int found = 0;
  auto num = [&](std::string_view text, auto& v) {
    auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    if (r.ec == std::errc{} && r.ptr == text.data() + text.size()) ++found;
  };
  for (auto& m : scratch) {
    if (m.type != proto::json_scan::kind::number) continue;
    if (m.key == "n")
      num(m.text, j.n);
    else if (m.key == "p")
      num(m.text, j.p);
    else if (m.key == "s")
      num(m.text, j.s);
    else if (m.key == "t")
      num(m.text, j.t);
  }
  j.ok = found == 4;
  return j;
}

void consumer_loop(int index, connection& c, run_state& st, const case_spec& cs,
                   thread_stats& ts) {
  std::string out, json;
  std::vector<std::string> msgs;
  std::vector<proto::json_scan::member> scratch, data_scratch;
  std::string err;
  auto who = "consumer " + std::to_string(index) + ": ";
  while (!st.abort) {
    auto got = c.read_messages(msgs, 100, err);
    if (got < 0) {
      if (!st.consumers_done) st.fail(who + err);
      return;
    }
    if (got == 0) {
      if (st.consumers_done) return;
      continue;
    }
    out.clear();
    auto now = st.now_ns();
    bool counted = false;
    frame_view f;
    for (auto& m : msgs) {
      if (!view_frame(m, scratch, f)) {
        st.fail(who + "a frame that is not a JSON object: " + m);
        continue;
      }
      if (f.type != "\"invokefunction\"" || f.invocation_id.empty())
        continue; // workerregistered and the like
      // The answer as to_json(result_frame) writes it; the ids are copied
      // as the engine wrote them, quotes and all.
      json.assign(R"({"type":"invocationresult","invocation_id":)");
      json.append(f.invocation_id).append(R"(,"function_id":)");
      json.append(f.function_id).append(R"(,"result":null})");
      c.add_text(out, json);
      auto j = read_job(f.data, data_scratch);
      if (!j.ok) continue;   // the warm-up call
      if (cs.sync) continue; // counted by the producer
      if (j.n >= st.max_jobs) {
        st.unknown++;
        st.fail(who + "a job number out of range: " + std::string{f.data});
        continue;
      }
      if (st.started[j.n].fetch_add(1) != 0) {
        st.duplicates++;
        continue;
      }
      st.unique_starts++;
      counted = true;
      ts.latency_us.push_back(
        static_cast<uint32_t>(std::max<int64_t>(0, now - j.t) / 1000));
      if (cs.fifo && j.p < static_cast<uint64_t>(st.producers)) {
        auto g = j.n % st.groups;
        auto& last = st.last_seq[g * st.producers + j.p];
        // The group runs one job at a time, so no other consumer touches
        // this slot until our answer has gone out.
        if (last.load(std::memory_order_acquire) > j.s) st.order_violations++;
        last.store(j.s + 1, std::memory_order_release);
      }
    }
    if (!out.empty() && !c.send_all(out)) {
      st.fail(who + "sending failed");
      return;
    }
    if (counted) st.note_max(st.last_start_ns, now);
  }
}

// -- one case -----------------------------------------------------------------

double percentile(std::vector<uint32_t>& v, double p) {
  if (v.empty()) return 0;
  auto k = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k] / 1000.0; // ms
}

std::string register_frames(connection& c, const std::string& name,
                            bool with_function) {
  std::string out;
  if (with_function)
    c.add_text(out, std::string{R"({"type":"registerfunction","id":")"}
                      + function_id + "\"}");
  // As the SDK does after its registrations; Void, so nothing answers it.
  c.add_text(out, R"({"type":"invokefunction",)"
                  R"("function_id":"engine::workers::register",)"
                  R"("data":{"runtime":"cpp","name":")"
                    + name + R"("},"action":{"type":"void"}})");
  return out;
}

/// One sync call from producer 0 to the consumers' function: afterwards the
/// function is registered, so no job waits for it.
bool warm_up(connection& c, std::string& err) {
  std::string out;
  proto::invoke_frame call;
  call.invocation_id = "ffffffff-0000-4000-8000-ffffffffffff";
  call.function_id = function_id;
  call.data = R"({"warm":true})";
  c.add_text(out, proto::to_json(call));
  if (!c.send_all(out)) {
    err = "sending the warm-up call failed";
    return false;
  }
  std::vector<std::string> msgs;
  auto deadline = clock_type::now() + std::chrono::seconds(10);
  while (clock_type::now() < deadline) {
    auto got = c.read_messages(msgs, 200, err);
    if (got < 0) return false;
    for (auto& m : msgs) {
      auto f = proto::parse_frame(m);
      if (auto* r = std::get_if<proto::result_frame>(&f)) {
        if (!r->is_error) return true;
        // function_not_found: the registration is not in yet.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        if (!c.send_all(out)) return false;
      }
    }
  }
  err = "the warm-up call got no answer within 10 s";
  return false;
}

bool run_case(const options& o, const case_spec& cs) {
  engine_process eng;
  std::string err;
  if (!start_engine(o, cs, eng, err)) {
    std::fprintf(stderr, "loadgen: %s: %s\n", cs.name.c_str(), err.c_str());
    stop_engine(eng, o.keep);
    return false;
  }
  auto cap = o.jobs > 0 ? o.jobs : o.max_jobs;
  run_state st{cap, o.producers, o.groups};
  std::vector<std::unique_ptr<connection>> consumers, producers;
  auto connect_all = [&](std::vector<std::unique_ptr<connection>>& v, int n,
                         const char* role, bool with_function) {
    for (int i = 0; i < n; ++i) {
      auto c = std::make_unique<connection>();
      if (!c->open(eng.port, err)) return false;
      auto name = std::string{"loadgen-"} + role + "-" + std::to_string(i);
      if (!c->send_all(register_frames(*c, name, with_function))) {
        err = "registering failed";
        return false;
      }
      v.push_back(std::move(c));
    }
    return true;
  };
  if (!connect_all(consumers, o.consumers, "consumer", true)
      || !connect_all(producers, o.producers, "producer", false)) {
    std::fprintf(stderr, "loadgen: %s: connecting: %s\n", cs.name.c_str(),
                 err.c_str());
    stop_engine(eng, o.keep);
    return false;
  }
  std::vector<thread_stats> pstats(o.producers), cstats(o.consumers);
  std::vector<std::thread> cthreads, pthreads;
  st.t0 = clock_type::now();
  for (int i = 0; i < o.consumers; ++i)
    cthreads.emplace_back(
      [&, i] { consumer_loop(i, *consumers[i], st, cs, cstats[i]); });
  if (!warm_up(*producers[0], err)) {
    st.fail("warm-up: " + err);
  }
  auto cpu0 = process_cpu_us(eng.pid);
  auto own0 = own_cpu_us();
  auto wall0 = clock_type::now();
  st.load_start_ns = st.now_ns();
  auto load_start = clock_type::now();
  if (!st.abort)
    for (int i = 0; i < o.producers; ++i)
      pthreads.emplace_back(
        [&, i] { producer_loop(i, *producers[i], st, cs, o, pstats[i]); });
  if (o.jobs == 0) {
    auto until = load_start + std::chrono::duration<double>(o.seconds);
    while (clock_type::now() < until && !st.abort && !st.stop_issuing)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    st.stop_issuing = true;
  }
  for (auto& t : pthreads) t.join();
  // Every receipted job must start: wait while they keep coming.
  if (!cs.sync) {
    auto last = st.unique_starts.load();
    auto since = clock_type::now();
    while (!st.abort && st.unique_starts < st.receipts) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      if (st.unique_starts != last) {
        last = st.unique_starts;
        since = clock_type::now();
      } else if (clock_type::now() - since > std::chrono::seconds(15)) {
        break; // counted as lost below
      }
    }
  }
  auto cpu1 = process_cpu_us(eng.pid);
  auto own1 = own_cpu_us();
  auto wall_us = std::chrono::duration_cast<std::chrono::microseconds>(
                   clock_type::now() - wall0)
                   .count();
  // Give a duplicate delivery a moment to show up.
  if (!cs.sync) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  st.consumers_done = true;
  for (auto& t : cthreads) t.join();
  for (auto& c : producers) c->close();
  for (auto& c : consumers) c->close();
  stop_engine(eng, o.keep);

  // Account for every job.
  auto issued = std::min(st.next_id.load(), st.max_jobs);
  uint64_t lost = 0, unreceipted = 0;
  if (!cs.sync)
    for (uint64_t n = 0; n < issued; ++n) {
      auto s = st.started[n].load();
      if (st.receipted[n] && s == 0) ++lost;
      if (!st.receipted[n] && s != 0) ++unreceipted;
    }
  std::vector<uint32_t> lat;
  for (auto& v : cs.sync ? pstats : cstats)
    lat.insert(lat.end(), v.latency_us.begin(), v.latency_us.end());
  auto secs = [&](int64_t ns) {
    return ns > st.load_start_ns ? (ns - st.load_start_ns) / 1e9 : 0.0;
  };
  double t_rcpt = secs(st.last_receipt_ns), t_start = secs(st.last_start_ns);
  auto done = cs.sync ? st.receipts.load() : st.unique_starts.load();
  double engine_us = cpu0 >= 0 && cpu1 >= 0 && done > 0
                       ? static_cast<double>(cpu1 - cpu0) / done
                       : 0;
  double own_us = done > 0 ? static_cast<double>(own1 - own0) / done : 0;
  // How much of a core the engine had: on a machine shared with other work
  // a pinned engine may get less than all of its core.
  double engine_cores = cpu0 >= 0 && cpu1 >= 0 && wall_us > 0
                          ? static_cast<double>(cpu1 - cpu0) / wall_us
                          : 0;
  // And the generator's: well below one core means it was not the bound.
  double own_cores = wall_us > 0 ? static_cast<double>(own1 - own0) / wall_us
                                 : 0;
  if (cs.sync) {
    std::printf("%-20s %9llu calls  %9.0f calls/s  round trip p50 %.2f ms "
                "p99 %.2f ms  engine %.2f CPU us/call (%.2f cores)  loadgen "
                "%.2f us/call (%.2f cores)\n",
                cs.name.c_str(), static_cast<unsigned long long>(done),
                t_rcpt > 0 ? done / t_rcpt : 0.0, percentile(lat, 0.5),
                percentile(lat, 0.99), engine_us, engine_cores, own_us,
                own_cores);
  } else {
    std::printf("%-20s %9llu jobs  receipts %9.0f/s  completions %9.0f/s  "
                "enqueue->start p50 %.2f ms p99 %.2f ms  engine %.2f CPU "
                "us/job (%.2f cores)  loadgen %.2f us/job (%.2f cores)\n",
                cs.name.c_str(), static_cast<unsigned long long>(done),
                t_rcpt > 0 ? st.receipts / t_rcpt : 0.0,
                t_start > 0 ? done / t_start : 0.0, percentile(lat, 0.5),
                percentile(lat, 0.99), engine_us, engine_cores, own_us,
                own_cores);
  }
  std::fflush(stdout);
  bool ok = !st.abort && lost == 0 && unreceipted == 0 && st.duplicates == 0
            && st.order_violations == 0 && st.errors == 0 && st.unknown == 0
            && (!cs.sync || st.receipts == issued);
  if (!ok) {
    std::fprintf(
      stderr,
      "loadgen: %s FAILED: %llu issued, %llu answered, %llu lost, "
      "%llu duplicates, %llu started without a receipt, %llu FIFO "
      "order violations, %llu error answers, %llu unknown%s%s\n",
      cs.name.c_str(), static_cast<unsigned long long>(issued),
      static_cast<unsigned long long>(st.receipts.load()),
      static_cast<unsigned long long>(lost),
      static_cast<unsigned long long>(st.duplicates.load()),
      static_cast<unsigned long long>(unreceipted),
      static_cast<unsigned long long>(st.order_violations.load()),
      static_cast<unsigned long long>(st.errors.load()),
      static_cast<unsigned long long>(st.unknown.load()),
      st.first_error.empty() ? "" : "; first error: ", st.first_error.c_str());
  }
  return ok;
}

} // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse_options(argc, argv, o)) return 2;
  if (access(o.troupe.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "loadgen: %s is not an executable (--troupe PATH)\n",
                 o.troupe.c_str());
    return 2;
  }
  if (o.engine_cpu >= 0) {
    // The generator on every core but the engine's.
    cpu_set_t set;
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof(set), &set);
    if (!CPU_ISSET(o.engine_cpu, &set)) {
      std::fprintf(stderr, "loadgen: core %d is not available here\n",
                   o.engine_cpu);
      return 2;
    }
    CPU_CLR(o.engine_cpu, &set);
    if (CPU_COUNT(&set) == 0)
      std::fprintf(stderr,
                   "loadgen: only core %d is available: the "
                   "generator shares it with the engine\n",
                   o.engine_cpu);
    else
      sched_setaffinity(0, sizeof(set), &set);
  }
  if (o.cases.empty())
    for (auto& c : all_cases) o.cases.push_back(c.name);
  std::printf("loadgen: %d producers x %d in flight, %d consumers, queue "
              "concurrency %d, backlog %llu, %zu-byte jobs, %s, engine %s\n",
              o.producers, o.window, o.consumers, o.concurrency,
              static_cast<unsigned long long>(o.backlog), o.payload_bytes,
              o.jobs > 0 ? (std::to_string(o.jobs) + " per case").c_str()
                         : (std::to_string(o.seconds) + " s per case").c_str(),
              o.engine_cpu >= 0
                ? ("on core " + std::to_string(o.engine_cpu)).c_str()
                : "not pinned");
  bool ok = true;
  for (auto& name : o.cases)
    for (auto& c : all_cases)
      if (c.name == name) ok = run_case(o, c) && ok;
  return ok ? 0 : 1;
}
