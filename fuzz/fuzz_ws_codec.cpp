// libFuzzer target: the WebSocket decoder fed the bytes a client sends.
// Input: 3 bytes of settings (the message size limit, 0..65535, and the
// size of the pieces the bytes arrive in, 1..256), then the stream.
// Checked beyond "no crash":
// - the stream decoded whole and decoded in pieces (as the connection
//   reads it: leftover kept, more appended) means the same events and the
//   same error: how TCP cuts the bytes never changes their meaning;
// - events respect the limits: messages at most the limit, control
//   payloads at most 125 bytes, close reasons at most 123, nothing after a
//   close; errors are 1002 or 1009 with a reason; the size hint of an
//   unfinished frame exceeds the bytes held;
// - every message and close decoded re-encodes (append_frame,
//   append_close, masked as a client masks) and decodes back to itself.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.hpp"
#include "protocol/ws_codec.hpp"

namespace {

namespace ws = troupe::protocol::ws;

struct outcome {
  std::vector<ws::event> events;
  ws::decode_error err;
};

bool same(const ws::event& a, const ws::event& b) {
  return a.kind == b.kind && a.payload == b.payload && a.code == b.code;
}

bool closed(const outcome& o) {
  return !o.events.empty() && o.events.back().kind == ws::event::close;
}

/// Feeds `stream` in pieces of `piece` bytes, as the connection does.
outcome decode_in_pieces(std::string_view stream, size_t piece, size_t max) {
  ws::decoder dec{max};
  outcome out;
  std::string held;
  for (size_t at = 0; at < stream.size() && out.err.code == 0 && !closed(out);
       at += piece) {
    held.append(stream.substr(at, piece));
    auto used = dec.decode(held.data(), held.size(), out.events, out.err);
    FUZZ_CHECK(used <= held.size(), "used more bytes than given");
    held.erase(0, used);
    if (out.err.code == 0 && !closed(out) && dec.frame_size_hint() != 0)
      FUZZ_CHECK(dec.frame_size_hint() > held.size(),
                 "hint not above the bytes already held");
  }
  return out;
}

/// A client's frame: the server's framing with a mask key added.
std::string masked(std::string server_frame, uint32_t seed) {
  // Header length from the server's unmasked frame.
  auto len7 = static_cast<unsigned char>(server_frame[1]) & 0x7F;
  size_t header = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;
  unsigned char key[4] = {static_cast<unsigned char>(seed),
                          static_cast<unsigned char>(seed >> 8),
                          static_cast<unsigned char>(seed >> 16),
                          static_cast<unsigned char>(seed >> 24)};
  std::string out = server_frame.substr(0, header);
  out[1] = static_cast<char>(out[1] | 0x80);
  out.append(reinterpret_cast<const char*>(key), 4);
  for (size_t i = header; i < server_frame.size(); ++i)
    out.push_back(static_cast<char>(server_frame[i] ^ key[(i - header) & 3]));
  return out;
}

/// The single event that `frame` (one whole client frame) decodes to.
ws::event decode_one(const std::string& frame, size_t max) {
  ws::decoder dec{max};
  std::vector<ws::event> events;
  ws::decode_error err;
  auto used = dec.decode(frame.data(), frame.size(), events, err);
  FUZZ_CHECK(err.code == 0, err.reason);
  FUZZ_CHECK(used == frame.size(), "a whole frame left bytes unused");
  FUZZ_CHECK(events.size() == 1, "one frame, not one event");
  return events.front();
}

void check_events(const outcome& o, size_t max, uint32_t seed) {
  for (size_t i = 0; i < o.events.size(); ++i) {
    auto& ev = o.events[i];
    switch (ev.kind) {
      case ws::event::message: {
        FUZZ_CHECK(ev.payload.size() <= max, "message over the limit");
        std::string frame;
        ws::append_frame(frame, ws::opcode::binary, ev.payload);
        auto back = decode_one(masked(frame, seed), max);
        FUZZ_CHECK(same(back, ev), "message did not survive a round trip");
        break;
      }
      case ws::event::ping:
      case ws::event::pong:
        FUZZ_CHECK(ev.payload.size() <= 125, "control payload over 125");
        break;
      case ws::event::close: {
        FUZZ_CHECK(i + 1 == o.events.size(), "an event after the close");
        FUZZ_CHECK(ev.payload.size() <= ws::max_close_reason,
                   "close reason over 123 bytes");
        std::string frame;
        ws::append_close(frame, ev.code, ev.payload);
        auto back = decode_one(masked(frame, seed), max);
        FUZZ_CHECK(same(back, ev), "close did not survive a round trip");
        break;
      }
    }
  }
  if (o.err.code != 0) {
    FUZZ_CHECK(o.err.code == ws::close_code::protocol_error
                 || o.err.code == ws::close_code::too_big,
               std::to_string(o.err.code));
    FUZZ_CHECK(!o.err.reason.empty(), "an error without a reason");
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 3) return 0;
  size_t max = data[0] | (size_t{data[1]} << 8);
  size_t piece = size_t{data[2]} + 1;
  std::string_view stream{reinterpret_cast<const char*>(data) + 3, size - 3};
  uint32_t seed = 0x9E3779B9u * static_cast<uint32_t>(size);

  auto whole = decode_in_pieces(stream, stream.size() + 1, max);
  auto pieces = decode_in_pieces(stream, piece, max);
  FUZZ_CHECK(whole.events.size() == pieces.events.size(),
             "pieces changed the number of events");
  for (size_t i = 0; i < whole.events.size(); ++i)
    FUZZ_CHECK(same(whole.events[i], pieces.events[i]),
               "pieces changed event " + std::to_string(i));
  FUZZ_CHECK(whole.err.code == pieces.err.code
               && whole.err.reason == pieces.err.reason,
             whole.err.reason + " / " + pieces.err.reason);
  check_events(whole, max, seed);
  return 0;
}
