// Tests for protocol/auth_api: the AuthInput an auth function receives and
// how its AuthResult answer becomes a grant or a refusal.
#include "protocol/auth_api.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

using namespace troupe;
using namespace troupe::protocol;
using json = nlohmann::json;

namespace {

upgrade_request request() {
  upgrade_request r;
  r.path = "/";
  r.query = "api_key=k%201&tag=a&tag=b+c&flag&=x";
  r.headers = {{"authorization", "Bearer tok"},
               {"x-role", "admin"},
               {"x-role", "ops"},
               {"x-bad", "\xff\xfeok"}};
  r.ip_address = "127.0.0.1";
  return r;
}

} // namespace

TEST(auth_api, input_has_headers_query_params_and_address_as_iii) {
  auto in = json::parse(auth_input_json(request()));
  EXPECT_EQ(in["headers"]["authorization"], "Bearer tok");
  EXPECT_EQ(in["headers"]["x-role"], "admin, ops");
  EXPECT_EQ(in["headers"]["x-bad"], "\xEF\xBF\xBD\xEF\xBF\xBDok")
    << "invalid UTF-8 replaced, never a throw";
  EXPECT_EQ(in["query_params"]["api_key"], json::array({"k 1"}));
  EXPECT_EQ(in["query_params"]["tag"], json::array({"a", "b c"}));
  EXPECT_EQ(in["query_params"]["flag"], json::array({""}));
  EXPECT_EQ(in["query_params"][""], json::array({"x"}));
  EXPECT_EQ(in["ip_address"], "127.0.0.1");
  upgrade_request empty;
  EXPECT_EQ(json::parse(auth_input_json(empty)),
            json::parse(R"({"headers":{},"query_params":{},"ip_address":""})"));
}

TEST(auth_api, bearer_token_takes_the_scheme_case_insensitively) {
  EXPECT_EQ(bearer_token(request()), "tok");
  upgrade_request r;
  r.headers = {{"authorization", "  bearer   abc  "}};
  EXPECT_EQ(bearer_token(r), "abc");
  r.headers = {{"authorization", "Basic abc"}};
  EXPECT_EQ(bearer_token(r), "");
  r.headers = {{"x-other", "Bearer abc"}};
  EXPECT_EQ(bearer_token(r), "");
}

TEST(auth_api, an_empty_answer_object_takes_iii_defaults) {
  auto x = parse_auth_result("{}");
  ASSERT_TRUE(std::holds_alternative<access_grant>(x));
  auto& g = std::get<access_grant>(x);
  EXPECT_TRUE(g.allowed_functions.empty());
  EXPECT_TRUE(g.forbidden_functions.empty());
  EXPECT_FALSE(g.allowed_trigger_types);
  EXPECT_FALSE(g.allow_trigger_type_registration);
  EXPECT_TRUE(g.allow_function_registration);
}

TEST(auth_api, every_answer_field_is_read) {
  auto x = parse_auth_result(R"({"allowed_functions":["a"],
    "forbidden_functions":["b","c"], "allowed_trigger_types":["http"],
    "allow_trigger_type_registration":true,
    "allow_function_registration":false, "context":{"user":1},
    "function_registration_prefix":null})");
  ASSERT_TRUE(std::holds_alternative<access_grant>(x))
    << std::get<std::string>(x);
  auto& g = std::get<access_grant>(x);
  EXPECT_EQ(g.allowed_functions, std::vector<std::string>{"a"});
  EXPECT_EQ(g.forbidden_functions, (std::vector<std::string>{"b", "c"}));
  ASSERT_TRUE(g.allowed_trigger_types);
  EXPECT_EQ(*g.allowed_trigger_types, std::vector<std::string>{"http"});
  EXPECT_TRUE(g.allow_trigger_type_registration);
  EXPECT_FALSE(g.allow_function_registration);
}

TEST(auth_api, bad_answers_refuse_with_a_reason) {
  auto refusal = [](const char* text) {
    auto x = parse_auth_result(text);
    return std::holds_alternative<std::string>(x) ? std::get<std::string>(x)
                                                  : std::string{};
  };
  EXPECT_NE(refusal("null").find("not an object"), std::string::npos);
  EXPECT_NE(refusal("[1]").find("not an object"), std::string::npos);
  EXPECT_NE(refusal("{").find("not an object"), std::string::npos);
  EXPECT_NE(refusal(R"({"allowed_functions":"a"})").find("list of strings"),
            std::string::npos);
  EXPECT_NE(refusal(R"({"forbidden_functions":[1]})").find("list of strings"),
            std::string::npos);
  EXPECT_NE(
    refusal(R"({"allow_function_registration":"yes"})").find("true or false"),
    std::string::npos);
  EXPECT_NE(
    refusal(R"({"function_registration_prefix":"p"})").find("does not support"),
    std::string::npos);
  EXPECT_EQ(refusal(R"({"function_registration_prefix":""})"), "");
}
