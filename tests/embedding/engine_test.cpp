// The embedding API (troupe/engine.hpp) as an application uses it: only
// public headers, a real actor system, blocking calls from the test's
// thread. Each test starts its own engine.

#include "troupe/engine.hpp"

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include <arpa/inet.h>
#include <caf/all.hpp>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace std::chrono_literals;

namespace {

struct engine_test : ::testing::Test {
  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    troupe::engine::configure(cfg);
    cfg.set("scheduler.max-threads", 2);
    return cfg;
  }

  caf::actor_system_config sys_cfg;
  caf::actor_system sys{init(sys_cfg)};
  std::unique_ptr<troupe::engine> eng;

  static troupe::engine_config config() {
    auto cfg = troupe::default_engine_config();
    cfg.http.enabled = false;
    troupe::queue_config fifo;
    fifo.name = "fifo";
    fifo.type = troupe::queue_type::fifo;
    fifo.message_group_field = "g";
    fifo.max_retries = 1;
    cfg.queue.queues.push_back(fifo);
    cfg.queue.max_payload_bytes = 64;
    return cfg;
  }

  void start(troupe::engine_config cfg = config()) {
    auto started = troupe::engine::start(sys, std::move(cfg));
    ASSERT_TRUE(started) << troupe::error_text(started.error());
    eng = std::move(*started);
  }

  ~engine_test() override {
    if (eng) eng->stop(1s);
  }

  /// Waits until queue `q` has counted `n` dead jobs.
  void wait_dead(const std::string& q, uint64_t n) {
    for (int i = 0; i < 500; ++i) {
      auto s = eng->stats(q);
      if (s && s->dlq == n) return;
      std::this_thread::sleep_for(10ms);
    }
    FAIL() << "queue " << q << " never held " << n << " dead jobs";
  }
};

/// One HTTP/1.1 request to 127.0.0.1:`port` with Connection: close; the
/// whole answer (status line, headers, body), or "" when it cannot connect.
std::string http_get(uint16_t port, const std::string& path,
                     const std::string& extra_headers = {}) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    auto req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               + extra_headers + "Connection: close\r\n\r\n";
    if (::send(fd, req.data(), req.size(), 0)
        == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0)
        out.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return out;
}

troupe::invoke_result echo(const troupe::invoke& x) {
  return troupe::invoke_result::value(
    R"({"data":)" + x.data + R"(,"meta":)"
    + (x.metadata.empty() ? "null" : x.metadata) + "}");
}

TEST_F(engine_test, a_cpp_function_answers_calls_with_payload_and_metadata) {
  start();
  ASSERT_FALSE(eng->add_function("shop::echo", echo));
  auto r = eng->call("shop::echo", R"({"a":1})", 5s, R"({"via":"c++"})");
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.body, R"({"data":{"a":1},"meta":{"via":"c++"}})");
}

TEST_F(engine_test,
       an_exception_becomes_invocation_failed_and_the_function_stays) {
  start();
  std::atomic<int> calls{0};
  eng->add_function("shop::flaky", [&](const troupe::invoke&) {
    if (++calls == 1) throw std::runtime_error("card declined");
    return troupe::invoke_result::value("true");
  });
  auto r = eng->call("shop::flaky");
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error_code(), "invocation_failed");
  EXPECT_EQ(r.error_message(), "card declined");
  EXPECT_TRUE(eng->call("shop::flaky").ok);
}

TEST_F(engine_test, an_async_function_answers_through_a_promise) {
  start();
  eng->add_function("shop::price", [](const troupe::invoke&) {
    return troupe::invoke_result::value("42");
  });
  auto registry = eng->registry();
  eng->add_async_function(
    "shop::total",
    [registry](caf::event_based_actor* self,
               troupe::invoke&) -> caf::result<troupe::invoke_result> {
      auto rp = self->make_response_promise<troupe::invoke_result>();
      self->request(registry, 5s, troupe::invoke{"shop::price"})
        .then([rp](troupe::invoke_result& r) mutable {
          rp.deliver(
            troupe::invoke_result::value(R"({"total":)" + r.body + "}"));
        });
      return rp;
    });
  auto r = eng->call("shop::total");
  EXPECT_TRUE(r.ok);
  EXPECT_EQ(r.body, R"({"total":42})");
}

troupe::function_handle::behavior_type multiplier(int factor) {
  return {
    [factor](const troupe::invoke& x) {
      auto n = std::stoi(x.data);
      return troupe::invoke_result::value(std::to_string(factor * n));
    },
  };
}

