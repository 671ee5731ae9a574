// The consumer service against the real broker: a 3-partition compacted topic written by a plain
// librdkafka producer (tests/support), read by the service in-process and checked over real HTTP.
#include <gtest/gtest.h>
#include <httplib.h>

#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/money.h"
#include "consumer_service/store/balance_store.h"
#include "consumer_service/http/http_api.h"
#include "consumer_service/http/http_server.h"
#include "consumer_service/status/metrics.h"
#include "consumer_service/status/readiness.h"
#include "consumer_service/table/table_reader.h"
#include "tests/support/kafka_test_support.h"

namespace saldo {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// Polls `done` every 20 ms until it holds or `limit` passes.
template <class F>
bool eventually(F done, std::chrono::milliseconds limit = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// The whole service in-process, HTTP on an ephemeral port.
struct Service {
  explicit Service(const std::string& topic, bool hold_ready = false)
      : readiness(topic),
        api(store, readiness, metrics),
        server(api, metrics, HttpServerOptions{.host = "127.0.0.1", .port = 0, .threads = 16}),
        reader(TableReaderOptions{.kafka = KafkaOptions{test::bootstrap_servers(), topic, "", {}}}, store, readiness, metrics) {
    readiness.hold_ready(hold_ready);
    port = server.start();
    reader.start();
  }
  ~Service() {
    server.stop();
    reader.stop();
  }
  httplib::Result get(const std::string& path) {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(5, 0);
    return client.Get(path.c_str());
  }
  bool wait_ready() {
    return eventually([&] {
      auto r = get("/ready");
      return r && r->status == 200;
    });
  }

  BalanceStore store;
  Readiness readiness;
  Metrics metrics;
  HttpApi api;
  HttpServer server;
  TableReader reader;
  int port = 0;
};

std::string value_of(const std::string& id, Centavos c, const std::string& ts) {
  return R"({"cliente_id":")" + id + R"(","saldo":)" + format_money(c) + R"(,"timestamp":")" + ts + R"("})";
}

struct Expected {
  Centavos saldo;
  std::string timestamp;
};

// What each key must answer: nullopt = deleted (404). Partition and offset come from read_all().
using ExpectedMap = std::map<std::string, std::optional<Expected>>;

void expect_answers(Service& svc, const std::string& topic, const ExpectedMap& expected,
                    const std::set<std::string>& poison_values) {
  std::map<std::string, test::Record> last_good;
  for (const auto& r : test::read_all(topic)) {
    if (r.key && !(r.value && poison_values.count(*r.value))) last_good[*r.key] = r;
  }
  for (const auto& [id, want] : expected) {
    auto res = svc.get("/saldo/" + id);
    ASSERT_TRUE(res) << id;
    if (!want) {
      EXPECT_EQ(res->status, 404) << id << " " << res->body;
      EXPECT_EQ(res->body, R"({"error":"cliente não encontrado"})");
      continue;
    }
    ASSERT_EQ(res->status, 200) << id << " " << res->body;
    EXPECT_NE(res->body.find("\"saldo\":" + format_money(want->saldo) + ","), std::string::npos)
        << id << " " << res->body;
    const json body = json::parse(res->body);
    EXPECT_EQ(body["cliente_id"], id);
    EXPECT_EQ(body["timestamp"], want->timestamp);
    EXPECT_EQ(body["partition"], last_good[id].partition) << id;
    EXPECT_EQ(body["offset"], last_good[id].offset) << id;
  }
}

TEST(ConsumerService, RebuildsTailsSurvivesPoisonAndRestartsTheSame) {
  const std::string topic = test::unique_topic("service");
  test::create_topic(topic, 3);

  test::RawProducer producer;
  ExpectedMap expected;
  std::set<std::string> poison;
  std::mt19937 rng(7);
  auto put = [&](const std::string& id, Centavos c, const std::string& ts) {
    producer.send(topic, id, value_of(id, c, ts));
    expected[id] = Expected{c, ts};
  };
  auto del = [&](const std::string& id) {
    producer.send(topic, id, std::nullopt);
    expected[id] = std::nullopt;
  };
  auto bad = [&](const std::optional<std::string>& key, const std::string& value) {
    producer.send(topic, key, value);
    poison.insert(value);
  };

  for (int round = 0; round < 4; ++round) {
    for (int k = 0; k < 300; ++k) {
      const std::string id = test::numbered("c", k);
      const auto c = static_cast<Centavos>(rng() % 2000000) - 500000;
      // Every tenth key is deleted in round 2; half of those come back in round 3.
      if (k % 10 == 3 && round == 2) {
        del(id);
      } else if (!(k % 20 == 3 && round == 3)) {
        put(id, c, "2025-10-1" + std::to_string(round) + "T10:30:45");
      }
    }
    // Poison in the middle: each has a key whose good value must survive.
    bad(std::string("c1"), "{not json");
    bad(std::string("c2"), R"({"cliente_id":"c2","saldo":1.234,"timestamp":"2025-10-14T10:30:45"})");
    bad(std::string("c4"), R"({"cliente_id":"other","saldo":1,"timestamp":"2025-10-14T10:30:45"})");
    bad(std::string("c5"), R"({"cliente_id":"c5","saldo":1,"timestamp":"yesterday"})");
    bad(std::string("bad key!"), "{}");
  }
  del("never-existed");
  put("odd-ts", 1, "2025-10-14T10:30:45.123-03:00");
  producer.flush();

  {
    Service svc(topic);
    ASSERT_TRUE(svc.wait_ready()) << svc.get("/ready")->body;
    expect_answers(svc, topic, expected, poison);
    EXPECT_EQ(svc.metrics.invalid_count(DecodeError::kInvalidJson), 4u);
    EXPECT_EQ(svc.metrics.invalid_count(DecodeError::kInvalidAmount), 4u);
    EXPECT_EQ(svc.metrics.invalid_count(DecodeError::kIdMismatch), 4u);
    EXPECT_EQ(svc.metrics.invalid_count(DecodeError::kInvalidTimestamp), 4u);  // (a compacted topic refuses null keys)
    // The last round's poison is each customer's newest record: the answer says so.
    for (const char* id : {"c1", "c2", "c4", "c5"}) {
      const auto body = nlohmann::json::parse(svc.get(std::string("/saldo/") + id)->body);
      EXPECT_TRUE(body.contains("warning")) << id << " " << body.dump();
    }
    EXPECT_EQ(svc.metrics.invalid_count(DecodeError::kInvalidKey), 4u);

    // Tailing: new values and deletes become visible.
    put("c7", 4242, "2025-11-01T00:00:00");
    del("c8");
    put("brand-new", -1, "2025-11-01T00:00:01");
    producer.flush();
    EXPECT_TRUE(eventually([&] {
      auto r = svc.get("/saldo/brand-new");
      return r && r->status == 200;
    }, 10s));
    EXPECT_TRUE(eventually([&] {
      auto r = svc.get("/saldo/c8");
      return r && r->status == 404;
    }, 10s));
    expect_answers(svc, topic, expected, poison);

    auto metrics = svc.get("/metrics");
    ASSERT_TRUE(metrics);
    EXPECT_NE(metrics->body.find("saldo_ready 1"), std::string::npos);
  }
  Service restarted(topic);
  ASSERT_TRUE(restarted.wait_ready());
  expect_answers(restarted, topic, expected, poison);
}

TEST(ConsumerService, Answers503NeverA404BeforeReady) {
  const std::string topic = test::unique_topic("service-503");
  test::create_topic(topic, 3);
  test::RawProducer producer;
  for (int k = 0; k < 50; ++k) {
    producer.send(topic, test::numbered("c", k), value_of(test::numbered("c", k), k, "2025-10-14T10:30:45"));
  }
  producer.flush();

  // READY is held back (test hook) so "before READY" lasts as long as the test needs, whatever the
  // speed of the rebuild: first while nothing is read, then with every partition caught up.
  Service svc(topic, /*hold_ready=*/true);
  auto expect_503 = [&] {
    for (const char* path : {"/saldo/c1", "/saldo/missing"}) {
      auto r = svc.get(path);
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 503) << path << " " << r->body;
      EXPECT_EQ(r->get_header_value("Retry-After"), "1");
      EXPECT_TRUE(json::parse(r->body).contains("progress"));
    }
    auto ready = svc.get("/ready");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 503);
  };
  expect_503();
  ASSERT_TRUE(eventually([&] {
    const auto s = svc.readiness.snapshot();
    if (s.partitions.size() != 3) return false;
    for (const auto& p : s.partitions) {
      if (!p.caught_up) return false;
    }
    return true;
  }));
  EXPECT_EQ(svc.store.size(), 50u);
  expect_503();

