#include "consumer_service/http/http_auth.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/config.h"
#include "consumer_service/http/http_api.h"
#include "consumer_service/http/http_server.h"
#include "consumer_service/status/metrics.h"
#include "consumer_service/http/page_csp.h"

namespace saldo {
namespace {

const std::string kAlice = "alice-0123456789abcdef";
const std::string kBob = "bob-fedcba9876543210xyz";

std::string message_of(std::string_view text) {
  try {
    parse_tokens(text);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ParseTokens, NameColonTokenWithCommentsAndBlanks) {
  const auto tokens = parse_tokens("# who:token\n\n alice : " + kAlice + " \r\nbob:" + kBob);
  ASSERT_EQ(tokens.size(), 2u);
  EXPECT_EQ(tokens[0].name, "alice");
  EXPECT_EQ(tokens[0].token, kAlice);
  EXPECT_EQ(tokens[1].name, "bob");
  EXPECT_EQ(tokens[1].token, kBob);
}

TEST(ParseTokens, BadLinesNameTheLineNeverTheToken) {
  EXPECT_EQ(message_of("alice " + kAlice), "line 1: expected name:token");
  EXPECT_EQ(message_of("# c\nal ice:" + kAlice), "line 2: the name must be 1-64 of [A-Za-z0-9._-]");
  EXPECT_EQ(message_of("alice:short"), "line 1: the token of 'alice' must be 16-4096 printable characters without spaces");
  EXPECT_EQ(message_of("alice:abc def ghi jkl mno"),
            "line 1: the token of 'alice' must be 16-4096 printable characters without spaces");
  EXPECT_EQ(message_of("alice:" + kAlice + "\nalice:" + kBob), "line 2: the name 'alice' appears twice");
  EXPECT_EQ(message_of("alice:" + kAlice + "\nbob:" + kAlice), "line 2: 'bob' has the token of 'alice'");
  EXPECT_EQ(message_of("# only comments\n"), "no token in the file (one name:token a line)");
  EXPECT_EQ(message_of(""), "no token in the file (one name:token a line)");
  for (const std::string& m : {message_of("alice:short"), message_of("alice:" + kAlice + "\nbob:" + kAlice)}) {
    EXPECT_EQ(m.find(kAlice), std::string::npos) << m;
    EXPECT_EQ(m.find("short:"), std::string::npos) << m;
  }
}

TEST(ConstantTimeEqual, EqualOnlyWhenIdentical) {
  EXPECT_TRUE(constant_time_equal("abcdef", "abcdef"));
  EXPECT_FALSE(constant_time_equal("abcdeg", "abcdef"));
  EXPECT_FALSE(constant_time_equal("abcde", "abcdef"));
  EXPECT_FALSE(constant_time_equal("abcdefabcdef", "abcdef"));  // a repetition is not a match
  EXPECT_FALSE(constant_time_equal("", "abcdef"));
  EXPECT_FALSE(constant_time_equal("abcdef", ""));
  EXPECT_TRUE(constant_time_equal("", ""));
}

TEST(CheckBearer, ReasonsAndName) {
  const auto tokens = parse_tokens("alice:" + kAlice + "\nbob:" + kBob);
  EXPECT_EQ(check_bearer(tokens, "Bearer " + kBob).name, "bob");
  EXPECT_EQ(check_bearer(tokens, "bearer   " + kAlice).name, "alice");  // scheme case, extra spaces
  const auto fail = [&](std::string_view header) {
    const AuthOutcome o = check_bearer(tokens, header);
    EXPECT_FALSE(o.name) << header;
    return o.failure;
  };
  EXPECT_EQ(fail(""), AuthFailure::kMissing);
  EXPECT_EQ(fail("   "), AuthFailure::kMissing);
  EXPECT_EQ(fail("Basic YWxpY2U6eA=="), AuthFailure::kMalformed);
  EXPECT_EQ(fail("Bearer"), AuthFailure::kMalformed);
  EXPECT_EQ(fail("Bearer    "), AuthFailure::kMalformed);
  EXPECT_EQ(fail(kAlice), AuthFailure::kMalformed);  // a token without the scheme
  EXPECT_EQ(fail("Bearer " + kAlice + "x"), AuthFailure::kWrong);
  EXPECT_EQ(fail("Bearer " + kAlice.substr(0, kAlice.size() - 1)), AuthFailure::kWrong);
  EXPECT_EQ(fail("Bearer alice"), AuthFailure::kWrong);  // a name is not a token
}

TEST(RouteNeedsToken, OnlyHealthAndPageAreAlwaysOpen) {
  EXPECT_TRUE(route_needs_token(Route::kSaldo, false));
  EXPECT_TRUE(route_needs_token(Route::kEvents, true));  // the live stream: as /saldo
  EXPECT_TRUE(route_needs_token(Route::kReady, false));
  EXPECT_TRUE(route_needs_token(Route::kOther, true));
  EXPECT_TRUE(route_needs_token(Route::kMetrics, false));
  EXPECT_FALSE(route_needs_token(Route::kMetrics, true));
  EXPECT_FALSE(route_needs_token(Route::kHealth, false));
  EXPECT_FALSE(route_needs_token(Route::kPage, false));
}

class TokensFile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("saldo-tokens-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                .string();
    write("alice:" + kAlice + "\n");
  }
  void TearDown() override { std::filesystem::remove(path_); }
  void write(const std::string& text) { std::ofstream(path_, std::ios::trunc) << text; }

  std::string path_;
};

TEST_F(TokensFile, ReloadSwapsTokensAndABadFileKeepsTheOld) {
  HttpAuth auth(path_, false);
  EXPECT_EQ(auth.check("Bearer " + kAlice).name, "alice");
  EXPECT_FALSE(auth.check("Bearer " + kBob).name);

  write("bob:" + kBob + "\n");
  EXPECT_EQ(auth.reload(), 1u);
  EXPECT_EQ(auth.check("Bearer " + kBob).name, "bob");
  EXPECT_FALSE(auth.check("Bearer " + kAlice).name);  // revoked

  write("bob " + kBob + "\n");
  try {
    auth.reload();
    ADD_FAILURE() << "a malformed file was accepted";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "--http-tokens-file: " + path_ + ": line 1: expected name:token");
  }
  EXPECT_EQ(auth.check("Bearer " + kBob).name, "bob");
}

TEST_F(TokensFile, MissingFileIsOneClearError) {
  try {
    HttpAuth auth(path_ + ".absent", false);
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "--http-tokens-file: cannot read " + path_ + ".absent");
  }
}

