#include "consumer_service/http_api.h"

#include <gtest/gtest.h>

#include <chrono>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "consumer_service/http_server.h"

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
  HttpServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.threads = 8;
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
  res = client.Post("/saldo/1", std::string(64 * 1024, 'x'), "text/plain");
  EXPECT_TRUE(!res || res->status == 413) << res->status;
  EXPECT_GE(metrics_.http_requests(Route::kSaldo, 200), 20u);
  server.stop();
}

TEST_F(HttpApiTest, RealServer503CarriesRetryAfter) {
  HttpServerOptions options;
  options.host = "127.0.0.1";
  options.port = 0;
  options.threads = 4;
  HttpServer server(api_, metrics_, options);
  const int port = server.start();
  httplib::Client client("127.0.0.1", port);
  auto res = client.Get("/saldo/1");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(res->get_header_value("Retry-After"), "1");
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
