#include "consumer_service/http/http_api.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <future>
#include <limits>
#include <thread>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "common/partitioner.h"
#include "consumer_service/http/http_server.h"
#include "consumer_service/http/peer_forwarder.h"
#include "consumer_service/shard/shard_map.h"
#include "consumer_service/shard/shard_member_json.h"

namespace saldo {
namespace {

using nlohmann::json;

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_.set("1", 15000, "2025-10-14T10:30:45", 0, 3);
    store_.set("neg", -5, "2025-10-14T10:30:45.5Z", 2, 9);
    readiness_.begin_rebuild({{0, 0, 4}, {1, 0, 0}, {2, 0, 10}});
  }
  ApiReply get(std::string_view path, const QueryParams& query) const {
    return api_.handle(ApiRequest{"GET", path, &query, {}, {}});
  }
  ApiReply post(std::string_view body) const { return api_.handle(ApiRequest{"POST", "/saldos", nullptr, body, {}}); }
  void make_ready() {
    readiness_.advance(0, 4);
    readiness_.advance(2, 10);
    ASSERT_TRUE(readiness_.ready());
  }

  BalanceStore store_;
  Readiness readiness_{"contas"};
  Metrics metrics_;
  HttpApi api_{store_, readiness_, metrics_};
};

// A server on an ephemeral loopback port with `threads` workers.
HttpServerOptions loopback(int threads) {
  HttpServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.threads = threads;
  return options;
}

TEST_F(HttpApiTest, SaldoFoundIsExactDecimal) {
  make_ready();
  const ApiReply r = api_.handle("GET", "/saldo/1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, R"({"cliente_id":"1","saldo":150.00,"timestamp":"2025-10-14T10:30:45","partition":0,"offset":3})");
  EXPECT_EQ(api_.handle("GET", "/saldo/neg").body,
            R"({"cliente_id":"neg","saldo":-0.05,"timestamp":"2025-10-14T10:30:45.5Z","partition":2,"offset":9})");
}

TEST_F(HttpApiTest, SaldoUnknownIs404InvalidIs400) {
  make_ready();
  const ApiReply r = api_.handle("GET", "/saldo/2");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"error":"cliente não encontrado"})");
  EXPECT_EQ(api_.handle("GET", "/saldo/").status, 400);
  EXPECT_EQ(api_.handle("GET", "/saldo/a b").status, 400);
  EXPECT_EQ(api_.handle("GET", "/saldo/a/b").status, 400);
  EXPECT_EQ(api_.handle("GET", "/saldo/" + std::string(65, '1')).status, 400);
  EXPECT_EQ(api_.handle("GET", "/saldo/" + std::string(64, '1')).status, 404);
}

TEST_F(HttpApiTest, SaldoBeforeReadyIs503WithProgressNever404) {
  readiness_.advance(0, 4);
  for (const char* path : {"/saldo/1", "/saldo/2"}) {
    const ApiReply r = api_.handle("GET", path);
    EXPECT_EQ(r.status, 503) << path;
    EXPECT_EQ(r.retry_after_s, 1);
    const json body = json::parse(r.body);
    EXPECT_EQ(body["state"], "REBUILDING");
    EXPECT_EQ(body["records_replayed"], 4);
    EXPECT_EQ(body["records_to_replay"], 14);
  }
  EXPECT_EQ(api_.handle("GET", "/saldo/bad id").status, 400);
}

// An expired certificate starts and reloads (clients refuse it); /ready says so while it is in force.
TEST_F(HttpApiTest, ReadyNamesACertificateThatIsNotValidNow) {
  make_ready();
  EXPECT_FALSE(json::parse(api_.handle("GET", "/ready").body).contains("tls_warning"));
  std::string problem;
  api_.set_certificate_check([&problem] { return problem; });
  EXPECT_FALSE(json::parse(api_.handle("GET", "/ready").body).contains("tls_warning"));
  problem = "the certificate in cert.pem expired on Jan  1 00:00:00 2026 GMT";
  const ApiReply r = api_.handle("GET", "/ready");
  EXPECT_EQ(r.status, 200);  // informative: the table is still ready
  EXPECT_EQ(json::parse(r.body)["tls_warning"], problem);
}

TEST_F(HttpApiTest, ReadyReflectsStateAndPartitions) {
  readiness_.set_broker_reachable(false, "down");
  ApiReply r = api_.handle("GET", "/ready");
  EXPECT_EQ(r.status, 503);
  json body = json::parse(r.body);
  EXPECT_EQ(body["state"], "REBUILDING");
  EXPECT_EQ(body["broker_reachable"], false);
  EXPECT_EQ(body["broker_error"], "down");
  ASSERT_EQ(body["partitions"].size(), 3u);
  EXPECT_EQ(body["partitions"][2]["target"], 10);
  EXPECT_EQ(body["partitions"][1]["caught_up"], true);
  make_ready();
  r = api_.handle("GET", "/ready");
  EXPECT_EQ(r.status, 200);
  body = json::parse(r.body);
  EXPECT_EQ(body["state"], "READY");
  EXPECT_EQ(body["customers"], 2);
  EXPECT_EQ(api_.handle("GET", "/health").status, 200);
}

TEST_F(HttpApiTest, UnknownRouteAndMethodAreJson) {
  ApiReply r = api_.handle("GET", "/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body)["error"], "rota não encontrada");
  r = api_.handle("POST", "/saldo/1");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "GET, HEAD");
  EXPECT_EQ(api_.handle("GET", "/").content_type, "text/html; charset=utf-8");
}

