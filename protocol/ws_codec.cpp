#include "protocol/ws_codec.hpp"

namespace troupe::protocol::ws {

namespace {

uint64_t read_be(const unsigned char* p, size_t n) {
  uint64_t x = 0;
  for (size_t i = 0; i < n; ++i) x = (x << 8) | p[i];
  return x;
}

void append_be(std::string& out, uint64_t x, size_t n) {
  for (size_t i = n; i-- > 0;) out.push_back(static_cast<char>(x >> (8 * i)));
}

/// Appends `n` payload bytes at `src`, unmasked with `key` (or as they are
/// when `key` is null: a server's frames are not masked).
void append_unmasked(std::string& out, const unsigned char* src, size_t n,
                     const unsigned char* key) {
  if (key == nullptr) {
    out.append(reinterpret_cast<const char*>(src), n);
    return;
  }
  auto first = out.size();
  out.resize(first + n);
  auto* dst = out.data() + first;
  for (size_t i = 0; i < n; ++i)
    dst[i] = static_cast<char>(src[i] ^ key[i & 3]);
}

/// Appends a frame header with FIN set, the mask bit as `mask_bit` (0x80 or
/// 0) and the shortest length form.
void append_header(std::string& out, opcode op, size_t n, uint8_t mask_bit) {
  out.push_back(static_cast<char>(0x80 | static_cast<uint8_t>(op)));
  if (n < 126) {
    out.push_back(static_cast<char>(mask_bit | n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(mask_bit | 126));
    append_be(out, n, 2);
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    append_be(out, n, 8);
  }
}

decode_error protocol_error(std::string what) {
  return {close_code::protocol_error, std::move(what)};
}

/// True for the codes a peer may put in a close frame (RFC 6455 §7.4): the
/// defined ones except those reserved for reporting (1005 no status, 1006
/// abnormal, 1015 TLS) and the registered 1012-1014, plus 3000-4999 for
/// libraries and applications.
bool sendable_close_code(uint16_t code) {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014)
         || (code >= 3000 && code <= 4999);
}

} // namespace

void append_frame(std::string& out, opcode op, std::string_view payload) {
  append_header(out, op, payload.size(), 0);
  out.append(payload);
}

void append_masked_frame(std::string& out, opcode op, std::string_view payload,
                         uint32_t key) {
  append_header(out, op, payload.size(), 0x80);
  unsigned char k[4];
  for (size_t i = 0; i < 4; ++i)
    k[i] = static_cast<unsigned char>(key >> (8 * (3 - i)));
  out.append(reinterpret_cast<const char*>(k), 4);
  append_unmasked(out, reinterpret_cast<const unsigned char*>(payload.data()),
                  payload.size(), k);
}

void append_close(std::string& out, uint16_t code, std::string_view reason) {
  if (code == close_code::no_status) {
    append_frame(out, opcode::close, {});
    return;
  }
  std::string body;
  append_be(body, code, 2);
  body.append(reason.substr(0, max_close_reason));
  append_frame(out, opcode::close, body);
}

size_t decoder::decode(const char* data, size_t size, std::vector<event>& out,
                       decode_error& err) {
  auto* bytes = reinterpret_cast<const unsigned char*>(data);
  size_t pos = 0;
  hint_ = 0;
  while (size - pos >= 2) {
    auto* p = bytes + pos;
    auto avail = size - pos;
    bool fin = (p[0] & 0x80) != 0;
    auto op = static_cast<uint8_t>(p[0] & 0x0F);
    if ((p[0] & 0x70) != 0) {
      err = protocol_error("reserved bits set, but no extension was agreed");
      return pos;
    }
    bool is_masked = (p[1] & 0x80) != 0;
    if (masked_ && !is_masked) {
      err = protocol_error("frame from the client is not masked");
      return pos;
    }
    if (!masked_ && is_masked) {
      err = protocol_error("frame from the server is masked");
      return pos;
    }
    uint64_t len = p[1] & 0x7F;
    size_t header = 2;
    if (len == 126) {
      if (avail < 4) break;
      len = read_be(p + 2, 2);
      header = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      len = read_be(p + 2, 8);
      header = 10;
      if (len >> 63) {
        err = protocol_error("frame length has its top bit set");
        return pos;
      }
    }
    if (masked_) header += 4; // masking key
    if (op >= 0x8) {
      if (op > 0xA) {
        err = protocol_error("unknown control opcode " + std::to_string(op));
        return pos;
      }
      if (!fin || len > 125) {
        err = protocol_error("control frames must be whole and at most 125 "
                             "bytes");
        return pos;
      }
      if (op == 0x8 && len == 1) {
        err = protocol_error("close frame with a 1-byte body");
        return pos;
      }
    } else {
      if (op > 0x2) {
        err = protocol_error("unknown data opcode " + std::to_string(op));
        return pos;
      }
      if (op == 0x0 && !in_message_) {
        err = protocol_error("continuation frame without a message");
        return pos;
      }
      if (op != 0x0 && in_message_) {
        err = protocol_error("new message before the last one ended");
        return pos;
      }
      uint64_t so_far = in_message_ ? partial_.size() : 0;
      if (len > max_ || so_far + len > max_) {
        err = {close_code::too_big, "message of " + std::to_string(so_far + len)
                                      + " bytes exceeds the limit of "
                                      + std::to_string(max_) + " bytes"};
        return pos;
      }
    }
    if (avail < header || avail - header < len) {
      hint_ = header + static_cast<size_t>(len);
      break;
    }
    auto* key = masked_ ? p + header - 4 : nullptr;
    auto* payload = p + header;
    auto n = static_cast<size_t>(len);
    pos += header + n;
    if (op >= 0x8) {
      event ev{event::ping, {}, 0};
      if (op == 0x8) {
        ev.kind = event::close;
        std::string body;
        append_unmasked(body, payload, n, key);
        ev.code = n >= 2 ? static_cast<uint16_t>(read_be(
                    reinterpret_cast<const unsigned char*>(body.data()), 2))
                         : close_code::no_status;
        if (n >= 2 && !sendable_close_code(ev.code)) {
          // Taken as sent, 1005 would read as "no code" with a reason.
          err = protocol_error("close code " + std::to_string(ev.code)
                               + " may not be sent by a peer");
          return pos - header - n;
        }
        ev.payload = n >= 2 ? body.substr(2) : std::string{};
        out.push_back(std::move(ev));
        return pos; // nothing after a close frame counts
      }
      ev.kind = op == 0x9 ? event::ping : event::pong;
      append_unmasked(ev.payload, payload, n, key);
      out.push_back(std::move(ev));
      continue;
    }
    if (!in_message_ && fin) {
      event ev{event::message, {}, 0};
      append_unmasked(ev.payload, payload, n, key);
      out.push_back(std::move(ev));
      continue;
    }
    if (!in_message_) {
      in_message_ = true;
      partial_.clear();
    }
    append_unmasked(partial_, payload, n, key);
    if (fin) {
      in_message_ = false;
      out.push_back(event{event::message, std::move(partial_), 0});
      partial_ = std::string{};
    }
  }
  return pos;
}

} // namespace troupe::protocol::ws