TEST_F(engine_test, an_application_actor_serves_a_function) {
  start();
  auto handler = sys.spawn(multiplier, 2);
  ASSERT_FALSE(eng->add_function("math::double", handler));
  auto r = eng->call("math::double", "21");
  EXPECT_EQ(r.body, "42");
  // The function goes away with its actor. A call that reaches the actor as
  // it exits, before the registry saw it go, fails with invocation_stopped.
  caf::anon_send_exit(handler, caf::exit_reason::user_shutdown);
  for (int i = 0; i < 200 && r.error_code() != "function_not_found"; ++i) {
    if (!r.ok) {
      EXPECT_EQ(r.error_code(), "invocation_stopped");
    }
    std::this_thread::sleep_for(5ms);
    r = eng->call("math::double", "1");
  }
  EXPECT_EQ(r.error_code(), "function_not_found");
}

TEST_F(engine_test, removed_and_unknown_functions_are_not_found) {
  start();
  eng->add_function("shop::echo", echo);
  eng->remove_function("shop::echo");
  auto r = eng->call("shop::echo");
  EXPECT_EQ(r.error_code(), "function_not_found");
  EXPECT_EQ(r.error_message(), "Function shop::echo not found");
  eng->remove_function("never::there"); // ignored
}

TEST_F(engine_test, a_cpp_function_replaces_the_engines_earlier_one) {
  start();
  eng->add_function("f", [](const troupe::invoke&) {
    return troupe::invoke_result::value("1");
  });
  eng->add_function("f", [](const troupe::invoke&) {
    return troupe::invoke_result::value("2");
  });
  // The first handler is gone, not a second provider beside the new one.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(eng->call("f").body, "2");
}

TEST_F(engine_test, engine_ids_are_reserved) {
  start();
  auto err = eng->add_function("engine::queue::stats", echo);
  ASSERT_TRUE(err);
  EXPECT_EQ(err, troupe::errc::bad_config);
  EXPECT_NE(troupe::error_text(err).find("reserved"), std::string::npos);
  EXPECT_TRUE(eng->add_function("iii::queue::redrive", echo));
  EXPECT_TRUE(eng->add_function("", echo));
  // The engine's own function still answers.
  auto r = eng->call("engine::queue::stats", R"({"queue":"default"})");
  EXPECT_TRUE(r.ok) << r.body;
}

TEST_F(engine_test, a_call_that_takes_too_long_times_out) {
  start();
  eng->add_function(
    "slow",
    [](const troupe::invoke&) {
      std::this_thread::sleep_for(300ms);
      return troupe::invoke_result::value("null");
    },
    troupe::function_options{{}, {}, true});
  auto r = eng->call("slow", "null", 50ms);
  EXPECT_EQ(r.error_code(), "timeout");
}

TEST_F(engine_test, a_void_call_reaches_its_function) {
  start();
  std::atomic<int> calls{0};
  eng->add_function("count", [&](const troupe::invoke&) {
    ++calls;
    return troupe::invoke_result::value("null");
  });
  eng->call_void("count", "null");
  for (int i = 0; i < 200 && calls == 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(calls, 1);
}

TEST_F(engine_test, enqueued_jobs_run_and_are_counted) {
  start();
  std::atomic<int> calls{0};
  eng->add_function("job", [&](const troupe::invoke&) {
    ++calls;
    return troupe::invoke_result::value("null");
  });
  auto receipt = eng->enqueue("default", "job", R"({"n":1})");
  ASSERT_TRUE(receipt);
  EXPECT_EQ(receipt->size(), 36u); // a UUID
  for (int i = 0; i < 200 && calls == 0; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(calls, 1);
  auto s = eng->stats("default");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->enqueued_total, 1u);
  auto all = eng->stats();
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].queue, "default");
  EXPECT_EQ((*all)[1].queue, "fifo");
}

TEST_F(engine_test, enqueue_rejections_carry_the_workers_texts) {
  start();
  auto unknown = eng->enqueue("nope", "job", "{}");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error(), troupe::errc::enqueue_rejected);
  EXPECT_EQ(troupe::error_text(unknown.error()), "Queue 'nope' not found");
  auto missing = eng->enqueue("fifo", "job", R"({"x":1})");
  ASSERT_FALSE(missing);
  EXPECT_EQ(troupe::error_text(missing.error()),
            "FIFO queue 'fifo' requires field 'g' in data, but it was not "
            "found");
  auto big = eng->enqueue("default", "job", std::string(100, ' ') + "{}");
  ASSERT_FALSE(big);
  EXPECT_NE(troupe::error_text(big.error()).find("exceeds the limit of 64"),
            std::string::npos);
}