TEST_F(HttpApiTest, MetricsCountWhatHappened) {
  metrics_.records_applied(5);
  metrics_.tombstones(1);
  metrics_.invalid(DecodeError::kInvalidJson);
  metrics_.http_request(Route::kSaldo, 404);
  const std::string text = api_.handle("GET", "/metrics").body;
  EXPECT_NE(text.find("saldo_records_applied_total 5\n"), std::string::npos) << text;
  EXPECT_NE(text.find("saldo_tombstones_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("saldo_invalid_records_total{reason=\"" + std::string(to_string(DecodeError::kInvalidJson)) +
                      "\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("saldo_customers 2\n"), std::string::npos);
  EXPECT_NE(text.find("saldo_partition_lag{partition=\"2\"} 10\n"), std::string::npos);
  EXPECT_NE(text.find("saldo_http_requests_total{route=\"/saldo\",status=\"404\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("saldo_state{state=\"REBUILDING\"} 1\n"), std::string::npos);
}

// The same API through the real server and a real client on an ephemeral port.
TEST_F(HttpApiTest, RealServerAnswersOverKeepAlive) {
  make_ready();
  const HttpServerOptions options = loopback(8);
  HttpServer server(api_, metrics_, options);
  const int port = server.start();
  ASSERT_GT(port, 0);

  httplib::Client client("127.0.0.1", port);
  client.set_keep_alive(true);
  for (int i = 0; i < 20; ++i) {  // more than the library's default 5 requests per connection
    auto res = client.Get("/saldo/1");
    ASSERT_TRUE(res) << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(json::parse(res->body)["saldo"].dump(), "150.0");
  }
  auto res = client.Get("/saldo/2");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json; charset=utf-8");
  res = client.Get("/nope");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(json::parse(res->body)["error"], "rota não encontrada");
  res = client.Post("/saldo/1", "x", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(res->get_header_value("Allow"), "GET, HEAD");
  res = client.Delete("/nope");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  // Over the body limit: 413, or the connection closed before the whole body was read. Never the
  // 405 the route would give: the request is not handled.
  res = client.Post("/saldo/1", std::string(options.max_body_bytes + 1, 'x'), "text/plain");
  EXPECT_TRUE(!res || res->status == 413) << res->status;
  server.stop();  // joins the workers: the library counts a request after it has answered it
  EXPECT_GE(metrics_.http_requests(Route::kSaldo, 200), 20u);
}

TEST_F(HttpApiTest, RealServer503CarriesRetryAfter) {
  const HttpServerOptions options = loopback(4);
  HttpServer server(api_, metrics_, options);
  const int port = server.start();
  httplib::Client client("127.0.0.1", port);
  auto res = client.Get("/saldo/1");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->get_header_value("Retry-After"), "1");
}

// --- Batch lookups: GET /saldos?ids= and POST /saldos ---

TEST_F(HttpApiTest, BatchAnswersFoundNotFoundAndInvalidOnceEach) {
  make_ready();
  store_.note_rejected("1", "invalid_amount", 0, 5, std::numeric_limits<std::int64_t>::max());
  store_.note_rejected("ghost", "wrong_type", 1, 7, std::numeric_limits<std::int64_t>::max());
  const QueryParams q{{"ids", "1,2,neg,1,a b,,ghost"}};
  const ApiReply r = get("/saldos", q);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body,
            R"({"found":[{"cliente_id":"1","saldo":150.00,"timestamp":"2025-10-14T10:30:45","partition":0,"offset":3,)"
            R"("warning":{"reason":"invalid_amount","partition":0,"offset":5,"message":"um registro mais novo deste cliente foi rejeitado"}},)"
            R"({"cliente_id":"neg","saldo":-0.05,"timestamp":"2025-10-14T10:30:45.5Z","partition":2,"offset":9}],)"
            R"("not_found":[{"cliente_id":"2"},{"cliente_id":"ghost","warning":{"reason":"wrong_type","partition":1,)"
            R"("offset":7,"message":"um registro mais novo deste cliente foi rejeitado"}}],)"
            R"("invalid":[{"cliente_id":"a b","error":"cliente_id inválido"},{"cliente_id":"","error":"cliente_id inválido"}]})");
}

TEST_F(HttpApiTest, BatchPostTakesAJsonArrayOfStringsAndIntegers) {
  make_ready();
  const ApiReply r = post(R"(["1", 1, 2, "a b", "neg"])");
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = json::parse(r.body);
  ASSERT_EQ(body["found"].size(), 2u);  // "1" and 1 are the same id: answered once
  EXPECT_EQ(body["found"][0]["cliente_id"], "1");
  EXPECT_EQ(body["found"][0]["saldo"].dump(), "150.0");
  EXPECT_EQ(body["found"][1]["cliente_id"], "neg");
  EXPECT_EQ(body["not_found"], json::parse(R"([{"cliente_id":"2"}])"));
  EXPECT_EQ(body["invalid"], json::parse(R"([{"cliente_id":"a b","error":"cliente_id inválido"}])"));
  EXPECT_EQ(post("[]").body,
            R"({"found":[],"not_found":[],"invalid":[]})");
}

// Every element that is not a string or an integer refuses the whole body, naming where: a number
// JSON cannot hold (1e309) and an object or list ([{}]) are told the same way, and a deeply nested
// body is refused at its second bracket, never built in memory.
TEST_F(HttpApiTest, BatchPostRefusesAnElementThatIsNotAnIdNamingIt) {
  make_ready();
  const std::string deep = "[\"1\"," + std::string(40000, '[') + std::string(40000, ']') + "]";
  const std::pair<std::string, std::string> cases[] = {
      {R"(["1", null])", "elemento 2 "},   {R"(["1", "2", true])", "elemento 3 "},
      {"[1.5]", "elemento 1 "},            {R"([{}])", "elemento 1 "},
      {R"(["1", {"a":1}])", "elemento 2 "}, {R"([["1"]])", "elemento 1 "},
      {"[1e309]", "elemento 1 "},          {R"(["1", 2, 1e309])", "elemento 3 "},
      {deep, "elemento 2 "},
  };
  for (const auto& [body, where] : cases) {
    const ApiReply r = post(body);
    EXPECT_EQ(r.status, 400) << body.substr(0, 40);
    EXPECT_NE(json::parse(r.body)["error"].get<std::string>().find(where), std::string::npos)
        << body.substr(0, 40) << " -> " << r.body;
  }
}

TEST_F(HttpApiTest, BatchRejectsMalformedAndOverTheLimit) {
  make_ready();
  for (const char* body : {"", "{\"ids\":[1]}", "[1,", "\"1\"", "nul"}) {
    const ApiReply r = post(body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_TRUE(json::parse(r.body).contains("error"));
  }
  EXPECT_EQ(api_.handle("GET", "/saldos").status, 400);
  const QueryParams empty{{"ids", ""}};
  EXPECT_EQ(get("/saldos", empty).status, 400);

  json many = json::array();
  std::string csv;
  for (std::size_t i = 0; i < kMaxBatchIds; ++i) {
    many.push_back(std::to_string(i));
    csv += (i ? "," : "") + std::to_string(i);
  }
  EXPECT_EQ(post(many.dump()).status, 200);
  QueryParams q{{"ids", csv}};
  EXPECT_EQ(get("/saldos", q).status, 200);
  many.push_back("x");
  const ApiReply over = post(many.dump());
  EXPECT_EQ(over.status, 413);
  EXPECT_EQ(json::parse(over.body)["error"], "no máximo 1000 ids por requisição");
  q = {{"ids", csv + ",x"}};
  EXPECT_EQ(get("/saldos", q).status, 413);
}

TEST_F(HttpApiTest, BatchBeforeReadyIs503) {
  const QueryParams q{{"ids", "1,2"}};
  for (const ApiReply& r : {get("/saldos", q),
                            post("[\"1\"]")}) {
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.retry_after_s, 1);
    EXPECT_EQ(json::parse(r.body)["state"], "REBUILDING");
  }
  // A malformed request is still told so.
  EXPECT_EQ(post("x").status, 400);
}

TEST_F(HttpApiTest, BatchMethodsAndRoute) {
  make_ready();
  const ApiReply r = api_.handle("PUT", "/saldos");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "GET, HEAD, POST");
  EXPECT_EQ(route_of("/saldos"), Route::kSaldos);
  EXPECT_EQ(route_of("/saldos/1"), Route::kOther);
}

TEST_F(HttpApiTest, OpenApiDocumentIsServedAndNamesEveryRoute) {
  const ApiReply r = api_.handle("GET", "/openapi.json");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json; charset=utf-8");
  const json doc = json::parse(r.body);
  EXPECT_EQ(doc["openapi"], "3.1.0");
  for (std::size_t i = 0; i < kRouteCount; ++i) {
    const auto route = static_cast<Route>(i);
    if (route == Route::kOther) continue;
    const std::string name(to_string(route));
    const std::string path = route == Route::kSaldo    ? "/saldo/{cliente_id}"
                             : route == Route::kEvents ? "/saldo/{cliente_id}/events"
                                                       : name;
    EXPECT_TRUE(doc["paths"].contains(path)) << "openapi.json does not describe " << path;
  }
}

// --- Read your writes: GET /saldo/<id>?after=P:O&wait_ms=N ---

TEST_F(HttpApiTest, AfterAlreadyAppliedAnswersAtOnce) {
  make_ready();
  const QueryParams q{{"after", "0:3,2:9"}};
  const ApiReply r = get("/saldo/1", q);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(metrics_.read_your_writes_count(Metrics::WaitResult::kOk), 1u);
}

// The issue's case: the client wrote "fut" at 0:2 (its home), but a record of another partition
// stamped ahead wins under the table's rule. The answer is that record, and says so.
TEST_F(HttpApiTest, AfterNamesARecordOfAnotherPartitionOrderedAfterTheClients) {
  store_.set("fut", 210000, "2025-10-14T10:30:45", 2, 5, 5'000'000);
  store_.set("fut", 555, "2025-10-14T10:30:45", 0, 2, 1'000);  // loses: ordered before 2:5
  make_ready();
  const QueryParams mine{{"after", "0:2"}};
  const ApiReply r = get("/saldo/fut", mine);
  EXPECT_EQ(r.status, 200);
  const json body = json::parse(r.body);
  EXPECT_EQ(body["saldo"], 2100.00);
  EXPECT_EQ(body["warning"], json::parse(R"({"reason":"ordered_after","partition":2,"offset":5,"timestamp_ms":5000000,)"
                                         R"("message":"a resposta é um registro de outra partição, ordenado depois do registro em after"})"));
  // A position on the answer's partition: the client's record is the answer or one before it there.
  const QueryParams same{{"after", "2:5"}};
  EXPECT_FALSE(json::parse(get("/saldo/fut", same).body).contains("warning"));
  EXPECT_FALSE(json::parse(api_.handle("GET", "/saldo/fut").body).contains("warning"));  // no after=
}

TEST_F(HttpApiTest, BadAfterOrWaitMsIs400) {
  make_ready();
  for (const char* after : {"", "1", "1:", ":1", "-1:2", "1:-2", "1:2,", "a:1", "1:2 ", "99999999999:1"}) {
    const QueryParams q{{"after", after}};
    EXPECT_EQ(get("/saldo/1", q).status, 400) << after;
  }
  for (const char* wait : {"", "-1", "abc", "1.5", "1e3", "9999999999999999999"}) {
    const QueryParams q{{"after", "0:1"}, {"wait_ms", wait}};
    EXPECT_EQ(get("/saldo/1", q).status, 400) << wait;
  }
  // Past the cap is refused as the message says (0 to 5000), never shortened in silence.
  for (const char* wait : {"5001", "999999999"}) {
    const QueryParams q{{"after", "0:1"}, {"wait_ms", wait}};
    const ApiReply r = get("/saldo/1", q);
    EXPECT_EQ(r.status, 400) << wait;
    EXPECT_NE(r.body.find("0 a 5000"), std::string::npos) << r.body;
  }
  const QueryParams most{{"after", "0:1"}, {"wait_ms", "5000"}};
  EXPECT_EQ(get("/saldo/1", most).status, 200);
}

TEST_F(HttpApiTest, AfterInTheFutureTimesOutWith504AndThePositions) {
  make_ready();
  const QueryParams q{{"after", "2:10"}, {"wait_ms", "50"}};
  const auto began = std::chrono::steady_clock::now();
  const ApiReply r = get("/saldo/1", q);
  const auto took = std::chrono::steady_clock::now() - began;
  EXPECT_EQ(r.status, 504);
  EXPECT_GE(took, std::chrono::milliseconds(50));
  EXPECT_LT(took, std::chrono::seconds(2));
  const json body = json::parse(r.body);
  EXPECT_EQ(body["after"], json::parse(R"([{"partition":2,"offset":10}])"));
  EXPECT_EQ(body["positions"], json::parse(R"([{"partition":0,"offset":4},{"partition":1,"offset":0},{"partition":2,"offset":10}])"));
  EXPECT_EQ(metrics_.read_your_writes_count(Metrics::WaitResult::kTimeout), 1u);
  // The wait is the client's choice, not the service's slowness: the latency histogram leaves it out.
  EXPECT_NE(api_.handle("GET", "/metrics").body.find("saldo_http_request_duration_seconds_bucket{le=\"0.01\"} 1\n"),
            std::string::npos);
}

// A partition the table does not read would never become applied: 400 at once, not a 504 after
// the whole wait (and not a 504 that counts against the replica at the edge).
TEST_F(HttpApiTest, AfterOnAPartitionThatDoesNotExistIs400AtOnce) {
  make_ready();
  const QueryParams unknown{{"after", "0:1,7:0"}, {"wait_ms", "5000"}};
  const auto began = std::chrono::steady_clock::now();
  const ApiReply r = get("/saldo/1", unknown);
  EXPECT_EQ(r.status, 400);
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(1));
  EXPECT_NE(r.body.find("partição 7 não existe"), std::string::npos) << r.body;
  EXPECT_EQ(metrics_.waiting_requests(), 0);
}

TEST_F(HttpApiTest, AfterWaitsUntilTheReaderAppliesThePosition) {
  make_ready();
  const QueryParams q{{"after", "2:12"}, {"wait_ms", "5000"}};
  auto answer = std::async(std::launch::async, [&] { return get("/saldo/neg", q); });
  // Wait until the request is waiting, then apply the write the way the reader does: store, then position.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (metrics_.waiting_requests() == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  ASSERT_EQ(metrics_.waiting_requests(), 1);
  EXPECT_NE(api_.handle("GET", "/metrics").body.find("saldo_http_waiting_requests 1\n"), std::string::npos);
  store_.set("neg", 777, "2025-10-14T11:00:00", 2, 12);
  readiness_.advance(2, 13);
  const ApiReply r = answer.get();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["saldo"].dump(), "7.77");
  EXPECT_EQ(metrics_.waiting_requests(), 0);
  EXPECT_EQ(metrics_.read_your_writes_count(Metrics::WaitResult::kOk), 1u);
}

TEST_F(HttpApiTest, WaitersOverTheCapAre503WithRetryAfter) {
  make_ready();
  api_.set_max_waiting(2);
  const QueryParams q{{"after", "2:50"}, {"wait_ms", "5000"}};
  std::vector<std::future<ApiReply>> waiting;
  for (int i = 0; i < 2; ++i) {
    waiting.push_back(std::async(std::launch::async, [&] { return get("/saldo/1", q); }));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (metrics_.waiting_requests() < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  ASSERT_EQ(metrics_.waiting_requests(), 2);
  const ApiReply over = get("/saldo/1", q);
  EXPECT_EQ(over.status, 503);
  EXPECT_EQ(over.retry_after_s, 1);
  EXPECT_EQ(metrics_.read_your_writes_count(Metrics::WaitResult::kRejected), 1u);
  const std::string text = api_.handle("GET", "/metrics").body;
  EXPECT_NE(text.find("saldo_read_your_writes_total{result=\"rejected\"} 1\n"), std::string::npos) << text;
  readiness_.advance(2, 51);
  for (auto& f : waiting) EXPECT_EQ(f.get().status, 200);
  // A slot is free again.
  EXPECT_EQ(get("/saldo/1", q).status, 200);
}

TEST_F(HttpApiTest, AfterBeforeReadyIs503NotAWait) {
  const QueryParams q{{"after", "0:1"}};
  EXPECT_EQ(get("/saldo/1", q).status, 503);
}

TEST_F(HttpApiTest, RealServerServesBatchAndAfter) {
  make_ready();
  const HttpServerOptions options = loopback(4);
  HttpServer server(api_, metrics_, options);
  const int port = server.start();
  httplib::Client client("127.0.0.1", port);
  auto res = client.Get("/saldos?ids=1,2,%20x");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  json body = json::parse(res->body);
  EXPECT_EQ(body["found"][0]["cliente_id"], "1");
  EXPECT_EQ(body["not_found"][0]["cliente_id"], "2");
  EXPECT_EQ(body["invalid"][0]["cliente_id"], " x");
  res = client.Post("/saldos", R"(["neg","1"])", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["found"].size(), 2u);
  // 1,000 ids of 64 characters fit the body limit.
  json many = json::array();
  for (int i = 0; i < 1000; ++i) many.push_back(std::string(60, 'a') + std::to_string(1000 + i));
  res = client.Post("/saldos", many.dump(), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["not_found"].size(), 1000u);
  res = client.Put("/saldos", "[]", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(res->get_header_value("Allow"), "GET, HEAD, POST");
  res = client.Get("/saldo/1?after=0:3&wait_ms=10");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = client.Get("/saldo/1?after=0:4&wait_ms=10");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 504);
  server.stop();  // joins the workers: the library counts a request after it has answered it
  EXPECT_EQ(metrics_.http_requests(Route::kSaldos, 200), 3u);
  EXPECT_EQ(metrics_.http_requests(Route::kSaldo, 504), 1u);
}

TEST(HttpServer, StopRightAfterStartDoesNotHang) {
  BalanceStore store;
  Readiness readiness;
  Metrics metrics;
  HttpApi api(store, readiness, metrics);
  HttpServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  for (int i = 0; i < 5; ++i) {
    HttpServer server(api, metrics, options);
    const int port = server.start();
    ASSERT_GT(port, 0);
    const auto begun = std::chrono::steady_clock::now();
    server.stop();
    EXPECT_LT(std::chrono::steady_clock::now() - begun, std::chrono::seconds(5));
    httplib::Client client("127.0.0.1", port);
    client.set_connection_timeout(1, 0);
    EXPECT_FALSE(client.Get("/health")) << "still answering after stop()";
  }
}

}  // namespace
}  // namespace saldo

// --- Live streams: GET /saldo/<id>/events ---

namespace saldo {
namespace {

TEST_F(HttpApiTest, EventsRouteChecksIdReadinessAndTheCap) {
  EXPECT_EQ(route_of("/saldo/42/events"), Route::kEvents);
  EXPECT_EQ(route_of("/saldo/events"), Route::kSaldo);  // the customer "events"
  EXPECT_EQ(api_.handle("GET", "/saldo/1/events").status, 503);  // before READY: no stream, no false not_found
  make_ready();
  EXPECT_EQ(api_.handle("GET", "/saldo//events").status, 400);
  EXPECT_EQ(api_.handle("GET", "/saldo/a b/events").status, 400);
  EXPECT_EQ(api_.handle("POST", "/saldo/1/events").status, 405);
  api_.set_streams(2, EventStreamTiming{});
  ApiReply first = api_.handle("GET", "/saldo/1/events");
  ASSERT_EQ(first.status, 200);
  ASSERT_TRUE(first.stream);
  EXPECT_EQ(first.content_type, "text/event-stream");
  ApiReply second = api_.handle("GET", "/saldo/2/events");
  ASSERT_TRUE(second.stream);
  EXPECT_EQ(metrics_.event_streams(), 2);
  const ApiReply over = api_.handle("GET", "/saldo/1/events");
  EXPECT_EQ(over.status, 503);
  EXPECT_EQ(over.retry_after_s, 5);
  EXPECT_EQ(json::parse(over.body)["max_streams"], 2);
  EXPECT_EQ(metrics_.event_streams_rejected(), 1u);
  second.stream.reset();  // a stream ended: its place is free again
  EXPECT_EQ(metrics_.event_streams(), 1);
  EXPECT_TRUE(api_.handle("GET", "/saldo/1/events").stream);
  const std::string text = api_.handle("GET", "/metrics").body;
  EXPECT_NE(text.find("saldo_sse_streams_rejected_total 1"), std::string::npos);
  EXPECT_NE(text.find("saldo_sse_streams_open 1"), std::string::npos);
}

TEST_F(HttpApiTest, RealServerStreamsChangesAndStopEndsOpenStreams) {
  make_ready();
  HttpServer server(api_, metrics_, loopback(8));
  const int port = server.start();
  std::mutex mutex;
  std::condition_variable got;
  std::string received;
  std::thread client_thread([&] {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(30, 0);
    // A browser's header: the stream must still come uncompressed, event by event.
    client.Get("/saldo/1/events", {{"Accept-Encoding", "gzip, deflate"}}, [&](const char* data, std::size_t n) {
      std::lock_guard lock(mutex);
      received.append(data, n);
      got.notify_all();
      return true;
    });
  });
  const auto wait_for_text = [&](std::string_view text) {
    std::unique_lock lock(mutex);
    return got.wait_for(lock, std::chrono::seconds(10), [&] { return received.find(text) != std::string::npos; });
  };
  ASSERT_TRUE(wait_for_text("\"saldo\":150.00")) << received;
  store_.set("1", 777, "2025-10-14T10:31:00", 0, 4);
  readiness_.advance(0, 5);
  EXPECT_TRUE(wait_for_text("id: 0:4\ndata: {\"cliente_id\":\"1\",\"saldo\":7.77")) << received;
  const auto began = std::chrono::steady_clock::now();
  server.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(5)) << "stop() waited for the stream";
  client_thread.join();
  EXPECT_EQ(metrics_.event_streams(), 0);
}

// --- Sharded mode (--shard-group): any instance answers any customer ---

// Records what it is asked and answers as the owners would: "http://b" answers a batch with every id
// found (its own table) and a single customer as found; "http://c" cannot be reached.
class FakeForwarder final : public PeerForwarder {
 public:
  struct Call {
    std::string url, method, path, body, authorization;
    QueryParams query;
  };
  std::size_t count() const {
    std::lock_guard lock(mutex_);
    return calls.size();
  }
  ApiReply forward(std::string_view url, const ApiRequest& request) const override {
    std::lock_guard lock(mutex_);
    calls.push_back(Call{std::string(url), std::string(request.method), std::string(request.path),
                         std::string(request.body), std::string(request.authorization),
                         request.query ? *request.query : QueryParams{}});
    ApiReply r;
    if (url == "http://c") {
      r.status = 503;
      r.retry_after_s = 1;
      r.owner_unreachable = true;
      r.body = R"({"error":"owner_unreachable","owner":"http://c"})";
      return r;
    }
    if (request.path == "/saldos") {
      r.body = R"({"found":[)";
      bool first = true;
      for (const auto& id : json::parse(request.body)) {
        if (!first) r.body += ",";
        first = false;
        // An exact decimal that a double would print otherwise: it must come back as written.
        r.body += R"({"cliente_id":")" + id.get<std::string>() + R"(","saldo":0.10,"timestamp":"t","partition":1,"offset":7,"served_by":"http://b"})";
      }
      r.body += R"(],"not_found":[],"invalid":[],"unavailable":[]})";
      return r;
    }
    r.body = R"({"cliente_id":"x","saldo":1.00,"served_by":"http://b"})";
    return r;
  }
  mutable std::mutex mutex_;
  mutable std::vector<Call> calls;
};

// 4 partitions: this instance ("http://a") holds 0 ready; b owns 1 and c owns 2, ready; 3's owner d
// still rebuilds it.
class ShardedApiTest : public HttpApiTest {
 protected:
  void SetUp() override {
    HttpApiTest::SetUp();  // not READY: a local route must not need it
    ShardPicture p;
    p.partitions = 4;
    using H = PartitionHold;
    p.members = {ShardMember{"http://a", {0}, {H::kReady, H::kNone, H::kNone, H::kNone}, false},
                 ShardMember{"http://b", {1}, {H::kNone, H::kReady, H::kNone, H::kNone}, false},
                 ShardMember{"http://c", {2}, {H::kNone, H::kNone, H::kReady, H::kNone}, false},
                 ShardMember{"http://d", {3}, {H::kNone, H::kNone, H::kNone, H::kRebuilding}, false}};
    map_.update(p);
    api_.set_shards(&map_, &forwarder_);
    api_.set_shard_route_wait(std::chrono::milliseconds(0));  // the waits have a test of their own
    for (std::int32_t partition = 0; partition < 4; ++partition) {
      for (int i = 0; ids_[partition].size() < 3; ++i) {
        const std::string id = "c" + std::to_string(i);
        if (murmur2_partition(id, 4) == partition) ids_[partition].push_back(id);
      }
    }
    store_.set(ids_[0][0], 123, "2025-10-14T10:30:45", 0, 2);
  }
  ApiReply request(std::string_view method, std::string_view path, const QueryParams* query = nullptr,
                   std::string_view body = {}, std::string_view authorization = {}, std::string_view forwarded_by = {}) {
    return api_.handle(ApiRequest{method, path, query, body, authorization, forwarded_by});
  }

  ShardMap map_{"http://a"};
  FakeForwarder forwarder_;
  std::vector<std::string> ids_[4];  // ids of each partition
};

TEST_F(ShardedApiTest, LocalAnswerNamesWhoAnsweredWithoutTheInstanceWideReadyGate) {
  ASSERT_FALSE(readiness_.ready());
  const ApiReply r = api_.handle("GET", "/saldo/" + ids_[0][0]);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"cliente_id":")" + ids_[0][0] +
                        R"(","saldo":1.23,"timestamp":"2025-10-14T10:30:45","partition":0,"offset":2,"served_by":"http://a"})");
  const ApiReply missing = api_.handle("GET", "/saldo/" + ids_[0][1]);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(json::parse(missing.body)["served_by"], "http://a");
  EXPECT_EQ(api_.handle("HEAD", "/saldo/" + ids_[0][0]).status, 200);
  EXPECT_TRUE(forwarder_.calls.empty());
  EXPECT_EQ(api_.handle("GET", "/saldo/bad id").status, 400);  // bad ids never leave
  EXPECT_TRUE(forwarder_.calls.empty());
}

