// Operate: /metrics passes promtool and its counters move; logs are text or JSON lines, honour the
// level, rate-limit poison warnings and never show balances or secrets at info; every kind of poison
// record is skipped, counted by reason, keeps the last good value and is copied to the dead-letter
// topic with its reason and source. Against the shared real broker.
#include <gtest/gtest.h>
#include <signal.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <nlohmann/json.hpp>

#include "tests/faults/fault_support.h"

namespace saldo::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::string value_of(const std::string& id, const std::string& saldo, const std::string& ts = "2025-10-14T10:30:45") {
  return R"({"cliente_id":")" + id + R"(","saldo":)" + saldo + R"(,"timestamp":")" + ts + R"("})";
}

double scrape(const ServiceProcess& svc, const std::string& sample) {
  return metric(svc.get("/metrics").body, sample).value_or(-1);
}

TEST(Metrics, PromtoolAcceptsALiveScrapeAndCountersMove) {
  const std::string topic = unique_topic("faults-metrics");
  create_topic(topic, 3);
  RawProducer producer;
  for (int i = 1; i <= 10; ++i) producer.send(topic, std::to_string(i), value_of(std::to_string(i), "1.00"));
  producer.send(topic, "9", std::nullopt);
  producer.send(topic, "10", std::nullopt);
  producer.flush();

  ServiceProcess svc(bootstrap_servers(), topic);
  ASSERT_TRUE(svc.wait_ready()) << svc.log();
  const std::string first = svc.get("/metrics").body;
  const CommandResult lint = run_command({"/usr/bin/promtool", "check", "metrics"}, first);
  EXPECT_EQ(lint.exit_code, 0) << lint.out << lint.err << "\n" << first;
  for (const char* name : {"saldo_records_applied_total", "saldo_tombstones_total", "saldo_invalid_records_total",
                           "saldo_customers", "saldo_partition_offset", "saldo_partition_high_watermark",
                           "saldo_partition_lag", "saldo_state", "saldo_rebuild_duration_seconds",
                           "saldo_rebuild_records_per_second", "saldo_http_requests_total",
                           "saldo_http_request_duration_seconds_bucket", "saldo_build_info",
                           "saldo_broker_reachable", "saldo_dead_letter_records_total"}) {
    // A family is declared by its TYPE line; a labelled counter has samples only once something
    // counted (the /ready polls that saw READY may be recorded just after this scrape).
    const bool declared = first.find(std::string("# TYPE ") + name + " ") != std::string::npos;
    const bool sampled = first.find(std::string("\n") + name) != std::string::npos;
    EXPECT_TRUE(declared || sampled) << name;
  }
  EXPECT_EQ(metric(first, "saldo_records_applied_total"), 12);
  EXPECT_EQ(metric(first, "saldo_tombstones_total"), 2);
  EXPECT_EQ(metric(first, "saldo_customers"), 8);
  EXPECT_EQ(metric(first, "saldo_state{state=\"READY\"}"), 1);
  EXPECT_EQ(metric(first, "saldo_rebuild_records"), 12);
  EXPECT_GT(metric(first, "saldo_rebuild_duration_seconds").value_or(0), 0);
  double offsets = 0;
  for (int p = 0; p < 3; ++p) {
    const std::string l = "{partition=\"" + std::to_string(p) + "\"}";
    offsets += metric(first, "saldo_partition_offset" + l).value_or(-100);
    EXPECT_EQ(metric(first, "saldo_partition_lag" + l), 0);
  }
  EXPECT_EQ(offsets, 12);

  // Records arrive: applied, tombstones and invalid move.
  for (int i = 11; i <= 15; ++i) producer.send(topic, std::to_string(i), value_of(std::to_string(i), "2.50"));
  producer.send(topic, "1", std::nullopt);
  producer.send(topic, "2", "{not json");
  producer.flush();
  // The poison record sits on its own partition: wait for it too, not only for the valid ones.
  EXPECT_TRUE(wait_until([&] {
    const std::string m = svc.get("/metrics").body;
    return metric(m, "saldo_records_applied_total") == 18 &&
           metric(m, "saldo_invalid_records_total{reason=\"invalid_json\"}") == 1;
  }, 20s));
  const std::string second = svc.get("/metrics").body;
  EXPECT_EQ(metric(second, "saldo_tombstones_total"), 3);
  EXPECT_EQ(metric(second, "saldo_invalid_records_total{reason=\"invalid_json\"}"), 1);
  EXPECT_EQ(metric(second, "saldo_customers"), 12);

  // Requests arrive: by route and status, and in the latency histogram.
  const double ok_before = metric(second, "saldo_http_requests_total{route=\"/saldo\",status=\"200\"}").value_or(0);
  const double latency_before = metric(second, "saldo_http_request_duration_seconds_count").value_or(0);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(svc.get("/saldo/3").status, 200);
  EXPECT_EQ(svc.get("/saldo/1").status, 404);
  EXPECT_EQ(svc.get("/saldo/a%20b").status, 400);
  // cpp-httplib counts a request (its logger hook) just after the answer is written, so each count
  // may trail the client's view by a moment: wait for all three.
  EXPECT_TRUE(wait_until([&] {
    const std::string m = svc.get("/metrics").body;
    return metric(m, "saldo_http_requests_total{route=\"/saldo\",status=\"200\"}") == ok_before + 3 &&
           metric(m, "saldo_http_requests_total{route=\"/saldo\",status=\"404\"}") == 1 &&
           metric(m, "saldo_http_requests_total{route=\"/saldo\",status=\"400\"}") == 1;
  }, 5s));
  const std::string third = svc.get("/metrics").body;
  EXPECT_EQ(metric(third, "saldo_http_requests_total{route=\"/saldo\",status=\"404\"}"), 1);
  EXPECT_EQ(metric(third, "saldo_http_requests_total{route=\"/saldo\",status=\"400\"}"), 1);
  EXPECT_GE(metric(third, "saldo_http_request_duration_seconds_count").value_or(0), latency_before + 5);
  EXPECT_EQ(run_command({"/usr/bin/promtool", "check", "metrics"}, third).exit_code, 0);
  EXPECT_EQ(svc.stop(SIGTERM, 5s), 0);
}

