// The broker crashes (kill -9) and comes back, on a broker of this test's own (scripts/kafka-local.sh,
// port $SALDO_TEST_FAULT_KAFKA_PORT): during the rebuild, and during the tail while the project's
// producer keeps sending. The service never crashes, says the broker is gone (/ready, /metrics), and
// afterwards every key answers exactly the topic's last record for it. The idempotent producer loses
// and duplicates nothing across the restart; without a broker its summary still adds up.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <map>
#include <regex>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/faults/fault_support.h"

namespace saldo::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

std::string saldo_text(const std::string& body) {
  std::smatch m;
  return std::regex_search(body, m, std::regex(R"("saldo":\s*(-?[0-9.eE+]+))")) ? m[1].str() : "?";
}

struct Outcome {
  long keys = 0, live = 0, deleted = 0, wrong = 0;
};

void expect_ends_as_read(const ServiceProcess& svc, const std::vector<Record>& all);

// Every key of the topic answers its last record: 200 with that record's saldo, partition and offset,
// or 404 when the last record is a tombstone.
Outcome compare_with_topic(const ServiceProcess& svc, const std::string& topic, std::size_t* records = nullptr) {
  std::map<std::string, Record> last;
  const auto all = read_all(topic);
  if (records) *records = all.size();
  expect_ends_as_read(svc, all);
  for (const auto& r : all) last[*r.key] = r;
  Outcome o;
  for (const auto& [key, r] : last) {
    ++o.keys;
    const HttpReply reply = svc.get("/saldo/" + key);
    bool ok = false;
    if (!r.value) {
      ++o.deleted;
      ok = reply.status == 404;
    } else {
      ++o.live;
      const json j = json::parse(reply.body, nullptr, false);
      ok = reply.status == 200 && !j.is_discarded() && j["partition"] == r.partition && j["offset"] == r.offset &&
           saldo_text(reply.body) == saldo_text(*r.value);
    }
    if (!ok && ++o.wrong <= 5) ADD_FAILURE() << key << ": " << reply.status << " " << reply.body;
  }
  return o;
}

json ready_body(const ServiceProcess& svc) { return json::parse(svc.get("/ready").body, nullptr, false); }

bool broker_unreachable(const ServiceProcess& svc) {
  const json j = ready_body(svc);
  return !j.is_discarded() && j["broker_reachable"] == false;
}

// READY, the broker reachable, and every lag 0 against end offsets the broker gave after `since`: a lag
// of 0 must mean the broker held nothing newer when it was asked. (Lags used to come from librdkafka's
// cached watermarks, which after a broker restart still said what the partitions held before the
// outage until the fetcher's first answer: 0 with thousands of records unread, under load.)
bool caught_up(const ServiceProcess& svc, std::chrono::steady_clock::time_point since) {
  const json j = ready_body(svc);
  if (j.is_discarded() || j["state"] != "READY" || j["broker_reachable"] != true) return false;
  const long age_ms = j["end_offsets_age_ms"].get<long>();
  if (age_ms < 0 || std::chrono::steady_clock::now() - std::chrono::milliseconds(age_ms) < since) return false;
  for (const auto& p : j["partitions"]) {
    if (p["lag"] != 0 || p["uncommitted"] != 0) return false;
  }
  return true;
}

// The end offsets /ready reports equal the topic's as the test's own client read it (the last record of
// a partition is never compacted away): the service's lag is computed against the truth.
void expect_ends_as_read(const ServiceProcess& svc, const std::vector<Record>& all) {
  std::map<int, long> ends;
  for (const auto& r : all) ends[r.partition] = std::max(ends[r.partition], static_cast<long>(r.offset) + 1);
  const json j = ready_body(svc);
  ASSERT_FALSE(j.is_discarded());
  for (const auto& p : j["partitions"]) {
    const int partition = p["partition"].get<int>();
    EXPECT_EQ(p["high_watermark"].get<long>(), ends[partition]) << "partition " << partition << ": " << j.dump();
    EXPECT_EQ(p["last_stable_offset"].get<long>(), ends[partition]) << "partition " << partition;
    EXPECT_EQ(p["offset"].get<long>(), ends[partition]) << "partition " << partition;
  }
}

long high_watermarks(const ServiceProcess& svc) {
  const json j = ready_body(svc);
  long hw = 0;
  if (!j.is_discarded()) {
    for (const auto& p : j["partitions"]) hw += p["high_watermark"].get<long>();
  }
  return hw;
}

long summary_number(const std::string& out, const std::string& word) {
  std::smatch m;
  return std::regex_search(out, m, std::regex(word + " ([0-9]+)")) ? std::stol(m[1]) : -1;
}

