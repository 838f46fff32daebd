// A CAF application with troupe inside: a small shop that runs its order
// pipeline on troupe's named queues, with C++ functions, and lets Node
// workers (iii-sdk) join in over WebSocket.
//
//   embedded_shop [--port N]     (N = 0 lets the OS pick; default 49134)
//
// 1. starts an engine with a FIFO queue `orders` (grouped by orderId) and a
//    standard queue `emails`;
// 2. serves C++ functions: shop::charge (fails once on purpose, to show a
//    retry keeping the order of its group), shop::send-email, shop::quote,
//    and shop::checkout, which answers later, after calling shop::quote
//    through the engine;
// 3. enqueues jobs to them from C++ and waits until all are done;
// 4. opens the worker listener, waits for a Node worker to serve
//    node::greet and calls it; the worker calls shop::checkout.
// Exits 0 when all of that happened, 1 otherwise (with the reason).

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>
#include <troupe/engine.hpp>

using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

/// What the shop's functions saw, shared with main's thread.
struct ledger {
  std::mutex mtx;
  std::condition_variable changed;
  std::map<std::string, std::vector<int>> charged; // orderId -> steps
  bool failed_once = false;
  int emails = 0;
  bool checkout_by_worker = false;

  template <class Pred>
  bool wait_for(std::chrono::milliseconds timeout, Pred pred) {
    std::unique_lock<std::mutex> guard{mtx};
    return changed.wait_for(guard, timeout, pred);
  }
};

troupe::queue_config fifo_queue(std::string name, std::string field) {
  troupe::queue_config q;
  q.name = std::move(name);
  q.type = troupe::queue_type::fifo;
  q.message_group_field = std::move(field);
  q.concurrency = 2;
  q.max_retries = 3;
  q.backoff_ms = 100;
  return q;
}

troupe::queue_config standard_queue(std::string name) {
  troupe::queue_config q;
  q.name = std::move(name);
  q.concurrency = 4;
  return q;
}

int fail(const std::string& why) {
  std::cerr << "embedded_shop: " << why << std::endl;
  return EXIT_FAILURE;
}

void add_functions(troupe::engine& eng, ledger& book) {
  // Charges one step of an order. Step 2 of order o-2 fails on its first
  // attempt: the queue retries it after 100 ms, and o-2's step 3 waits.
  eng.add_function("shop::charge", [&book](const troupe::invoke& call) {
    auto in = json::parse(call.data);
    auto order = in.at("orderId").get<std::string>();
    auto step = in.at("step").get<int>();
    std::lock_guard<std::mutex> guard{book.mtx};
    if (order == "o-2" && step == 2 && !book.failed_once) {
      book.failed_once = true;
      throw std::runtime_error("card declined (once)");
    }
    book.charged[order].push_back(step);
    book.changed.notify_all();
    return troupe::invoke_result::value(json{{"charged", order}}.dump());
  });
  eng.add_function(
    "shop::send-email",
    [&book](const troupe::invoke&) {
      std::this_thread::sleep_for(5ms); // talks to a mail server
      std::lock_guard<std::mutex> guard{book.mtx};
      ++book.emails;
      book.changed.notify_all();
      return troupe::invoke_result::value(R"({"sent":true})");
    },
    troupe::function_options{"sends one email", {}, true});
  eng.add_function("shop::quote", [](const troupe::invoke& call) {
    auto in = json::parse(call.data);
    auto sku = in.value("sku", std::string{"?"});
    return troupe::invoke_result::value(
      json{{"sku", sku}, {"price", 42}}.dump());
  });
  // Answers later: asks shop::quote through the engine first.
  auto registry = eng.registry();
  eng.add_async_function(
    "shop::checkout",
    [registry, &book](caf::event_based_actor* self, troupe::invoke& call)
      -> caf::result<troupe::invoke_result> {
      auto rp = self->make_response_promise<troupe::invoke_result>();
      self->request(registry, 5s, troupe::invoke{"shop::quote", call.data})
        .then(
          [rp, &book](troupe::invoke_result& quote) mutable {
            if (!quote.ok) {
              rp.deliver(quote);
              return;
            }
            {
              std::lock_guard<std::mutex> guard{book.mtx};
              book.checkout_by_worker = true;
              book.changed.notify_all();
            }
            rp.deliver(troupe::invoke_result::value(
              R"({"status":"paid","quote":)" + quote.body + "}"));
          },
          [rp](caf::error& err) mutable {
            rp.deliver(troupe::invoke_result::error("checkout_failed",
                                                    troupe::error_text(err)));
          });
      return rp;
    });
}

} // namespace

