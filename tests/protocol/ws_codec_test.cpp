// WebSocket framing: the client frames a browser or Node's `ws` sends, cut
// at every byte, and the violations that must close the connection.
#include "protocol/ws_codec.hpp"

#include <gtest/gtest.h>

using namespace troupe::protocol::ws;

namespace {

constexpr unsigned char key[4] = {0x37, 0xfa, 0x21, 0x3d};

/// A client frame: masked with `key`, FIN and opcode as given.
std::string client_frame(uint8_t op, std::string_view payload,
                         bool fin = true) {
  std::string out;
  out.push_back(static_cast<char>((fin ? 0x80 : 0) | op));
  auto n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(n >> (8 * i)));
  }
  out.append(reinterpret_cast<const char*>(key), 4);
  for (size_t i = 0; i < n; ++i)
    out.push_back(static_cast<char>(payload[i] ^ key[i & 3]));
  return out;
}

struct decoded {
  std::vector<event> events;
  decode_error err;
  size_t used = 0;
};

decoded decode_all(decoder& d, const std::string& bytes) {
  decoded r;
  r.used = d.decode(bytes.data(), bytes.size(), r.events, r.err);
  return r;
}

} // namespace

TEST(ws_codec, server_frames_use_the_shortest_length_form) {
  std::string out;
  append_frame(out, opcode::text, "hi");
  EXPECT_EQ(out, std::string("\x81\x02hi", 4));
  out.clear();
  append_frame(out, opcode::text, std::string(300, 'x'));
  ASSERT_EQ(out.size(), 4u + 300);
  EXPECT_EQ(static_cast<unsigned char>(out[1]), 126);
  EXPECT_EQ(static_cast<unsigned char>(out[2]), 1);
  EXPECT_EQ(static_cast<unsigned char>(out[3]), 44);
  out.clear();
  append_frame(out, opcode::binary, std::string(70000, 'x'));
  ASSERT_EQ(out.size(), 10u + 70000);
  EXPECT_EQ(static_cast<unsigned char>(out[0]), 0x82);
  EXPECT_EQ(static_cast<unsigned char>(out[1]), 127);
  EXPECT_EQ(static_cast<unsigned char>(out[7]), 0x01);
  EXPECT_EQ(static_cast<unsigned char>(out[8]), 0x11);
  EXPECT_EQ(static_cast<unsigned char>(out[9]), 0x70);
}

TEST(ws_codec, close_frames_carry_code_and_cut_reason) {
  std::string out;
  append_close(out, close_code::too_big, std::string(200, 'r'));
  ASSERT_EQ(out.size(), 2u + 125);
  EXPECT_EQ(static_cast<unsigned char>(out[0]), 0x88);
  EXPECT_EQ(static_cast<unsigned char>(out[1]), 125);
  EXPECT_EQ(static_cast<unsigned char>(out[2]), 1009 >> 8);
  EXPECT_EQ(static_cast<unsigned char>(out[3]), 1009 & 0xFF);
  out.clear();
  append_close(out, close_code::no_status, "ignored");
  EXPECT_EQ(out, std::string("\x88\x00", 2));
}

TEST(ws_codec, decodes_many_messages_of_every_length_form) {
  decoder d{1 << 20};
  std::string big(70000, 'b');
  auto bytes = client_frame(1, "{\"type\":\"ping\"}") + client_frame(1, "")
               + client_frame(2, std::string(300, 'm')) + client_frame(1, big);
  auto r = decode_all(d, bytes);
  EXPECT_EQ(r.err.code, 0);
  EXPECT_EQ(r.used, bytes.size());
  ASSERT_EQ(r.events.size(), 4u);
  EXPECT_EQ(r.events[0].kind, event::message);
  EXPECT_EQ(r.events[0].payload, "{\"type\":\"ping\"}");
  EXPECT_EQ(r.events[1].payload, "");
  EXPECT_EQ(r.events[2].payload, std::string(300, 'm'));
  EXPECT_EQ(r.events[3].payload, big);
}

