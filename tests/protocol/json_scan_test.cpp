// protocol/json_scan against nlohmann/json: the scanner must never accept
// what nlohmann refuses, must accept ordinary valid objects, and must hand
// back member texts that parse to what nlohmann parses.
#include "protocol/json_scan.hpp"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace troupe::protocol;
using json = nlohmann::ordered_json;

namespace {

constexpr size_t depth = 512;

bool nlohmann_object(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  return !j.is_discarded() && j.is_object();
}

/// The scanner accepts `text` only if nlohmann does, and then every member
/// parses to the value nlohmann has under its key.
void expect_agrees(const std::string& text) {
  std::vector<json_scan::member> members;
  bool ours = json_scan::split_object(text, members, depth);
  if (!ours) return;
  ASSERT_TRUE(nlohmann_object(text)) << "accepted invalid JSON: " << text;
  auto j = json::parse(text);
  for (auto& m : members) {
    ASSERT_TRUE(j.contains(m.key)) << m.key << " in " << text;
    // Duplicate keys: nlohmann keeps the last, and so do the frame parsers.
    const json_scan::member* last = nullptr;
    for (auto& n : members)
      if (n.key == m.key) last = &n;
    EXPECT_EQ(json::parse(last->text), j[m.key]) << text;
  }
}

const std::vector<std::string> valid = {
  R"({})",
  R"(  {"type":"invokefunction"}  )",
  R"({"type":"invokefunction","invocation_id":"5b2c","function_id":"math::add","data":{"a":1,"b":[2,3.5e-3,-0,true,false,null]},"action":{"type":"enqueue","queue":"default"}})",
  R"({"k\u00e9y":"v\n\t\"\\\/\b\f\r","s":"\ud83d\ude00","e":"é😀"})",
  R"({"n":-12.5E+3,"z":0,"f":1.0,"arr":[],"obj":{},"deep":[[[{"x":[{}]}]]]})",
  R"({"dup":1,"dup":{"b":2}})",
  "{\"ws\" \t\r\n : \t [ 1 , 2 ] \n}",
};

const std::vector<std::string> invalid = {
  "",
  " ",
  "[]",
  "\"str\"",
  "42",
  "{",
  "}",
  "{\"a\"}",
  "{\"a\":}",
  "{\"a\":1,}",
  "{,}",
  "{\"a\":1 \"b\":2}",
  "{\"a\":01}",
  "{\"a\":1.}",
  "{\"a\":.5}",
  "{\"a\":1e}",
  "{\"a\":+1}",
  "{\"a\":-}",
  "{\"a\":tru}",
  "{\"a\":nul}",
  "{\"a\":\"unterminated}",
  "{\"a\":\"bad \\x escape\"}",
  "{\"a\":\"\\u12G4\"}",
  "{\"a\":\"\\ud800\"}",
  "{\"a\":\"\\udc00\"}",
  "{\"a\":\"\\ud800\\u0041\"}",
  "{\"a\":\"tab\there\"}",
  "{a:1}",
  "{\"a\":1} x",
  "{\"a\":1}{}",
  "{\"a\":[1,2}",
  "{\"a\":{\"b\":1]}",
  "{\"a\":\"\xC0\xAF\"}",
  "{\"a\":\"\xED\xA0\x80\"}",
  "{\"a\":\"\xF5\x80\x80\x80\"}",
  "{\"a\":\"\xE2\x82\"}",
  "{\"a\":\"\x80\"}",
  "\xEF\xBB\xBF{}",
  "{\"a\":NaN}",
  "{\"a\":Infinity}",
  "{'a':1}",
  std::string("{\"a\":1}\0", 8),
  "{\"a\":1e999}",
  "{\"a\":-1.5E+400}",
  "{\"a\":" + std::string(400, '9') + "}",
};

} // namespace

TEST(json_scan, splits_valid_objects_into_their_members) {
  for (auto& text : valid) {
    std::vector<json_scan::member> members;
    EXPECT_TRUE(json_scan::split_object(text, members, depth)) << text;
    expect_agrees(text);
  }
  std::vector<json_scan::member> m;
  ASSERT_TRUE(json_scan::split_object(valid[2], m, depth));
  ASSERT_EQ(m.size(), 5u);
  EXPECT_EQ(m[3].key, "data");
  EXPECT_EQ(m[3].type, json_scan::kind::object);
  EXPECT_EQ(m[3].text, R"({"a":1,"b":[2,3.5e-3,-0,true,false,null]})");
  ASSERT_TRUE(json_scan::split_object(valid[3], m, depth));
  EXPECT_EQ(m[0].key, "k\xC3\xA9y");
  EXPECT_EQ(json_scan::decode_string(m[0].text), "v\n\t\"\\/\b\f\r");
  EXPECT_EQ(json_scan::decode_string(m[1].text), "\xF0\x9F\x98\x80");
}

TEST(json_scan, refuses_what_is_not_a_valid_object) {
  for (auto& text : invalid) {
    std::vector<json_scan::member> members;
    EXPECT_FALSE(json_scan::split_object(text, members, depth))
      << "accepted: " << text;
  }
}

TEST(json_scan, refuses_nesting_deeper_than_the_limit) {
  std::vector<json_scan::member> m;
  auto nested = [](size_t levels) {
    return "{\"a\":" + std::string(levels - 1, '[')
           + std::string(levels - 1, ']') + "}";
  };
  EXPECT_TRUE(json_scan::split_object(nested(8), m, 8));
  EXPECT_FALSE(json_scan::split_object(nested(9), m, 8));
  EXPECT_FALSE(json_scan::split_object(nested(100000), m, depth));
}

TEST(json_scan, never_accepts_a_mutation_nlohmann_refuses) {
  // Random byte changes, insertions and cuts of valid frames.
  std::mt19937 rng{20261123};
  const std::string alphabet = "{}[]\":,\\/ \t\n-+.eE0123456789abfnrtuTlsx"
                               "\x80\xBF\xC3\xE2\xED\xF0\xF4";
  size_t accepted = 0;
  for (int round = 0; round < 20000; ++round) {
    auto text = valid[rng() % valid.size()];
    auto edits = 1 + rng() % 3;
    for (size_t e = 0; e < edits && !text.empty(); ++e) {
      auto at = rng() % text.size();
      switch (rng() % 3) {
        case 0: text[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: text.insert(at, 1, alphabet[rng() % alphabet.size()]); break;
        default: text.erase(at, 1 + rng() % 3); break;
      }
    }
    std::vector<json_scan::member> members;
    if (json_scan::split_object(text, members, depth)) ++accepted;
    expect_agrees(text);
    if (HasFatalFailure()) return;
  }
  // The mutations must also produce valid objects now and then, or the
  // comparison above compares nothing.
  EXPECT_GT(accepted, 500u);
}

TEST(json_scan, valid_takes_one_value_of_any_kind) {
  for (auto text :
       {"{}", " [1, {\"a\": null}] ", "\"s\"", "-1.5e3", "true", "null"})
    EXPECT_TRUE(json_scan::valid(text, depth)) << text;
  for (auto text : {"", " ", "[1,]", "{\"a\":1", "1 2", "\"\xff\"", "nul"})
    EXPECT_FALSE(json_scan::valid(text, depth)) << text;
  EXPECT_TRUE(json_scan::valid("[[]]", 2));
  EXPECT_FALSE(json_scan::valid("[[[]]]", 2));
}