TEST_F(ShardedApiTest, AStaleOrMissingRouteWaitsForTheNextPictureAndIsAskedAgain) {
  api_.set_shard_route_wait(std::chrono::seconds(5));
  // Partition 2's holder c is gone (unreachable); the coordinator's next picture says b took it over.
  ShardPicture moved = *map_.picture();
  moved.members[1].holds[2] = PartitionHold::kReady;
  moved.members[1].assigned = {1, 2};
  moved.members.erase(moved.members.begin() + 2);
  std::thread coordinator([&] {
    // Updated only once the request has been sent to c and is waiting.
    while (forwarder_.count() < 1) std::this_thread::yield();
    map_.update(moved);
  });
  const ApiReply r = api_.handle("GET", "/saldo/" + ids_[2][0]);
  coordinator.join();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["served_by"], "http://b");
  ASSERT_EQ(forwarder_.calls.size(), 2u);
  EXPECT_EQ(forwarder_.calls[0].url, "http://c");
  EXPECT_EQ(forwarder_.calls[1].url, "http://b");

  // Partition 3 is held ready nowhere (d still rebuilds): answered once d is ready, without a 503.
  ShardPicture ready = *map_.picture();
  ready.members[2].holds[3] = PartitionHold::kReady;  // d, now third
  std::thread rebuilt([&] {
    while (api_.waiting() == 0) std::this_thread::yield();  // the request waits for a route
    map_.update(ready);
  });
  const ApiReply later = api_.handle("GET", "/saldo/" + ids_[3][0]);
  rebuilt.join();
  EXPECT_EQ(later.status, 200) << later.body;
  EXPECT_EQ(forwarder_.calls.back().url, "http://d");
  EXPECT_GT(later.waited_s, 0.0);

  // Nothing comes within the wait: 503 with Retry-After, never a guess.
  api_.set_shard_route_wait(std::chrono::milliseconds(100));
  ShardPicture none = *map_.picture();
  for (auto& m : none.members) m.holds.assign(4, PartitionHold::kNone);
  map_.update(none);
  const ApiReply down = api_.handle("GET", "/saldo/" + ids_[1][0]);
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(down.retry_after_s, 1);
  EXPECT_EQ(json::parse(down.body)["error"], "partition_unavailable");
}