TEST(ws_codec, any_cut_of_the_stream_gives_the_same_messages) {
  auto bytes = client_frame(1, "first") + client_frame(1, std::string(200, 'z'))
               + client_frame(1, "frag-", false) + client_frame(9, "p")
               + client_frame(0, "ment", false) + client_frame(0, "ed");
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    decoder d{4096};
    std::vector<event> events;
    decode_error err;
    std::string pending = bytes.substr(0, cut);
    auto used = d.decode(pending.data(), pending.size(), events, err);
    pending = pending.substr(used) + bytes.substr(cut);
    used = d.decode(pending.data(), pending.size(), events, err);
    ASSERT_EQ(err.code, 0) << "cut at " << cut;
    ASSERT_EQ(used, pending.size()) << "cut at " << cut;
    ASSERT_EQ(events.size(), 4u) << "cut at " << cut;
    EXPECT_EQ(events[0].payload, "first");
    EXPECT_EQ(events[1].payload, std::string(200, 'z'));
    EXPECT_EQ(events[2].kind, event::ping); // control frames may interleave
    EXPECT_EQ(events[2].payload, "p");
    EXPECT_EQ(events[3].kind, event::message);
    EXPECT_EQ(events[3].payload, "frag-mented");
  }
}

TEST(ws_codec, an_incomplete_frame_says_how_big_it_is) {
  decoder d{1 << 20};
  auto frame = client_frame(1, std::string(5000, 'q'));
  auto r = decode_all(d, frame.substr(0, 100));
  EXPECT_EQ(r.used, 0u);
  EXPECT_TRUE(r.events.empty());
  EXPECT_EQ(d.frame_size_hint(), frame.size());
}

TEST(ws_codec, close_frame_ends_decoding) {
  decoder d{4096};
  std::string body{"\x03\xe8"
                   "bye",
                   5};
  auto bytes = client_frame(1, "last") + client_frame(8, body)
               + client_frame(1, "after close");
  auto r = decode_all(d, bytes);
  ASSERT_EQ(r.events.size(), 2u);
  EXPECT_EQ(r.events[1].kind, event::close);
  EXPECT_EQ(r.events[1].code, 1000);
  EXPECT_EQ(r.events[1].payload, "bye");
  EXPECT_LT(r.used, bytes.size());
  decoder e{4096};
  auto empty = decode_all(e, client_frame(8, ""));
  ASSERT_EQ(empty.events.size(), 1u);
  EXPECT_EQ(empty.events[0].code, close_code::no_status);
}

TEST(ws_codec, message_over_the_limit_is_too_big_before_its_payload_arrives) {
  decoder d{1000};
  auto frame = client_frame(1, std::string(1001, 'x'));
  auto r = decode_all(d, frame.substr(0, 8)); // header and key only
  EXPECT_EQ(r.err.code, close_code::too_big);
  EXPECT_NE(r.err.reason.find("exceeds the limit of 1000 bytes"),
            std::string::npos)
    << r.err.reason;
  // The limit is on the whole message, not on each fragment.
  decoder f{1000};
  auto frags = client_frame(1, std::string(600, 'x'), false)
               + client_frame(0, std::string(600, 'y'));
  EXPECT_EQ(decode_all(f, frags).err.code, close_code::too_big);
  decoder g{1000};
  EXPECT_EQ(decode_all(g, client_frame(1, std::string(1000, 'x'))).err.code, 0);
}

TEST(ws_codec, protocol_violations_are_protocol_errors) {
  auto expect_error = [](std::string bytes, const char* what) {
    decoder d{4096};
    auto r = decode_all(d, bytes);
    EXPECT_EQ(r.err.code, close_code::protocol_error) << what;
    EXPECT_FALSE(r.err.reason.empty()) << what;
    EXPECT_TRUE(r.events.empty()) << what;
  };
  expect_error(std::string("\x81\x02hi", 4), "unmasked");
  auto rsv = client_frame(1, "x");
  rsv[0] = static_cast<char>(rsv[0] | 0x40);
  expect_error(rsv, "reserved bit");
  expect_error(client_frame(3, "x"), "unknown data opcode");
  expect_error(client_frame(0xB, "x"), "unknown control opcode");
  expect_error(client_frame(0, "x"), "continuation without a message");
  expect_error(client_frame(1, "a", false) + client_frame(1, "b"),
               "new message inside a fragmented one");
  expect_error(client_frame(9, "p", false), "fragmented ping");
  expect_error(client_frame(9, std::string(126, 'p')), "long ping");
  expect_error(client_frame(8, "x"), "close with a 1-byte body");
}