TEST(Logs, JsonLinesNoSecretsNoBalancesPoisonRateLimitedButCounted) {
  const std::string topic = unique_topic("faults-logs");
  create_topic(topic, 1);
  RawProducer producer;
  producer.send(topic, "1", value_of("1", "98765.43"));
  for (int i = 0; i < 40; ++i) producer.send(topic, "2", "{poison " + std::to_string(i));
  producer.flush();

  // The password comes from the environment (the command line refuses it); the log must mask it.
  ServiceProcess svc(bootstrap_servers(), topic, {"-X", "sasl.username=saldo"},
                     {{"LOG_FORMAT", "json"}, {"LOG_LEVEL", "info"}, {"KAFKA_PASSWORD", "hunter2-very-secret"}});
  ASSERT_TRUE(svc.wait_ready()) << svc.log();
  EXPECT_EQ(svc.get("/saldo/1").status, 200);
  EXPECT_EQ(scrape(svc, "saldo_invalid_records_total{reason=\"invalid_json\"}"), 40);
  ASSERT_EQ(svc.stop(SIGTERM, 5s), 0);

  const std::string log = svc.log();
  std::istringstream in(log);
  std::string line;
  int lines = 0, skipped = 0;
  std::map<std::string, int> levels;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    ++lines;
    const json j = json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "not JSON: " << line;
    ASSERT_TRUE(j.contains("ts") && j.contains("level") && j.contains("msg")) << line;
    levels[j["level"].get<std::string>()]++;
    if (j["msg"].get<std::string>().find("skipped record") != std::string::npos) ++skipped;
  }
  EXPECT_GT(lines, 3);
  EXPECT_GT(levels["info"], 0);
  EXPECT_GE(skipped, 1);
  EXPECT_LE(skipped, 10) << "poison warnings are rate-limited";
  EXPECT_EQ(log.find("hunter2"), std::string::npos) << log;
  EXPECT_EQ(log.find("98765"), std::string::npos) << "no balance in the log: " << log;
}