TEST_F(ShardedApiTest, AnotherOwnersCustomerIsForwardedWithQueryAndAuthorization) {
  const QueryParams q{{"after", "1:6"}, {"wait_ms", "300"}};
  const std::string path = "/saldo/" + ids_[1][0];
  const ApiReply r = request("GET", path, &q, {}, "Bearer s3cret");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["served_by"], "http://b");
  ASSERT_EQ(forwarder_.calls.size(), 1u);
  const auto& call = forwarder_.calls[0];
  EXPECT_EQ(call.url, "http://b");
  EXPECT_EQ(call.method, "GET");
  EXPECT_EQ(call.path, path);
  EXPECT_EQ(call.query, q);  // the owner waits for after=
  EXPECT_EQ(call.authorization, "Bearer s3cret");
  EXPECT_EQ(metrics_.shard_forwards(Metrics::ForwardResult::kOk), 1u);

  const ApiReply down = api_.handle("GET", "/saldo/" + ids_[2][0]);
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(down.retry_after_s, 1);
  EXPECT_EQ(json::parse(down.body)["error"], "owner_unreachable");
  EXPECT_EQ(metrics_.shard_forwards(Metrics::ForwardResult::kUnreachable), 1u);
  // A bad after= is refused here, not sent on.
  const QueryParams bad{{"after", "x"}};
  EXPECT_EQ(request("GET", path, &bad).status, 400);
  EXPECT_EQ(forwarder_.calls.size(), 2u);
}

