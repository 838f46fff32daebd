// WebSocket framing (RFC 6455 §5) for the server side of worker connections,
// after the HTTP upgrade: decoding the client's masked frames and encoding
// the server's unmasked ones. Pure functions over bytes, no I/O, so the
// connection code can read and write many frames per system call: Beast's
// websocket stream writes one message per operation, which cost the engine
// one send and one thread hand-off per frame. The client side (masked frames
// out, unmasked frames in) serves the load generator in bench/, which needs
// the same: many frames per system call.
//
// No extension is ever negotiated (no permessage-deflate), so RSV bits must
// be zero.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace troupe::protocol::ws {

enum class opcode : uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA,
};

/// Close codes used by the engine (RFC 6455 §7.4.1).
namespace close_code {
constexpr uint16_t normal = 1000;
constexpr uint16_t going_away = 1001;
constexpr uint16_t protocol_error = 1002;
constexpr uint16_t no_status = 1005;
constexpr uint16_t policy_error = 1008;
constexpr uint16_t too_big = 1009;
constexpr uint16_t try_again_later = 1013;
} // namespace close_code

/// Largest reason that fits a close frame (125 bytes minus the code).
constexpr size_t max_close_reason = 123;

/// Appends one whole, unmasked frame with FIN set.
void append_frame(std::string& out, opcode op, std::string_view payload);

/// Appends one whole frame with FIN set, masked with `key` as a client must
/// send it (RFC 6455 §5.3).
void append_masked_frame(std::string& out, opcode op, std::string_view payload,
                         uint32_t key);

/// Appends a close frame; `reason` is cut to max_close_reason bytes.
/// no_status appends a close frame without a body.
void append_close(std::string& out, uint16_t code, std::string_view reason);

/// What the client sent, frame by frame (data messages reassembled).
struct event {
  enum kind_t { message, ping, pong, close } kind;
  /// The whole message, a ping's or pong's payload, or the close reason.
  std::string payload;
  /// For close: the client's code, or no_status if it sent none.
  uint16_t code = 0;
};

/// A violation of the protocol or of the size limit: the connection must be
/// closed with `code` and `reason`.
struct decode_error {
  uint16_t code = 0;
  std::string reason;
};

/// Which side's frames a decoder reads: a server's must not be masked, a
/// client's must be.
enum class peer { client, server };

/// Decodes the client-to-server byte stream (or, made with peer::server, the
/// server-to-client one). Keeps the fragments of an unfinished message
/// between calls.
class decoder {
public:
  explicit decoder(size_t max_message_bytes, peer from = peer::client)
      : max_(max_message_bytes), masked_(from == peer::client) {
    // nop
  }

  /// Decodes every whole frame at the front of [data, data + size), appends
  /// what they mean to `out`, and returns the number of bytes used (the rest
  /// is an incomplete frame: call again with it and more bytes). Sets `err`
  /// and stops at the first violation.
  size_t decode(const char* data, size_t size, std::vector<event>& out,
                decode_error& err);

  /// Bytes the incomplete frame at the front of the last call's leftover
  /// needs in all (header and payload), or 0 when that is not known yet.
  size_t frame_size_hint() const { return hint_; }

  /// True while a fragmented message has begun and not ended.
  bool in_message() const { return in_message_; }

  /// Bytes held for the fragments of an unfinished message.
  size_t buffered() const { return partial_.capacity(); }

  /// Forgets everything: an unfinished message and the hint.
  void reset() {
    hint_ = 0;
    in_message_ = false;
    partial_.clear();
    partial_.shrink_to_fit();
  }

private:
  size_t max_;
  bool masked_;
  size_t hint_ = 0;
  bool in_message_ = false;
  std::string partial_;
};

} // namespace troupe::protocol::ws