// Found by fuzz_ws_codec: a close frame carrying 1005 with a reason came
// out as "no status" with a reason, which no close frame can say.
TEST(ws_codec, close_codes_a_peer_may_not_send_are_protocol_errors) {
  auto close_with = [](uint16_t code) {
    std::string body{static_cast<char>(code >> 8), static_cast<char>(code)};
    decoder d{4096};
    return decode_all(d, client_frame(8, body + "why"));
  };
  for (uint16_t code : {0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000,
                        65535}) {
    auto r = close_with(code);
    EXPECT_EQ(r.err.code, close_code::protocol_error) << code;
    EXPECT_NE(r.err.reason.find(std::to_string(code)), std::string::npos)
      << r.err.reason;
    EXPECT_TRUE(r.events.empty()) << code;
    EXPECT_EQ(r.used, 0u) << code;
  }
  for (uint16_t code : {1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4999}) {
    auto r = close_with(code);
    EXPECT_EQ(r.err.code, 0) << code;
    ASSERT_EQ(r.events.size(), 1u) << code;
    EXPECT_EQ(r.events[0].code, code);
    EXPECT_EQ(r.events[0].payload, "why");
  }
}

TEST(ws_codec, masked_frames_are_what_a_client_sends) {
  // The key goes out big-endian, as client_frame() writes `key`.
  uint32_t k = 0x37fa213du;
  for (size_t n : {size_t{0}, size_t{5}, size_t{300}, size_t{70000}}) {
    std::string payload(n, 'p');
    for (size_t i = 0; i < n; ++i) payload[i] = static_cast<char>('a' + i % 26);
    std::string out;
    append_masked_frame(out, opcode::text, payload, k);
    EXPECT_EQ(out, client_frame(1, payload)) << n << " bytes";
    decoder d{1 << 20};
    auto r = decode_all(d, out);
    ASSERT_EQ(r.events.size(), 1u) << n << " bytes";
    EXPECT_EQ(r.events[0].payload, payload);
  }
}

TEST(ws_codec, server_side_decoder_reads_unmasked_frames_and_refuses_masked) {
  std::string bytes;
  append_frame(bytes, opcode::text, "{\"type\":\"workerregistered\"}");
  append_frame(bytes, opcode::text, std::string(300, 's'));
  append_frame(bytes, opcode::ping, "p");
  append_close(bytes, close_code::going_away, "bye");
  for (size_t cut = 0; cut <= bytes.size(); ++cut) {
    decoder d{4096, peer::server};
    std::vector<event> events;
    decode_error err;
    std::string pending = bytes.substr(0, cut);
    auto used = d.decode(pending.data(), pending.size(), events, err);
    pending = pending.substr(used) + bytes.substr(cut);
    used = d.decode(pending.data(), pending.size(), events, err);
    ASSERT_EQ(err.code, 0) << "cut at " << cut;
    ASSERT_EQ(used, pending.size()) << "cut at " << cut;
    ASSERT_EQ(events.size(), 4u) << "cut at " << cut;
    EXPECT_EQ(events[0].payload, "{\"type\":\"workerregistered\"}");
    EXPECT_EQ(events[1].payload, std::string(300, 's'));
    EXPECT_EQ(events[2].kind, event::ping);
    EXPECT_EQ(events[3].kind, event::close);
    EXPECT_EQ(events[3].code, close_code::going_away);
    EXPECT_EQ(events[3].payload, "bye");
  }
  decoder d{4096, peer::server};
  auto r = decode_all(d, client_frame(1, "masked"));
  EXPECT_EQ(r.err.code, close_code::protocol_error);
  EXPECT_TRUE(r.events.empty());
}
