// A ws_peer with no socket, for driving a session actor in tests: it
// records what the session queues, writes (flushes) and closes. Not
// thread-safe; the test coordinator runs every actor on the test's thread.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "protocol/ws_server.hpp"

namespace troupe::testing {

class fake_peer : public protocol::ws_peer {
public:
  explicit fake_peer(uint64_t id, std::string remote = "127.0.0.1:40000")
      : id_(id), remote_(std::move(remote)) {}

  /// Frames queued since the last flush.
  std::vector<std::string> queued;
  /// Every frame flushed so far, in order: what the worker would have read.
  std::vector<std::string> written;
  size_t flushes = 0;
  /// Each close() call: code and reason.
  std::vector<std::pair<uint16_t, std::string>> closes;

  void queue(std::string text) override { queued.push_back(std::move(text)); }

  void flush() override {
    ++flushes;
    for (auto& x : queued) written.push_back(std::move(x));
    queued.clear();
  }

  void close(uint16_t code, std::string reason) override {
    closes.emplace_back(code, std::move(reason));
  }

  const std::string& remote() const override { return remote_; }

  uint64_t id() const override { return id_; }

private:
  uint64_t id_;
  std::string remote_;
};

} // namespace troupe::testing