  svc.readiness.hold_ready(false);
  ASSERT_TRUE(svc.wait_ready());
  EXPECT_EQ(svc.get("/saldo/c1")->status, 200);
  EXPECT_EQ(svc.get("/saldo/missing")->status, 404);
}

TEST(ConsumerService, WaitsForAMissingTopicAndSaysSo) {
  const std::string topic = test::unique_topic("service-late");
  Service svc(topic);
  ASSERT_TRUE(eventually([&] {
    auto r = svc.get("/ready");
    return r && r->status == 503 && json::parse(r->body)["topic_missing"] == true;
  }, 30s));
  EXPECT_EQ(svc.get("/saldo/c1")->status, 503);

  test::create_topic(topic, 3);
  test::RawProducer producer;
  producer.send(topic, std::string("c1"), value_of("c1", 100, "2025-10-14T10:30:45"));
  producer.flush();
  ASSERT_TRUE(svc.wait_ready());
  EXPECT_TRUE(eventually([&] {
    auto r = svc.get("/saldo/c1");
    return r && r->status == 200;
  }, 10s));
}

// A transactional producer of its own (librdkafka's transactions API): records it sends stay past the
// last stable offset until it commits.
class TransactionalProducer {
 public:
  explicit TransactionalProducer(const std::string& id) {
    KafkaConf conf = make_kafka_conf(KafkaOptions{test::bootstrap_servers(), "", "", {{"transactional.id", id}}});
    rk_ = make_kafka_handle(RD_KAFKA_PRODUCER, std::move(conf));
    check(rd_kafka_init_transactions(rk_.get(), 30000), "init_transactions");
    check(rd_kafka_begin_transaction(rk_.get()), "begin_transaction");
  }
  void send(const std::string& topic, const std::string& key, const std::string& value) {
    const auto err = rd_kafka_producev(rk_.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(0),
                                       RD_KAFKA_V_KEY(key.data(), key.size()),
                                       RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                                       RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (err) throw std::runtime_error(std::string("produce: ") + rd_kafka_err2str(err));
  }
  // In the partition's log, not committed.
  void flush() {
    if (const auto err = rd_kafka_flush(rk_.get(), 30000)) throw std::runtime_error(rd_kafka_err2str(err));
  }
  void commit() { check(rd_kafka_commit_transaction(rk_.get(), 30000), "commit_transaction"); }

 private:
  static void check(rd_kafka_error_t* error, const char* what) {
    if (error == nullptr) return;
    const std::string why = std::string(what) + ": " + rd_kafka_error_string(error);
    rd_kafka_error_destroy(error);
    throw std::runtime_error(why);
  }
  KafkaHandle rk_;
};

// Records of a transaction still open are past the last stable offset: the table cannot read them
// yet, so /ready shows them apart ("uncommitted") and the lag stays 0 (an alert on lag would fire for
// nothing for up to transaction.timeout.ms); once committed they are lag until read, then applied.
TEST(ConsumerService, AnOpenTransactionIsShownApartNotAsLag) {
  const std::string topic = test::unique_topic("service-txn");
  test::create_topic(topic, 1);
  test::RawProducer producer;
  for (int i = 0; i < 10; ++i) producer.send(topic, "c" + std::to_string(i), value_of("c" + std::to_string(i), 100 + i, "2025-10-14T10:30:45"));
  producer.flush();
  Service svc(topic);
  ASSERT_TRUE(svc.wait_ready()) << svc.get("/ready")->body;

  TransactionalProducer txn("saldo-test-" + topic);
  for (int i = 0; i < 50; ++i) txn.send(topic, "t" + std::to_string(i), value_of("t" + std::to_string(i), 7, "2025-10-14T10:31:00"));
  txn.flush();
  const auto partition0 = [&] {
    auto r = svc.get("/ready");
    return r ? json::parse(r->body)["partitions"][0] : json();
  };
  ASSERT_TRUE(eventually([&] { return partition0().value("uncommitted", -1) == 50; }, 15s)) << svc.get("/ready")->body;
  json p = partition0();
  EXPECT_EQ(p["lag"], 0) << p.dump();
  EXPECT_EQ(p["last_stable_offset"], 10) << p.dump();
  EXPECT_EQ(p["high_watermark"], 60) << p.dump();
  EXPECT_EQ(svc.get("/saldo/t0")->status, 404) << "not committed: not readable";
  const std::string metrics = svc.get("/metrics")->body;
  EXPECT_NE(metrics.find("saldo_partition_uncommitted_records{partition=\"0\"} 50"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("saldo_partition_lag{partition=\"0\"} 0"), std::string::npos) << metrics;

  txn.commit();
  ASSERT_TRUE(eventually([&] { return svc.get("/saldo/t49")->status == 200; }, 15s));
  // The commit marker is the 61st offset; everything read, nothing open.
  ASSERT_TRUE(eventually([&] {
    const json q = partition0();
    return q.value("high_watermark", -1) == 61 && q.value("uncommitted", -1) == 0 && q.value("lag", -1) == 0 &&
           q.value("offset", -1) == 61;
  }, 15s)) << svc.get("/ready")->body;
}

}  // namespace
}  // namespace saldo