TEST(Logs, TextByDefaultAndLevelHonoured) {
  const std::string topic = unique_topic("faults-loglevel");
  create_topic(topic, 1);
  {
    ServiceProcess svc(bootstrap_servers(), topic);
    ASSERT_TRUE(svc.wait_ready()) << svc.log();
    ASSERT_EQ(svc.stop(SIGTERM, 5s), 0);
    const std::string log = svc.log();
    EXPECT_NE(log.find(" info  [consumer_service] "), std::string::npos) << log;
    EXPECT_NE(log[0], '{');
  }
  {
    ServiceProcess svc(bootstrap_servers(), topic, {}, {{"LOG_LEVEL", "warn"}});
    ASSERT_TRUE(svc.wait_ready()) << svc.log();
    ASSERT_EQ(svc.stop(SIGTERM, 5s), 0);
    EXPECT_EQ(svc.log().find(" info "), std::string::npos) << svc.log();
  }
  {
    ServiceProcess svc(bootstrap_servers(), topic, {"--log-level", "error"});
    ASSERT_TRUE(svc.wait_ready()) << svc.log();
    ASSERT_EQ(svc.stop(SIGTERM, 5s), 0);
    EXPECT_EQ(svc.log(), "") << "a healthy run logs nothing at error level";
  }
}

struct DeadLetter {
  std::string key;
  std::size_t value_size = 0;
  std::map<std::string, std::string> headers;
};