TEST_F(ShardedApiTest, OneHopOnlyAForwardedRequestForAPartitionNotHeldHereIs503NotHeld) {
  const ApiReply r = request("GET", "/saldo/" + ids_[1][0], nullptr, {}, {}, "http://b");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.retry_after_s, 1);
  const json body = json::parse(r.body);
  EXPECT_EQ(body["error"], "not_held");
  EXPECT_EQ(body["partition"], 1);
  EXPECT_TRUE(forwarder_.calls.empty());
  // What is held here is answered, forwarded or not.
  EXPECT_EQ(request("GET", "/saldo/" + ids_[0][0], nullptr, {}, {}, "http://b").status, 200);
}

TEST_F(ShardedApiTest, APartitionNobodyHoldsReadyIs503WithRetryAfterNeverA404) {
  for (const std::string& id : ids_[3]) {
    const ApiReply r = api_.handle("GET", "/saldo/" + id);
    EXPECT_EQ(r.status, 503);
    EXPECT_EQ(r.retry_after_s, 1);
    const json body = json::parse(r.body);
    EXPECT_EQ(body["error"], "partition_unavailable");
    EXPECT_EQ(body["partition"], 3);
  }
  EXPECT_TRUE(forwarder_.calls.empty());
  EXPECT_EQ(metrics_.shard_forwards(Metrics::ForwardResult::kUnavailable), 3u);
  // The partition count not known yet: everything unavailable.
  map_.update(ShardPicture{});
  EXPECT_EQ(api_.handle("GET", "/saldo/" + ids_[0][0]).status, 503);
}