class ApiWithTokens : public TokensFile {
 protected:
  void SetUp() override {
    TokensFile::SetUp();
    store_.set("1", 15000, "2025-10-14T10:30:45", 0, 3);
    readiness_.begin_rebuild({{0, 0, 0}});
    ASSERT_TRUE(readiness_.ready());
    auth_.emplace(path_, false);
    api_.set_auth(&*auth_);
  }

  BalanceStore store_;
  Readiness readiness_{"contas"};
  Metrics metrics_;
  HttpApi api_{store_, readiness_, metrics_};
  std::optional<HttpAuth> auth_;
};

TEST_F(ApiWithTokens, ProtectedRoutesAnswer401WithWwwAuthenticateAndCountTheReason) {
  ApiReply r = api_.handle("GET", "/saldo/1");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.www_authenticate, "Bearer realm=\"saldo\"");
  EXPECT_EQ(r.body, R"({"error":"token necessário"})");
  EXPECT_EQ(r.body.find("150"), std::string::npos);

  r = api_.handle("GET", "/ready", "Bearer " + kBob);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.www_authenticate, "Bearer realm=\"saldo\", error=\"invalid_token\"");
  EXPECT_EQ(r.body, R"({"error":"token inválido"})");
  EXPECT_EQ(api_.handle("GET", "/metrics", "Token x").status, 401);
  EXPECT_EQ(api_.handle("GET", "/nope").status, 401);  // no probing of routes without a token

  EXPECT_EQ(metrics_.auth_failures(AuthFailure::kMissing), 2u);
  EXPECT_EQ(metrics_.auth_failures(AuthFailure::kWrong), 1u);
  EXPECT_EQ(metrics_.auth_failures(AuthFailure::kMalformed), 1u);

  r = api_.handle("GET", "/saldo/1", "Bearer " + kAlice);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.token_name, "alice");
  EXPECT_EQ(api_.handle("GET", "/ready", "Bearer " + kAlice).status, 200);
  const std::string text = api_.handle("GET", "/metrics", "Bearer " + kAlice).body;
  EXPECT_NE(text.find("saldo_http_auth_failures_total{reason=\"missing\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("saldo_http_auth_failures_total{reason=\"wrong\"} 1\n"), std::string::npos);
  EXPECT_EQ(text.find(kAlice), std::string::npos);
}