int main(int argc, char** argv) {
  uint16_t port = 49134;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--port" && i + 1 < argc)
      port = static_cast<uint16_t>(std::stoi(argv[++i]));
    else
      return fail("usage: embedded_shop [--port N]");
  }
  caf::actor_system_config sys_cfg;
  troupe::engine::configure(sys_cfg);
  caf::actor_system sys{sys_cfg};

  auto cfg = troupe::default_engine_config();
  cfg.worker_manager.port = port;
  cfg.http.enabled = false;
  cfg.queue.queues.push_back(fifo_queue("orders", "orderId"));
  cfg.queue.queues.push_back(standard_queue("emails"));
  auto started = troupe::engine::start(sys, cfg);
  if (!started) return fail(troupe::error_text(started.error()));
  auto& eng = **started;
  ledger book;
  add_functions(eng, book);

  // Jobs from C++: three orders of three steps, interleaved, and emails.
  for (int step = 1; step <= 3; ++step)
    for (auto order : {"o-1", "o-2", "o-3"}) {
      auto receipt
        = eng.enqueue("orders", "shop::charge",
                      json{{"orderId", order}, {"step", step}}.dump());
      if (!receipt) return fail(troupe::error_text(receipt.error()));
    }
  for (int i = 0; i < 5; ++i)
    if (auto r
        = eng.enqueue("emails", "shop::send-email",
                      json{{"to", "customer" + std::to_string(i)}}.dump());
        !r)
      return fail(troupe::error_text(r.error()));
  // A rejection is the worker's enqueue_error text.
  auto rejected = eng.enqueue("orders", "shop::charge", R"({"step":1})");
  std::cout << "rejected: " << troupe::error_text(rejected.error()) << "\n";

  // Done when both queues report every job succeeded.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  auto done = [&](const char* queue, uint64_t n) {
    auto s = eng.stats(queue);
    return s && s->succeeded_total == n;
  };
  while (!(done("orders", 9) && done("emails", 5)))
    if (std::chrono::steady_clock::now() > deadline)
      return fail("the queued jobs did not all run within 10 s");
    else
      std::this_thread::sleep_for(10ms);
  for (auto& [order, steps] : book.charged) {
    std::cout << "charged " << order << ":";
    for (auto s : steps) std::cout << " " << s;
    std::cout << "\n";
  }
  auto orders = eng.stats("orders");
  std::cout << "orders: succeeded " << orders->succeeded_total
            << ", failed attempts " << orders->failed_attempts_total
            << ", dead " << orders->dlq << "\n";
  std::cout << "emails sent: " << book.emails << std::endl;

  // Node workers join in.
  auto bound = eng.listen_workers();
  if (!bound) return fail(troupe::error_text(bound.error()));
  std::cout << "listening for workers on ws://127.0.0.1:" << *bound
            << std::endl;
  troupe::invoke_result greeting;
  deadline = std::chrono::steady_clock::now() + 30s;
  do {
    greeting = eng.call("node::greet", R"({"name":"troupe"})", 2s);
    if (greeting.ok || greeting.error_code() != "function_not_found") break;
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < deadline);
  if (!greeting.ok) return fail("node::greet failed: " + greeting.body);
  std::cout << "node::greet answered " << greeting.body << std::endl;
  if (!book.wait_for(30s, [&] { return book.checkout_by_worker; }))
    return fail("no worker called shop::checkout within 30 s");
  std::cout << "a Node worker called shop::checkout" << std::endl;
  eng.stop(2s);
  std::cout << "stopped" << std::endl;
  return EXIT_SUCCESS;
}