TEST_F(ShardedApiTest, LiveStreamHereRedirectedToTheOwnerOr503) {
  const ApiReply here = api_.handle("GET", "/saldo/" + ids_[0][0] + "/events");
  EXPECT_EQ(here.status, 200);
  ASSERT_TRUE(here.stream);
  const ApiReply there = api_.handle("GET", "/saldo/" + ids_[1][0] + "/events");
  EXPECT_EQ(there.status, 307);
  EXPECT_EQ(there.location, "http://b/saldo/" + ids_[1][0] + "/events");
  EXPECT_FALSE(there.stream);
  const ApiReply nobody = api_.handle("GET", "/saldo/" + ids_[3][0] + "/events");
  EXPECT_EQ(nobody.status, 503);
  EXPECT_EQ(nobody.retry_after_s, 1);
  EXPECT_TRUE(forwarder_.calls.empty());
}

TEST_F(ShardedApiTest, LiveStreamEndsWithMovedWhenItsPartitionIsHandedOverNeverWithADelete) {
  EventStreamTiming timing;
  timing.heartbeat = std::chrono::milliseconds(50);
  timing.liveness = std::chrono::milliseconds(10);
  api_.set_streams(4, timing);
  const auto alive = [] { return true; };
  const ApiReply here = api_.handle("GET", "/saldo/" + ids_[0][0] + "/events");
  ASSERT_TRUE(here.stream);
  std::string out;
  ASSERT_TRUE(here.stream->next(out, alive));
  EXPECT_NE(out.find("event: saldo"), std::string::npos) << out;
  using H = PartitionHold;
  const auto partition_0_at = [&](H at_a, H at_b) {
    ShardPicture p;
    p.partitions = 4;
    p.members = {ShardMember{"http://a", {}, {at_a, H::kNone, H::kNone, H::kNone}, false},
                 ShardMember{"http://b", {0, 1}, {at_b, H::kReady, H::kNone, H::kNone}, false},
                 ShardMember{"http://c", {2}, {H::kNone, H::kNone, H::kReady, H::kNone}, false},
                 ShardMember{"http://d", {3}, {H::kNone, H::kNone, H::kNone, H::kRebuilding}, false}};
    map_.update(p);
  };
  // No instance holds partition 0 ready (a picture a moment before b's READY): the rows gone and a
  // batch applied are only noted, neither a delete nor a move.
  partition_0_at(H::kNone, H::kRebuilding);
  store_.drop_partition(0);
  make_ready();
  ASSERT_TRUE(here.stream->next(out, alive));
  EXPECT_EQ(out, kSseHeartbeat);
  // b holds it ready: the stream names b and ends.
  partition_0_at(H::kNone, H::kReady);
  ASSERT_TRUE(here.stream->next(out, alive));
  EXPECT_EQ(out, "event: moved\ndata: {\"cliente_id\":\"" + ids_[0][0] + "\",\"owner\":\"http://b\"}\n\n");
  EXPECT_FALSE(here.stream->next(out, alive));  // over: the client reconnects
  const ApiReply again = api_.handle("GET", "/saldo/" + ids_[0][0] + "/events");
  EXPECT_EQ(again.status, 307);
  EXPECT_EQ(again.location, "http://b/saldo/" + ids_[0][0] + "/events");
}

