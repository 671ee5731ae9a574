// Proof that the suite talks to a real Kafka broker: the log cleaner compacts a topic for real,
// which no mock can do. Older values of a key disappear; the latest survives; a deleted key keeps
// no value.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

#include "tests/support/kafka_test_support.h"

namespace saldo::test {
namespace {

using namespace std::chrono_literals;

TEST(Compaction, BrokerCleanerKeepsOnlyTheLatestValuePerKey) {
  const std::string topic = unique_topic("compaction");
  // Segments roll after 100 ms and any dirty share makes a log cleanable, so the cleaner (which
  // kafka-local.sh wakes every 500 ms) compacts within seconds.
  create_topic(topic, 1,
               {{"cleanup.policy", "compact"},
                {"segment.ms", "100"},
                {"min.cleanable.dirty.ratio", "0.01"},
                {"min.compaction.lag.ms", "0"},
                {"delete.retention.ms", "60000"}});

  RawProducer producer;
  constexpr int kKeys = 5;
  constexpr int kVersions = 200;
  for (int v = 0; v < kVersions; ++v) {
    for (int k = 0; k < kKeys; ++k) {
      producer.send(topic, numbered("k", k), numbered("v", v), 0);
    }
  }
  producer.send(topic, std::string("k0"), std::nullopt, 0);  // tombstone
  producer.flush();

  const auto written = read_all(topic);
  ASSERT_EQ(written.size(), static_cast<size_t>(kKeys * kVersions + 1));

  // The active segment is never cleaned: keep appending a filler record so segments roll and the
  // cleaner has closed segments to work on. Bounded: 90 s.
  std::vector<Record> records;
  bool compacted = false;
  for (auto deadline = std::chrono::steady_clock::now() + 90s; std::chrono::steady_clock::now() < deadline;) {
    std::this_thread::sleep_for(250ms);  // lets segment.ms pass so the next append rolls a segment
    producer.send(topic, std::string("filler"), std::string("x"), 0);
    producer.flush();
    records = read_all(topic);
    std::map<std::string, int> per_key;
    for (const auto& r : records) per_key[*r.key]++;
    compacted = true;
    for (int k = 1; k < kKeys; ++k) compacted &= per_key[numbered("k", k)] == 1;
    if (compacted) break;
  }
  ASSERT_TRUE(compacted) << "the broker's cleaner did not compact " << topic << " within 90 s";

  std::map<std::string, std::optional<std::string>> latest;
  std::map<std::string, int> count;
  for (const auto& r : records) {
    latest[*r.key] = r.value;
    count[*r.key]++;
  }
  EXPECT_LT(records.size(), written.size());
  for (int k = 1; k < kKeys; ++k) {
    const std::string key = numbered("k", k);
    EXPECT_EQ(count[key], 1) << key;
    EXPECT_EQ(latest[key], numbered("v", kVersions - 1)) << key;
  }
  // The deleted key: every old value is gone; at most its tombstone remains (until delete.retention.ms).
  EXPECT_LE(count["k0"], 1);
  EXPECT_FALSE(latest["k0"].has_value());
  // Offsets survive compaction: the latest records keep their original, now non-contiguous offsets.
  EXPECT_GT(records.back().offset, static_cast<int64_t>(records.size()));
}

}  // namespace
}  // namespace saldo::test