// The dead-letter topic's records with their headers (read_all() does not keep headers).
std::vector<DeadLetter> read_dead_letters(const std::string& topic, std::size_t expected) {
  KafkaOptions options{bootstrap_servers(), "", "", {{"group.id", "faults-dlq-reader"}, {"enable.auto.commit", "false"},
                                                     {"fetch.max.bytes", "4000000"}}};
  KafkaHandle rk = make_kafka_handle(RD_KAFKA_CONSUMER, make_kafka_conf(options));
  PartitionList list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk.get(), list.get());
  std::vector<DeadLetter> out;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (out.size() < expected && std::chrono::steady_clock::now() < deadline) {
    KafkaMessage m(rd_kafka_consumer_poll(rk.get(), 200));
    if (!m || m->err) continue;
    DeadLetter d;
    if (m->key) d.key.assign(static_cast<const char*>(m->key), m->key_len);
    d.value_size = m->len;
    rd_kafka_headers_t* hdrs = nullptr;
    if (rd_kafka_message_headers(m.get(), &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR) {
      const char* name = nullptr;
      const void* value = nullptr;
      std::size_t size = 0;
      for (std::size_t i = 0; rd_kafka_header_get_all(hdrs, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
        d.headers[name] = std::string(static_cast<const char*>(value), size);
      }
    }
    out.push_back(std::move(d));
  }
  rd_kafka_consumer_close(rk.get());
  return out;
}

TEST(Poison, EveryKindSkippedCountedLastGoodKeptNeighboursRightAndDeadLettered) {
  const std::string topic = unique_topic("faults-poison");
  const std::string dlq = topic + "-dlq";
  create_topic(topic, 3, {{"max.message.bytes", "2000000"}});
  create_topic(dlq, 1, {{"cleanup.policy", "delete"}, {"max.message.bytes", "2000000"}});
  RawProducer producer(KeyValues{{"message.max.bytes", "3000000"}});

  struct Poison {
    std::string key;
    std::optional<std::string> value;
    std::string reason;
  };
  const std::string big = R"({"cliente_id":"k5","saldo":1.00,"timestamp":"2025-10-14T10:30:45","pad":")" +
                          std::string(1024 * 1024, 'x') + "\"}";
  const std::vector<Poison> poison = {
      {"k1", "{not json", "invalid_json"},
      {"k2", R"({"cliente_id":"k2","saldo":true,"timestamp":"2025-10-14T10:30:45"})", "wrong_type"},
      {"k3", value_of("k3", "1.234"), "invalid_amount"},
      {"k4", value_of("k4", "1e400"), "invalid_amount"},
      {"k5", big, "too_large"},
      {"k6", "{\"cliente_id\":\"k6\",\"saldo\":1.00,\"timestamp\":\"2025-10-14T10:30:45\xff\"}", "invalid_json"},
      {"k7", value_of("someone-else", "1.00"), "id_mismatch"},
      {"", value_of("k8", "1.00"), "invalid_key"},
      {"", std::nullopt, "invalid_key"},
      {"k9", "[1,2]", "not_an_object"},
      {"k10", R"({"cliente_id":"k10","timestamp":"2025-10-14T10:30:45"})", "missing_field"},
      {"k11", value_of("k11", "1.00", "yesterday"), "invalid_timestamp"},
      {"k\xc3", value_of("k\xc3", "1.00"), "invalid_key"},
  };
  std::map<std::string, int> by_reason;
  for (const auto& p : poison) by_reason[p.reason]++;
  // Every poisoned key first holds a good value, and has good neighbours written around it.
  for (int i = 1; i <= 11; ++i) producer.send(topic, "k" + std::to_string(i), value_of("k" + std::to_string(i), "10.00"));
  for (int i = 0; i < 20; ++i) producer.send(topic, "n" + std::to_string(i), value_of("n" + std::to_string(i), "1.00"));
  producer.flush();
  for (const auto& p : poison) producer.send(topic, p.key, p.value);
  for (int i = 0; i < 20; ++i) producer.send(topic, "n" + std::to_string(i), value_of("n" + std::to_string(i), std::to_string(i) + ".25"));
  producer.flush();

  // A compacted topic refuses a record without a key: the broker says so to the producer.
  {
    RawProducer keyless;
    keyless.send(topic, std::nullopt, value_of("1", "1.00"));
    EXPECT_THROW(keyless.flush(20s), std::runtime_error);
  }

  ServiceProcess svc(bootstrap_servers(), topic, {"--dead-letter-topic", dlq});
  ASSERT_TRUE(svc.wait_ready()) << svc.log();
  const std::string text = svc.get("/metrics").body;
  for (const auto& [reason, n] : by_reason) {
    EXPECT_EQ(metric(text, "saldo_invalid_records_total{reason=\"" + reason + "\"}"), n) << reason;
  }
  for (int i = 1; i <= 11; ++i) {
    const HttpReply r = svc.get("/saldo/k" + std::to_string(i));
    EXPECT_EQ(r.status, 200) << i;
    EXPECT_NE(r.body.find("\"saldo\":10.00,"), std::string::npos) << r.body;
  }
  for (int i = 0; i < 20; ++i) {
    const HttpReply r = svc.get("/saldo/n" + std::to_string(i));
    EXPECT_NE(r.body.find("\"saldo\":" + std::to_string(i) + ".25,"), std::string::npos) << r.body;
  }
  EXPECT_EQ(svc.get("/health").status, 200);

  // Each poison record is in the dead-letter topic, untouched, with why and where it came from.
  EXPECT_TRUE(wait_until([&] { return scrape(svc, "saldo_dead_letter_records_total{result=\"delivered\"}") ==
                                      static_cast<double>(poison.size()); }, 20s))
      << svc.get("/metrics").body << svc.log();
  const auto letters = read_dead_letters(dlq, poison.size());
  ASSERT_EQ(letters.size(), poison.size());
  const auto source = read_all(topic);
  std::map<std::string, int> seen_reasons;
  for (const auto& d : letters) {
    ASSERT_EQ(d.headers.count("saldo.reason"), 1u);
    seen_reasons[d.headers.at("saldo.reason")]++;
    EXPECT_EQ(d.headers.at("saldo.source.topic"), topic);
    const int partition = std::stoi(d.headers.at("saldo.source.partition"));
    const long offset = std::stol(d.headers.at("saldo.source.offset"));
    bool found = false;
    for (const auto& r : source) {
      if (r.partition == partition && r.offset == offset) {
        found = true;
        EXPECT_EQ(r.key.value_or(""), d.key);
        EXPECT_EQ(r.value ? r.value->size() : 0, d.value_size);
      }
    }
    EXPECT_TRUE(found) << partition << "/" << offset;
  }
  EXPECT_EQ(seen_reasons, by_reason);
  EXPECT_EQ(svc.stop(SIGTERM, 5s), 0);
}

}  // namespace
}  // namespace saldo::test