TEST(BrokerKill, DuringRebuildAndDuringTailNothingLostNothingResurrected) {
  OwnBroker broker;
  broker.start();
  ::setenv("SALDO_TEST_BOOTSTRAP_SERVERS", broker.bootstrap().c_str(), 1);
  const std::string topic = unique_topic("faults-kill");
  create_topic(topic, 3);

  // 10,000 records in small batches (so a rebuild with tiny fetches takes a while): 2,000 customers,
  // several updates each, every 10th customer deleted at the end.
  {
    RawProducer producer(KeyValues{{"batch.num.messages", "10"}, {"linger.ms", "1"}});
    int n = 0;
    for (int round = 0; round < 5 && n < 9800; ++round) {
      for (int id = 1; id <= 1960; ++id, ++n) {
        producer.send(topic, std::to_string(id),
                      R"({"cliente_id":")" + std::to_string(id) + R"(","saldo":)" + std::to_string(round * 1000 + id) +
                          R"(.)" + std::to_string(10 + round) + R"(,"timestamp":"2025-10-14T10:30:45"})");
      }
    }
    for (int id = 10; id <= 1960; id += 10) producer.send(topic, std::to_string(id), std::nullopt);
    producer.flush(60s);
  }

  ServiceProcess svc(broker.bootstrap(), topic,
                     {"-X", "max.partition.fetch.bytes=1000", "-X", "fetch.max.bytes=1000", "-X",
                      "message.max.bytes=1000"});
  // 1. Crash during the rebuild.
  ASSERT_TRUE(wait_until([&] {
    const json j = ready_body(svc);
    return !svc.running() || (!j.is_discarded() && j["records_replayed"].get<long>() > 0);
  }, 30s)) << svc.log();
  broker.kill();
  ASSERT_TRUE(wait_until([&] { return !svc.running() || broker_unreachable(svc); }, 20s)) << svc.log();
  EXPECT_TRUE(svc.running());
  const json during = ready_body(svc);
  std::printf("rebuild outage: state %s, %ld/%ld records replayed when the broker died\n",
              during["state"].get<std::string>().c_str(), during["records_replayed"].get<long>(),
              during["records_to_replay"].get<long>());
  EXPECT_EQ(metric(svc.get("/metrics").body, "saldo_broker_reachable"), 0);
  EXPECT_EQ(svc.get("/health").status, 200);
  if (during["state"] != "READY") {
    EXPECT_EQ(svc.get("/saldo/1").status, 503);
  }
  broker.start();
  const auto back = std::chrono::steady_clock::now();
  ASSERT_TRUE(svc.wait_ready(120s)) << svc.log();
  ASSERT_TRUE(wait_until([&] { return caught_up(svc, back); }, 30s)) << svc.get("/ready").body;
  std::size_t records = 0;
  Outcome o = compare_with_topic(svc, topic, &records);
  std::printf("after the rebuild outage: %zu records in the topic, %ld keys (%ld live, %ld deleted), %ld wrong\n",
              records, o.keys, o.live, o.deleted, o.wrong);
  EXPECT_EQ(o.wrong, 0);
  EXPECT_EQ(o.deleted, 196);

  // 2. Crash during the tail while the producer keeps sending (it waits out the outage).
  ChildProcess producer({binary_path("producer/producer"), "-b", broker.bootstrap(), "-t", topic, "--customers", "3000",
                         "--updates", "0", "--duration", "15", "--rate", "400", "--timeout", "90", "--seed", "6"});
  ASSERT_TRUE(wait_until([&] { return high_watermarks(svc) > static_cast<long>(records) + 400; }, 30s, 100ms))
      << producer.output();
  broker.kill();
  ASSERT_TRUE(wait_until([&] { return broker_unreachable(svc); }, 20s)) << svc.log();
  EXPECT_TRUE(svc.running());
  EXPECT_EQ(svc.get("/saldo/1").status, 200) << "serves what it has while the broker is away";
  EXPECT_EQ(metric(svc.get("/metrics").body, "saldo_broker_reachable"), 0);
  broker.start();
  const auto code = producer.wait(120s);
  const std::string out = producer.output();
  EXPECT_EQ(code, 0) << out;
  const long sent = summary_number(out, "sent"), delivered = summary_number(out, "delivered"),
             failed = summary_number(out, "failed");
  EXPECT_EQ(sent, delivered) << out;
  EXPECT_EQ(failed, 0) << out;
  const auto delivered_at = std::chrono::steady_clock::now();
  ASSERT_TRUE(wait_until([&] { return caught_up(svc, delivered_at); }, 60s)) << svc.get("/ready").body;
  std::size_t after = 0;
  o = compare_with_topic(svc, topic, &after);
  std::printf("tail outage: producer sent %ld, delivered %ld, failed %ld; topic grew %zu -> %zu (+%zu); "
              "%ld keys (%ld live, %ld deleted), %ld wrong\n",
              sent, delivered, failed, records, after, after - records, o.keys, o.live, o.deleted, o.wrong);
  EXPECT_EQ(static_cast<long>(after - records), delivered) << "the idempotent producer lost or duplicated records";
  EXPECT_EQ(o.wrong, 0);
  EXPECT_TRUE(svc.running());

  // 3. The broker dies for good under a producer with a short timeout: its summary still adds up.
  ChildProcess doomed({binary_path("producer/producer"), "-b", broker.bootstrap(), "-t", topic, "--customers", "100",
                       "--updates", "0", "--duration", "8", "--rate", "500", "--timeout", "3"});
  ASSERT_TRUE(wait_until([&] { return doomed.output().find("producing to") != std::string::npos &&
                                      high_watermarks(svc) > static_cast<long>(after) + 200; }, 30s, 50ms))
      << doomed.output();
  broker.kill();
  const auto doomed_code = doomed.wait(40s);
  const std::string dout = doomed.output();
  EXPECT_EQ(doomed_code, 1) << dout;
  EXPECT_EQ(summary_number(dout, "sent"), summary_number(dout, "delivered") + summary_number(dout, "failed")) << dout;
  EXPECT_GT(summary_number(dout, "failed"), 0) << dout;
  if (dout.rfind("sent ") != std::string::npos) std::printf("broker gone for good: %s\n", dout.substr(dout.rfind("sent ")).c_str());
  EXPECT_TRUE(svc.running());
  EXPECT_EQ(svc.stop(SIGTERM, 5s), 0) << svc.log();
}

}  // namespace
}  // namespace saldo::test
