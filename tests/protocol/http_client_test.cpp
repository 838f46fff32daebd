// The outbound HTTP client against troupe's own HTTP server on 127.0.0.1.
#include "protocol/http_client.hpp"

#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "protocol/http_server.hpp"

using namespace troupe::protocol;
using namespace std::chrono_literals;

namespace {

struct http_client_test : testing::Test {
  std::mutex mx;
  std::vector<http_request> seen;
  std::vector<std::shared_ptr<http_responder>> held;
  std::unique_ptr<http_server> server;
  uint16_t port = 0;

  void SetUp() override {
    http_server_options opts;
    opts.port = 0;
    server = std::make_unique<http_server>(
      opts, [this](http_request req, std::shared_ptr<http_responder> r) {
        std::lock_guard<std::mutex> guard{mx};
        auto path = req.path;
        seen.push_back(std::move(req));
        if (path == "/hold") {
          held.push_back(std::move(r));
          return;
        }
        http_response res;
        res.status = path == "/fail" ? 502 : 200;
        res.headers.emplace_back("Content-Type", "application/json");
        res.body = path == "/big" ? std::string(5000, ' ') + "1"
                                  : R"({"echo":)" + seen.back().body + "}";
        r->respond(std::move(res));
      });
    port = *server->start();
  }

  void TearDown() override {
    {
      // The server's I/O thread may still be adding to it.
      std::lock_guard<std::mutex> guard{mx};
      held.clear();
    }
    if (server) server->stop();
  }

  outbound_response send(http_client& c, const std::string& path,
                         std::chrono::milliseconds timeout = 2000ms,
                         uint16_t to_port = 0) {
    outbound_request req;
    req.method = "PUT";
    req.url = *parse_http_url(
      "http://127.0.0.1:" + std::to_string(to_port ? to_port : port) + path);
    req.headers.emplace_back("Content-Type", "application/json");
    req.headers.emplace_back("x-custom", "v");
    req.body = R"({"a":1})";
    req.timeout = timeout;
    std::promise<outbound_response> p;
    auto f = p.get_future();
    c.send(std::move(req),
           [&p](outbound_response res) { p.set_value(std::move(res)); });
    EXPECT_EQ(f.wait_for(5s), std::future_status::ready);
    return f.get();
  }
};

http_client_options open_options() {
  http_client_options o;
  o.block_private_ips = false;
  o.max_response_bytes = 1024;
  return o;
}

} // namespace

TEST_F(http_client_test, sends_method_headers_and_body_and_reads_the_answer) {
  auto c = make_http_client(open_options());
  auto res = send(*c, "/echo?x=1");
  EXPECT_EQ(res.failure, outbound_failure::none) << res.detail;
  EXPECT_EQ(res.status, 200u);
  EXPECT_EQ(res.body, R"({"echo":{"a":1}})");
  std::lock_guard<std::mutex> guard{mx};
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "PUT");
  EXPECT_EQ(seen[0].path, "/echo");
  EXPECT_EQ(seen[0].query, "x=1");
  bool custom = false;
  for (auto& h : seen[0].headers)
    custom |= h.first == "x-custom" && h.second == "v";
  EXPECT_TRUE(custom);
}

TEST_F(http_client_test, a_non_2xx_status_is_an_answer) {
  auto c = make_http_client(open_options());
  auto res = send(*c, "/fail");
  EXPECT_EQ(res.failure, outbound_failure::none);
  EXPECT_EQ(res.status, 502u);
}

TEST_F(http_client_test, an_oversized_body_is_cut_off) {
  auto c = make_http_client(open_options());
  auto res = send(*c, "/big");
  EXPECT_EQ(res.failure, outbound_failure::too_large)
    << res.status << " " << res.body.size();
}

TEST_F(http_client_test, a_silent_endpoint_times_out) {
  auto c = make_http_client(open_options());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(send(*c, "/hold", 100ms).failure, outbound_failure::timeout);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST_F(http_client_test, a_closed_port_is_a_connect_failure) {
  auto c = make_http_client(open_options());
  auto closed = port;
  server.reset();
  auto res = send(*c, "/x", 2000ms, closed);
  EXPECT_EQ(res.failure, outbound_failure::connect) << res.detail;
  EXPECT_NE(res.detail.find("refused"), std::string::npos) << res.detail;
}

TEST_F(http_client_test, a_private_address_is_blocked_when_asked) {
  auto o = open_options();
  o.block_private_ips = true;
  auto c = make_http_client(o);
  EXPECT_EQ(send(*c, "/echo").failure, outbound_failure::blocked);
}