TEST_F(engine_test, dead_letters_are_listed_redriven_and_discarded) {
  start();
  std::atomic<bool> heal{false};
  eng->add_function("job", [&](const troupe::invoke&) {
    if (!heal) return troupe::invoke_result::error("broken", "not yet");
    return troupe::invoke_result::value("null");
  });
  auto a = eng->enqueue("fifo", "job", R"({"g":"a"})");
  ASSERT_TRUE(a);
  wait_dead("fifo", 1); // so that b is the newest dead job
  auto b = eng->enqueue("fifo", "job", R"({"g":"b"})");
  ASSERT_TRUE(b);
  wait_dead("fifo", 2);
  auto dead = eng->dead_letters("fifo");
  ASSERT_TRUE(dead);
  ASSERT_EQ(dead->size(), 2u);
  EXPECT_EQ((*dead)[0].id, *b); // newest first
  EXPECT_EQ((*dead)[0].last_error, R"({"code":"broken","message":"not yet"})");
  EXPECT_EQ(*eng->discard("fifo", *b), 1u);
  EXPECT_EQ(*eng->discard("fifo", *b), 0u);
  heal = true;
  EXPECT_EQ(*eng->redrive("fifo", *a), 1u);
  wait_dead("fifo", 0);
  EXPECT_EQ(*eng->redrive("fifo"), 0u);
  auto unknown = eng->dead_letters("nope");
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error(), troupe::errc::unknown_queue);
}

TEST_F(engine_test, queue_handles_and_names) {
  start();
  EXPECT_TRUE(eng->queue("fifo"));
  EXPECT_FALSE(eng->queue("nope"));
  EXPECT_EQ(eng->queue_names(), (std::vector<std::string>{"default", "fifo"}));
  caf::scoped_actor self{sys};
  troupe::queue_stats got;
  self->request(eng->queue("default"), 5s, troupe::atom::stats_v)
    .receive([&](troupe::queue_stats& s) { got = s; },
             [](caf::error& err) { FAIL() << caf::to_string(err); });
  EXPECT_EQ(got.queue, "default");
}

TEST_F(engine_test, a_stopped_engine_takes_no_functions) {
  start();
  eng->stop(1s);
  eng->stop(1s); // idempotent
  auto err = eng->add_function("late", echo);
  EXPECT_EQ(err, troupe::errc::shutting_down);
}

TEST_F(engine_test, a_file_based_job_survives_a_restart) {
  auto dir = std::filesystem::temp_directory_path()
             / ("troupe-engine-test-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  auto cfg = config();
  cfg.queue.store = troupe::store_method::file_based;
  cfg.queue.file_path = dir.string();
  start(cfg);
  auto receipt = eng->enqueue("default", "later", R"({"n":7})");
  ASSERT_TRUE(receipt);
  eng->stop(1s);
  eng.reset();
  start(cfg);
  std::string seen;
  std::atomic<bool> ran{false};
  eng->add_function("later", [&](const troupe::invoke& x) {
    seen = x.data;
    ran = true;
    return troupe::invoke_result::value("null");
  });
  for (int i = 0; i < 400 && !ran; ++i) std::this_thread::sleep_for(5ms);
  EXPECT_TRUE(ran);
  EXPECT_EQ(seen, R"({"n":7})");
  eng->stop(1s);
  eng.reset();
  std::filesystem::remove_all(dir);
}

} // namespace

TEST_F(engine_test, queue_operations_find_list_pause_and_retry) {
  start();
  ASSERT_EQ(eng->pause("default"), true);
  auto id = eng->enqueue("default", "nobody::serves", R"({"n":1})");
  ASSERT_TRUE(id) << troupe::error_text(id.error());
  auto x = eng->find_job(*id);
  ASSERT_TRUE(x) << troupe::error_text(x.error());
  EXPECT_EQ(x->state, troupe::job_status::waiting);
  EXPECT_EQ(x->job.queue, "default");
  EXPECT_EQ(x->job.payload, R"({"n":1})");
  auto page = eng->jobs("default", troupe::job_status::waiting, 0, 100000);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->total, 1u);
  EXPECT_EQ(page->limit, 500u);
  EXPECT_TRUE(eng->stats("default")->paused);
  EXPECT_EQ(eng->retry_now("default", *id), 0u);
  auto g = eng->groups("default");
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error(), troupe::errc::invalid_argument);
  auto none = eng->find_job("nope");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error(), troupe::errc::job_not_found);
  EXPECT_EQ(eng->groups("fifo")->total, 0u);
  EXPECT_EQ(eng->resume("default"), false);
  EXPECT_FALSE(eng->stats("default")->paused);
}