TEST_F(ShardedApiTest, BatchIsSplitByOwnerAndMergedInTheCallersOrder) {
  const std::vector<std::string> asked = {ids_[1][0], ids_[0][0], ids_[3][0], "bad id", ids_[2][0],
                                          ids_[0][1], ids_[1][1], ids_[1][0]};
  json body = json::array();
  for (const auto& id : asked) body.push_back(id);
  const ApiReply r = request("POST", "/saldos", nullptr, body.dump(), "Bearer t");
  ASSERT_EQ(r.status, 200) << r.body;
  // b was asked once, with its ids in order, and its exact decimals come back as it wrote them.
  ASSERT_EQ(forwarder_.calls.size(), 2u);
  const auto& to_b = forwarder_.calls[0];
  EXPECT_EQ(to_b.url, "http://b");
  EXPECT_EQ(to_b.method, "POST");
  EXPECT_EQ(to_b.path, "/saldos");
  EXPECT_EQ(json::parse(to_b.body), json::array({ids_[1][0], ids_[1][1]}));
  EXPECT_EQ(to_b.authorization, "Bearer t");
  EXPECT_EQ(forwarder_.calls[1].url, "http://c");
  EXPECT_NE(r.body.find(R"("saldo":0.10,)"), std::string::npos) << r.body;

  const json got = json::parse(r.body);
  ASSERT_EQ(got["found"].size(), 3u);
  EXPECT_EQ(got["found"][0]["cliente_id"], ids_[1][0]);
  EXPECT_EQ(got["found"][0]["served_by"], "http://b");
  EXPECT_EQ(got["found"][1]["cliente_id"], ids_[0][0]);
  EXPECT_EQ(got["found"][1]["served_by"], "http://a");
  EXPECT_EQ(got["found"][1]["saldo"], 1.23);
  EXPECT_EQ(got["found"][2]["cliente_id"], ids_[1][1]);
  ASSERT_EQ(got["not_found"].size(), 1u);
  EXPECT_EQ(got["not_found"][0], json({{"cliente_id", ids_[0][1]}, {"served_by", "http://a"}}));
  ASSERT_EQ(got["invalid"].size(), 1u);
  EXPECT_EQ(got["invalid"][0]["cliente_id"], "bad id");
  ASSERT_EQ(got["unavailable"].size(), 2u);
  EXPECT_EQ(got["unavailable"][0], json({{"cliente_id", ids_[3][0]}, {"partition", 3}, {"error", "partition_unavailable"}}));
  EXPECT_EQ(got["unavailable"][1],
            json({{"cliente_id", ids_[2][0]}, {"partition", 2}, {"error", "owner_unreachable"}, {"owner", "http://c"}}));

  // GET /saldos?ids= the same way.
  const QueryParams q{{"ids", ids_[0][0] + "," + ids_[1][0]}};
  const json by_get = json::parse(request("GET", "/saldos", &q).body);
  EXPECT_EQ(by_get["found"].size(), 2u);
  EXPECT_EQ(forwarder_.calls.size(), 3u);
}