TEST_F(ApiWithTokens, BatchAndReadYourWritesNeedATokenLikeSaldo) {
  EXPECT_TRUE(route_needs_token(Route::kSaldos, true));
  const QueryParams ids{{"ids", "1"}}, after{{"after", "0:0"}, {"wait_ms", "0"}};
  EXPECT_EQ(api_.handle(ApiRequest{"GET", "/saldos", &ids, {}, {}}).status, 401);
  EXPECT_EQ(api_.handle(ApiRequest{"POST", "/saldos", nullptr, "[\"1\"]", {}}).status, 401);
  EXPECT_EQ(api_.handle(ApiRequest{"GET", "/saldo/1", &after, {}, {}}).status, 401);
  const std::string bearer = "Bearer " + kAlice;
  const ApiReply r = api_.handle(ApiRequest{"POST", "/saldos", nullptr, "[\"1\"]", bearer});
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("\"saldo\":150.00"), std::string::npos) << r.body;
  EXPECT_EQ(api_.handle(ApiRequest{"GET", "/saldos", &ids, {}, bearer}).status, 200);
  EXPECT_EQ(metrics_.auth_failures(AuthFailure::kMissing), 3u);
}

TEST_F(ApiWithTokens, HealthAndPageStayOpenMetricsOnlyWhenPublic) {
  EXPECT_EQ(api_.handle("GET", "/health").status, 200);
  EXPECT_EQ(api_.handle("GET", "/").status, 200);
  EXPECT_EQ(api_.handle("GET", "/openapi.json").status, 200);
  EXPECT_EQ(api_.handle("GET", "/metrics").status, 401);
  HttpAuth open_metrics(path_, true);
  api_.set_auth(&open_metrics);
  EXPECT_EQ(api_.handle("GET", "/metrics").status, 200);
  EXPECT_EQ(api_.handle("GET", "/saldo/1").status, 401);
  EXPECT_EQ(metrics_.auth_failures(AuthFailure::kMissing), 2u);
}

TEST(PageCsp, HashesTheInlineScriptAndStyle) {
  // printf 'alert(1)' | openssl dgst -sha256 -binary | base64
  EXPECT_EQ(csp_sha256("alert(1)"), "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='");
  const std::string policy = content_security_policy_for("<style>p{}</style><script>alert(1)</script>");
  EXPECT_EQ(policy, "default-src 'none'; script-src 'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='; style-src " +
                        csp_sha256("p{}") +
                        "; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; "
                        "frame-ancestors 'none'");
  EXPECT_NE(content_security_policy_for("<p>no script</p>").find("script-src 'none'"), std::string::npos);
  // The real page: one script and one style, both hashed.
  const std::string page = content_security_policy_for(page_html());
  EXPECT_EQ(page_content_security_policy(), page);
  EXPECT_EQ(page.find("'none'; style"), std::string::npos) << page;
  EXPECT_EQ(page.find("unsafe"), std::string::npos);
}

// Headers, Range and tokens through the real server and a real client.
TEST_F(ApiWithTokens, RealServerSecurityHeadersRangeIgnoredAndBearer) {
  HttpServerOptions options;
  options.port = 0;
  options.threads = 4;
  EXPECT_EQ(options.host, "127.0.0.1");  // loopback unless told otherwise
  HttpServer server(api_, metrics_, options);
  const int port = server.start();
  httplib::Client client("127.0.0.1", port);

  auto res = client.Get("/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Security-Policy"), page_content_security_policy());
  EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(res->get_header_value("Referrer-Policy"), "no-referrer");

  std::string ranges = "bytes=0-0";
  for (int i = 1; i < 500; ++i) ranges += ",0-" + std::to_string(i);
  res = client.Get("/", {{"Range", ranges}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, page_html());  // the whole page once, not 500 parts of it
  res = client.Get("/", {{"Range", "bytes=0-9"}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body.size(), page_html().size());

  res = client.Get("/saldo/1");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Bearer realm=\"saldo\"");
  EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff");
  res = client.Get("/saldo/1", {{"Authorization", "Bearer " + kAlice}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store");
  server.stop();  // joins the workers: the library counts a request after it has answered it
  EXPECT_EQ(metrics_.http_requests(Route::kSaldo, 401), 1u);
}

}  // namespace
}  // namespace saldo