TEST_F(engine_test, open_recover_and_the_admin_listener_report_readiness) {
  auto cfg = config();
  cfg.worker_manager.port = 0;
  cfg.admin.enabled = true;
  cfg.admin.port = 0;
  cfg.admin.token = "t0ken";
  auto opened = troupe::engine::open(sys, cfg);
  ASSERT_TRUE(opened) << troupe::error_text(opened.error());
  eng = std::move(*opened);
  EXPECT_EQ(eng->status().phase, troupe::engine_phase::starting);
  auto port = eng->listen_admin();
  ASSERT_TRUE(port) << troupe::error_text(port.error());
  EXPECT_FALSE(eng->listen_admin()) << "open already";
  auto starting = http_get(*port, "/readyz");
  EXPECT_EQ(starting.rfind("HTTP/1.1 503", 0), 0u) << starting;
  EXPECT_NE(starting.find(R"({"status":"starting"})"), std::string::npos);
  EXPECT_NE(http_get(*port, "/healthz").find("\r\n\r\nok"), std::string::npos);
  ASSERT_FALSE(eng->recover());
  EXPECT_TRUE(eng->recover()) << "recovered already";
  EXPECT_EQ(eng->status().phase, troupe::engine_phase::starting)
    << "not ready before the worker listener is open";
  ASSERT_TRUE(eng->listen_workers());
  EXPECT_EQ(eng->status().phase, troupe::engine_phase::ready);
  auto ready = http_get(*port, "/readyz");
  EXPECT_EQ(ready.rfind("HTTP/1.1 200", 0), 0u) << ready;
  auto denied = http_get(*port, "/api/queues");
  EXPECT_EQ(denied.rfind("HTTP/1.1 401", 0), 0u) << denied;
  auto queues = http_get(*port, "/api/queues",
                         "Authorization: Bearer t0ken\r\n");
  EXPECT_EQ(queues.rfind("HTTP/1.1 200", 0), 0u) << queues;
  EXPECT_NE(queues.find(R"("name":"fifo")"), std::string::npos) << queues;
  eng->stop(1s);
  EXPECT_EQ(eng->status().phase, troupe::engine_phase::stopping);
  EXPECT_EQ(http_get(*port, "/healthz"), "") << "closed by stop()";
}

namespace {

/// Sends a WebSocket upgrade to 127.0.0.1:`port` with `extra` header lines
/// and returns the HTTP status line of the answer ("" on failure).
std::string upgrade_status(uint16_t port, const std::string& extra) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string status;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    auto req = "GET /?team=blue HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n"
               + extra + "\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL)
        == static_cast<ssize_t>(req.size())) {
      char buf[512];
      auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        std::string text(buf, static_cast<size_t>(n));
        status = text.substr(0, text.find("\r\n"));
      }
    }
  }
  ::close(fd);
  return status;
}

} // namespace

TEST_F(engine_test, a_cpp_auth_function_admits_or_refuses_worker_upgrades) {
  auto cfg = config();
  cfg.worker_manager.port = 0;
  cfg.worker_manager.auth.rbac = true;
  cfg.worker_manager.auth.auth_function_id = "app::auth";
  cfg.worker_manager.auth.expose_functions = {"api::*"};
  start(cfg);
  std::atomic<int> calls{0};
  std::string seen;
  std::mutex mtx;
  ASSERT_FALSE(eng->add_function("app::auth", [&](const troupe::invoke& x) {
    ++calls;
    std::lock_guard<std::mutex> guard{mtx};
    seen = x.data;
    if (x.data.find(R"("x-key":"let-me-in")") != std::string::npos)
      return troupe::invoke_result::value("{}");
    return troupe::invoke_result::error("AUTH_ERROR", "unknown key");
  }));
  auto port = eng->listen_workers();
  ASSERT_TRUE(port) << troupe::error_text(port.error());
  EXPECT_EQ(upgrade_status(*port, "x-key: let-me-in\r\n"),
            "HTTP/1.1 101 Switching Protocols");
  {
    std::lock_guard<std::mutex> guard{mtx};
    EXPECT_NE(seen.find(R"("query_params":{"team":["blue"]})"),
              std::string::npos)
      << seen;
    EXPECT_NE(seen.find(R"("ip_address":"127.0.0.1")"), std::string::npos);
  }
  EXPECT_EQ(upgrade_status(*port, "x-key: wrong\r\n"),
            "HTTP/1.1 403 Forbidden");
  EXPECT_EQ(calls.load(), 2);
  // Without its function the check fails closed.
  eng->remove_function("app::auth");
  EXPECT_EQ(upgrade_status(*port, "x-key: let-me-in\r\n"),
            "HTTP/1.1 503 Service Unavailable");
}