TEST_F(ShardedApiTest, AForwardedBatchIsAnsweredHereOrNotHeldNeverForwardedAgain) {
  const json body = json::array({ids_[0][0], ids_[1][0]});
  const json got = json::parse(request("POST", "/saldos", nullptr, body.dump(), {}, "http://b").body);
  EXPECT_TRUE(forwarder_.calls.empty());
  ASSERT_EQ(got["found"].size(), 1u);
  ASSERT_EQ(got["unavailable"].size(), 1u);
  EXPECT_EQ(got["unavailable"][0]["error"], "not_held");
}

TEST_F(ShardedApiTest, ShardStatusNeedsNoTokenAndRoundTrips) {
  const ApiReply r = api_.handle("GET", "/shard/status");
  ASSERT_EQ(r.status, 200);
  const auto member = parse_shard_status(r.body);
  ASSERT_TRUE(member);
  EXPECT_EQ(*member, *map_.picture()->member("http://a"));
  EXPECT_FALSE(route_needs_token(Route::kShardStatus, false));
}

TEST_F(ShardedApiTest, ReadyShowsTheAssignmentAndWhoAnswersEachPartition) {
  const json shard = json::parse(api_.handle("GET", "/ready").body)["shard"];
  EXPECT_EQ(shard["self"], "http://a");
  EXPECT_EQ(shard["assigned"], json::array({0}));
  EXPECT_EQ(shard["draining"], false);
  ASSERT_EQ(shard["routes"].size(), 4u);
  EXPECT_EQ(shard["routes"][0], json({{"partition", 0}, {"owner", "http://a"}, {"here", "ready"}, {"ready_at", {"http://a"}}}));
  EXPECT_EQ(shard["routes"][3], json({{"partition", 3}, {"owner", "http://d"}, {"here", "none"}, {"ready_at", json::array()}}));
}

TEST_F(ShardedApiTest, ShardMetricsOnlyWhenSharded) {
  metrics_.shard_owned_partitions(1);
  metrics_.shard_partitions_held(2);
  metrics_.shard_handover();
  std::string text = api_.handle("GET", "/metrics").body;
  EXPECT_NE(text.find("saldo_shard_forwards_total{result=\"unavailable\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("saldo_shard_owned_partitions 1\n"), std::string::npos);
  EXPECT_NE(text.find("saldo_shard_partitions_held 2\n"), std::string::npos);
  EXPECT_NE(text.find("saldo_shard_handovers_total 1\n"), std::string::npos);
  api_.set_shards(nullptr, nullptr);
  text = api_.handle("GET", "/metrics").body;
  EXPECT_EQ(text.find("saldo_shard_"), std::string::npos);
}

TEST_F(HttpApiTest, NotShardedEverythingAsBefore) {
  make_ready();
  EXPECT_EQ(api_.handle("GET", "/saldo/1").body.find("served_by"), std::string::npos);
  EXPECT_EQ(post(R"(["1","2"])").body, R"({"found":[{"cliente_id":"1","saldo":150.00,"timestamp":"2025-10-14T10:30:45","partition":0,"offset":3}],"not_found":[{"cliente_id":"2"}],"invalid":[]})");
  const ApiReply status = api_.handle("GET", "/shard/status");
  EXPECT_EQ(status.status, 404);
  EXPECT_TRUE(json::parse(status.body).contains("error"));
  EXPECT_FALSE(json::parse(api_.handle("GET", "/ready").body).contains("shard"));
  EXPECT_EQ(api_.handle("GET", "/metrics").body.find("saldo_shard_"), std::string::npos);
}

}  // namespace
}  // namespace saldo
