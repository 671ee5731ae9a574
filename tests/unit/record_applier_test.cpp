// The applier without Kafka: batches of records in, table, readiness and counters out.
#include "consumer_service/table/record_applier.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "common/codec.h"
#include "common/partitioner.h"

namespace saldo {
namespace {

std::string value(std::string_view id, std::string_view saldo) {
  return R"({"cliente_id":")" + std::string(id) + R"(","saldo":)" + std::string(saldo) +
         R"(,"timestamp":"2025-10-14T10:30:45"})";
}

struct Fixture {
  BalanceStore store;
  Readiness readiness{"contas"};
  Metrics metrics;
  RecordApplier applier{store, readiness, metrics};
  std::vector<std::pair<std::int64_t, DecodeError>> invalid;
  std::vector<std::string> values;  // owns what the records view

  explicit Fixture(int partitions) {
    applier.on_invalid([this](const TopicRecord& r, DecodeError why) { invalid.emplace_back(r.offset, why); });
    applier.begin(partitions);
    std::vector<Readiness::Watermarks> marks;
    for (int p = 0; p < partitions; ++p) marks.push_back({p, 0, 0});
    readiness.begin_rebuild(marks);
  }
  TopicRecord record(std::int32_t p, std::int64_t off, std::int64_t ts, std::string_view key,
                     std::optional<std::string> v) {
    TopicRecord r{p, off, ts, key, std::nullopt};
    if (v) {
      values.push_back(*v);
      r.value = values.back();
    }
    return r;
  }
};

TEST(RecordApplier, AppliesSetsAndDeletesAndCountsThem) {
  Fixture f(1);
  f.values.reserve(16);
  std::vector<TopicRecord> batch = {f.record(0, 0, 1, "1", value("1", "150.0")), f.record(0, 1, 2, "2", value("2", "5")),
                                    f.record(0, 2, 3, "1", std::nullopt)};
  f.applier.apply(batch);
  EXPECT_FALSE(f.store.get("1"));
  EXPECT_EQ(f.store.get("2")->saldo, 500);
  EXPECT_EQ(f.metrics.records_applied(), 3u);
  EXPECT_EQ(f.metrics.tombstones(), 1u);
  EXPECT_EQ(f.applier.position(0), 3);
  EXPECT_EQ(f.readiness.snapshot().partitions[0].position, 3);
}

// A poison record never stops the batch and never erases the last good value; it is named.
TEST(RecordApplier, APoisonRecordKeepsTheLastGoodValueAndSaysSo) {
  Fixture f(1);
  f.values.reserve(16);
  std::vector<TopicRecord> batch = {f.record(0, 0, 1, "1", value("1", "10")), f.record(0, 1, 2, "1", value("1", "1234.567")),
                                    f.record(0, 2, 3, "2", std::string("{not json")),
                                    f.record(0, 3, 4, std::string_view("a b"), value("a b", "1"))};
  f.applier.apply(batch);
  const auto got = f.store.get("1");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->saldo, 1000);
  ASSERT_TRUE(got->newer_rejected);
  EXPECT_EQ(got->newer_rejected->reason, "invalid_amount");
  EXPECT_EQ(got->newer_rejected->offset, 1);
  EXPECT_EQ(f.store.rejected("2")->reason, "invalid_json");
  EXPECT_EQ(f.invalid, (std::vector<std::pair<std::int64_t, DecodeError>>{
                           {1, DecodeError::kInvalidAmount}, {2, DecodeError::kInvalidJson}, {3, DecodeError::kInvalidKey}}));
  EXPECT_EQ(f.metrics.invalid_total(), 3u);
  EXPECT_EQ(f.applier.position(0), 4);  // the position passes poison too
}

TEST(RecordApplier, NotesWhatOtherClientsWrite) {
  Fixture f(1);
  f.values.reserve(16);
  std::vector<TopicRecord> batch = {
      f.record(0, 0, 1760437845000, "1", std::string(R"({"cliente_id":1,"saldo":150.00000000000003})"))};
  f.applier.apply(batch);
  EXPECT_EQ(f.store.get("1")->saldo, 15000);
  EXPECT_EQ(f.store.get("1")->timestamp, "2025-10-14T10:30:45.000Z");
  EXPECT_EQ(f.metrics.amounts_rounded(), 1u);
  EXPECT_EQ(f.metrics.timestamps_from_record(), 1u);
  EXPECT_EQ(f.metrics.ids_as_number(), 1u);
}

// A record fetched again below the position (librdkafka after an offset reset) is not applied a
// second time: with a later ordering time it could beat a newer record of another partition.
TEST(RecordApplier, RecordsFetchedAgainAreSkipped) {
  Fixture f(2);
  f.values.reserve(16);
  std::vector<TopicRecord> batch = {f.record(1, 10, 100, "1", value("1", "1")), f.record(1, 11, 500, "2", value("2", "2")),
                                    f.record(0, 0, 300, "1", value("1", "3"))};
  f.applier.apply(batch);
  EXPECT_EQ(f.store.get("1")->saldo, 300);  // p0's record at 300 is newer than p1's at 100
  std::vector<TopicRecord> again = {f.record(1, 10, 100, "1", value("1", "1"))};
  f.applier.apply(again);
  EXPECT_EQ(f.store.get("1")->saldo, 300) << "the re-read record would have had ordering time 500";
  EXPECT_EQ(f.metrics.reread_count(), 1u);
  EXPECT_EQ(f.applier.position(1), 12);
  f.applier.end_of_partition(1, 5);  // an end below the position changes nothing
  EXPECT_EQ(f.applier.position(1), 12);
}

TEST(RecordApplier, CheckpointsNameTheLastRecordReadInEachPartition) {
  Fixture f(3);
  f.values.reserve(16);
  std::vector<TopicRecord> batch = {f.record(1, 10, 100, "1", value("1", "1")), f.record(1, 11, 500, "2", std::nullopt),
                                    f.record(0, 0, 300, "3", std::string("{poison"))};
  f.applier.apply(batch);
  std::vector<PartitionCheckpoint> cp = f.applier.checkpoints();
  ASSERT_EQ(cp.size(), 3u);
  // Whatever the record was (a delete, poison): it is what the topic must still hold there.
  EXPECT_EQ(cp[1].last, fingerprint_of(batch[1]));
  EXPECT_EQ(cp[0].last, fingerprint_of(batch[2]));
  EXPECT_EQ(cp[2].last.offset, -1) << "nothing read in partition 2";
  // A record fetched again changes nothing; a warm start carries the fingerprints on.
  std::vector<TopicRecord> again = {f.record(1, 10, 100, "1", value("1", "1"))};
  f.applier.apply(again);
  EXPECT_EQ(f.applier.checkpoints()[1].last, fingerprint_of(batch[1]));
  Fixture g(3);
  g.applier.begin_from(cp);
  EXPECT_EQ(g.applier.checkpoints(), cp);
}

TEST(RecordApplier, CountsRecordsOffTheirMurmur2Partition) {
  Fixture f(3);
  f.values.reserve(64);
  std::vector<TopicRecord> batch;
  int expected = 0;
  for (int i = 0; i < 30; ++i) {
    const std::string id = std::to_string(i);
    f.values.push_back(id);
    const std::int32_t home = murmur2_partition(f.values.back(), 3);
    const std::int32_t p = i % 2 == 0 ? home : (home + 1) % 3;
    expected += p != home;
    batch.push_back(f.record(p, i, i, f.values.back(), value(id, "1")));
  }
  f.applier.apply(batch);
  EXPECT_EQ(f.metrics.misrouted_count(), static_cast<std::uint64_t>(expected));
}

// The rule end to end: the same partitions applied in every order, batch by batch, give one table.
// Within a partition the record time may go back (producers' clocks): the applier keeps the order
// time non-decreasing, so offset order still wins there.
TEST(RecordApplier, EveryPartitionOrderGivesTheSameTable) {
  std::mt19937 rng(7);
  constexpr int kPartitions = 3;
  struct Spec { std::int32_t p; std::int64_t off; std::int64_t ts; std::string key; std::optional<std::string> v; };
  std::vector<std::vector<Spec>> parts(kPartitions);
  for (int p = 0; p < kPartitions; ++p) {
    for (int off = 0; off < 400; ++off) {
      const std::string key = std::to_string(rng() % 40);
      const std::int64_t ts = 1000 + off * 3 + static_cast<std::int64_t>(rng() % 50) - 25;  // jitter, may go back
      std::optional<std::string> v;
      if (rng() % 5 != 0) v = value(key, std::to_string(rng() % 100000));
      parts[static_cast<std::size_t>(p)].push_back({p, off, ts, key, v});
    }
  }
  std::vector<int> order(kPartitions);
  for (int i = 0; i < kPartitions; ++i) order[static_cast<std::size_t>(i)] = i;
  std::optional<std::map<std::string, std::pair<Centavos, std::int32_t>>> first;
  do {
    Fixture f(kPartitions);
    for (int p : order) {
      const auto& specs = parts[static_cast<std::size_t>(p)];
      for (std::size_t at = 0; at < specs.size(); at += 64) {  // several batches per partition
        std::vector<TopicRecord> batch;
        for (std::size_t k = at; k < std::min(specs.size(), at + 64); ++k) {
          const Spec& s = specs[k];
          TopicRecord r{s.p, s.off, s.ts, std::string_view(s.key), std::nullopt};
          if (s.v) r.value = std::string_view(*s.v);
          batch.push_back(r);
        }
        f.applier.apply(batch);
      }
    }
    std::map<std::string, std::pair<Centavos, std::int32_t>> table;
    for (int k = 0; k < 40; ++k) {
      if (const auto got = f.store.get(std::to_string(k))) table[std::to_string(k)] = {got->saldo, got->partition};
    }
    if (!first) {
      first = table;
      EXPECT_GT(table.size(), 10u);
    } else {
      EXPECT_EQ(table, *first) << "order " << order[0] << order[1] << order[2];
    }
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST(Partitioner, Murmur2MatchesTheJavaClient) {
  // Kafka's own test vectors (Utils.murmur2, clients' UtilsTest) as unsigned 32-bit values.
  EXPECT_EQ(murmur2("21"), static_cast<std::uint32_t>(-973932308));
  EXPECT_EQ(murmur2("foobar"), static_cast<std::uint32_t>(-790332482));
  EXPECT_EQ(murmur2("a-little-bit-long-string"), static_cast<std::uint32_t>(-985981536));
  EXPECT_EQ(murmur2("a-little-bit-longer-string"), static_cast<std::uint32_t>(-1486304829));
  EXPECT_EQ(murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), static_cast<std::uint32_t>(-58897971));
  EXPECT_EQ(murmur2(std::string_view("abc", 3)), static_cast<std::uint32_t>(479470107));
  EXPECT_EQ(murmur2_partition("21", 3), static_cast<std::int32_t>((static_cast<std::uint32_t>(-973932308) & 0x7fffffff) % 3));
}

TEST(RecordApplier, APartitionLetGoLeavesTheStoreIgnoresWhatWasFetchedAndIsReadAgainFromItsStart) {
  Fixture f(2);
  f.values.reserve(16);
  f.applier.apply(std::vector<TopicRecord>{f.record(0, 0, 1, "a", value("a", "1")), f.record(1, 0, 1, "b", value("b", "2")),
                                           f.record(1, 1, 2, "c", std::nullopt)});
  ASSERT_TRUE(f.store.get("a"));
  ASSERT_TRUE(f.store.get("b"));
  f.applier.let_go(1);
  EXPECT_FALSE(f.applier.held(1));
  EXPECT_TRUE(f.applier.held(0));
  EXPECT_FALSE(f.store.get("b"));
  EXPECT_FALSE(f.store.deleted_at("c"));
  EXPECT_EQ(f.applier.position(1), -1);
  EXPECT_EQ(f.applier.settled_time(), 1);  // only partition 0 counts now
  // A record of the partition let go, fetched before the assignment changed: ignored.
  f.applier.apply(std::vector<TopicRecord>{f.record(1, 2, 3, "d", value("d", "4"))});
  EXPECT_FALSE(f.store.get("d"));
  EXPECT_EQ(f.applier.position(1), -1);
  // Held again: from its start, as if never read.
  f.applier.hold(1);
  f.applier.apply(std::vector<TopicRecord>{f.record(1, 0, 1, "b", value("b", "2")), f.record(1, 1, 2, "c", std::nullopt),
                                           f.record(1, 2, 3, "d", value("d", "4"))});
  EXPECT_EQ(f.store.get("b")->saldo, 200);
  EXPECT_EQ(f.store.get("d")->saldo, 400);
  EXPECT_EQ(f.applier.position(1), 3);
  EXPECT_EQ(f.store.get("a")->saldo, 100);
}

}  // namespace
}  // namespace saldo
