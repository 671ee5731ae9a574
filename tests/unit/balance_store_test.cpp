#include "consumer_service/balance_store.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>

#include "consumer_service/compact_timestamp.h"

namespace saldo {
namespace {

constexpr const char* kTs = "2025-10-14T10:30:45";

TEST(BalanceStore, SetThenGet) {
  BalanceStore store;
  EXPECT_EQ(store.set("1", 15000, kTs, 0, 7), ApplyResult::kInserted);
  const auto got = store.get("1");
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, (BalanceSnapshot{15000, kTs, 0, 7}));
  EXPECT_EQ(store.size(), 1u);
  EXPECT_FALSE(store.get("2"));
}

TEST(BalanceStore, OverwriteKeepsLatest) {
  BalanceStore store;
  store.set("1", 100, kTs, 2, 1);
  EXPECT_EQ(store.set("1", -250, "2025-10-15T00:00:00", 2, 5), ApplyResult::kUpdated);
  EXPECT_EQ(*store.get("1"), (BalanceSnapshot{-250, "2025-10-15T00:00:00", 2, 5}));
  EXPECT_EQ(store.size(), 1u);
}

TEST(BalanceStore, LowerOffsetOfSamePartitionNeverOverwrites) {
  BalanceStore store;
  store.set("1", 100, kTs, 1, 10);
  EXPECT_EQ(store.set("1", 200, kTs, 1, 9), ApplyResult::kStale);
  EXPECT_EQ(store.set("1", 300, kTs, 1, 10), ApplyResult::kStale);
  EXPECT_EQ(store.erase("1", 1, 3), ApplyResult::kStale);
  EXPECT_EQ(store.get("1")->saldo, 100);
  // Another partition (the topic was repartitioned) applies.
  EXPECT_EQ(store.set("1", 400, kTs, 0, 2), ApplyResult::kUpdated);
  EXPECT_EQ(*store.get("1"), (BalanceSnapshot{400, kTs, 0, 2}));
}

TEST(BalanceStore, DeleteAndDeleteOfUnknown) {
  BalanceStore store;
  store.set("a", 1, kTs, 0, 0);
  store.set("b", 2, kTs, 0, 1);
  EXPECT_EQ(store.erase("a", 0, 2), ApplyResult::kErased);
  EXPECT_FALSE(store.get("a"));
  EXPECT_EQ(store.get("b")->saldo, 2);
  EXPECT_EQ(store.erase("a", 0, 3), ApplyResult::kAbsent);
  EXPECT_EQ(store.erase("never", 0, 4), ApplyResult::kAbsent);
  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(store.set("a", 9, kTs, 0, 5), ApplyResult::kInserted);
  EXPECT_EQ(store.get("a")->saldo, 9);
}

TEST(BalanceStore, LongIdsAndUnusualTimestampsRoundTrip) {
  BalanceStore store;
  const std::string long_id(64, 'x');
  const std::string odd_ts = "2025-10-14T10:30:45-03:00";
  store.set(long_id, 1, odd_ts, 0, 0);
  store.set("12345678901234", 2, "2025-10-14 10:30:45.123456", 0, 1);  // 14 chars: inline
  store.set("123456789012345", 3, "2025-10-14T10:30:45Z", 0, 2);      // 15 chars: heap
  EXPECT_EQ(*store.get(long_id), (BalanceSnapshot{1, odd_ts, 0, 0}));
  EXPECT_EQ(store.get("12345678901234")->timestamp, "2025-10-14 10:30:45.123456");
  EXPECT_EQ(store.get("123456789012345")->timestamp, "2025-10-14T10:30:45Z");
  EXPECT_FALSE(store.get(std::string(63, 'x')));
  store.set(long_id, 5, kTs, 0, 3);
  EXPECT_EQ(store.get(long_id)->timestamp, kTs);
  EXPECT_EQ(store.erase(long_id, 0, 4), ApplyResult::kErased);
  EXPECT_FALSE(store.get(long_id));
}

TEST(BalanceStore, OutsideLimitsIsRejectedNotStored) {
  BalanceStore store;
  EXPECT_EQ(store.set("1", 1, kTs, BalanceStore::kMaxPartition + 1, 0), ApplyResult::kRejected);
  EXPECT_EQ(store.set("1", 1, kTs, 0, BalanceStore::kMaxOffset + 1), ApplyResult::kRejected);
  EXPECT_EQ(store.set("1", 1, kTs, -1, 0), ApplyResult::kRejected);
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(store.set("1", 1, kTs, BalanceStore::kMaxPartition, BalanceStore::kMaxOffset), ApplyResult::kInserted);
  EXPECT_EQ(store.get("1")->offset, BalanceStore::kMaxOffset);
}

// Random sets and deletes against std::map: exercises growth, free-list reuse and backward-shift
// deletion in the open-addressing index.
TEST(BalanceStore, MatchesAReferenceMapUnderRandomChurn) {
  BalanceStore store;
  std::map<std::string, BalanceSnapshot> expected;
  std::mt19937_64 rng(42);
  std::int64_t offset = 0;
  for (int i = 0; i < 200000; ++i) {
    const std::string id = std::to_string(rng() % 20000);
    if (rng() % 4 == 0) {
      store.erase(id, 0, offset);
      expected.erase(id);
    } else {
      const auto saldo = static_cast<Centavos>(rng() % 1000000) - 500000;
      store.set(id, saldo, kTs, 0, offset);
      expected[id] = BalanceSnapshot{saldo, kTs, 0, offset};
    }
    ++offset;
  }
  EXPECT_EQ(store.size(), expected.size());
  for (int k = 0; k < 20000; ++k) {
    const std::string id = std::to_string(k);
    const auto got = store.get(id);
    const auto it = expected.find(id);
    ASSERT_EQ(got.has_value(), it != expected.end()) << id;
    if (got) {
      EXPECT_EQ(*got, it->second) << id;
    }
  }
}

TEST(BalanceStore, BatchAppliesInOrderPerKey) {
  BalanceStore store;
  std::vector<StoreEvent> events = {
      {StoreEvent::Kind::kSet, "1", 1, kTs, 0, 0},
      {StoreEvent::Kind::kSet, "2", 2, kTs, 1, 0},
      {StoreEvent::Kind::kErase, "1", 0, {}, 0, 1},
      {StoreEvent::Kind::kSet, "1", 3, kTs, 0, 2},
      {StoreEvent::Kind::kErase, "2", 0, {}, 1, 1},
  };
  std::vector<ApplyResult> results(events.size());
  store.apply(events, results);
  EXPECT_EQ(results, (std::vector<ApplyResult>{ApplyResult::kInserted, ApplyResult::kInserted, ApplyResult::kErased,
                                               ApplyResult::kInserted, ApplyResult::kErased}));
  EXPECT_EQ(store.get("1")->saldo, 3);
  EXPECT_FALSE(store.get("2"));
}

TEST(BalanceStore, MemoryPerCustomerIsWithinBudget) {
  BalanceStore store;
  constexpr int kN = 1'000'000;
  for (int i = 0; i < kN; ++i) store.set(std::to_string(i), i, kTs, i % 3, i);
  const double per_customer = static_cast<double>(store.memory_bytes()) / kN;
  std::printf("table memory: %.1f bytes per customer at %d customers\n", per_customer, kN);
  EXPECT_LE(per_customer, 64.0);
}

TEST(CompactTimestamp, RoundTripsOnlyExactText) {
  for (const char* t : {"2025-10-14T10:30:45", "1970-01-01T00:00:00", "2025-10-14 10:30:45", "2024-02-29T23:59:59Z",
                        "2025-10-14T10:30:45.1", "2025-10-14T10:30:45.000100", "2025-10-14T10:30:45.123456789+00:00",
                        "2514-05-30T01:53:03"}) {
    const auto packed = pack_timestamp(t);
    ASSERT_TRUE(packed) << t;
    std::string back;
    append_timestamp(back, *packed);
    EXPECT_EQ(back, t);
  }
  for (const char* t : {"2025-02-29T10:30:45", "2025-10-14T24:00:00", "2025-10-14T10:30:60", "1969-12-31T23:59:59",
                        "2025-10-14T10:30:45-03:00", "2025-10-14T10:30", "2025-10-14T10:30:45.", "2025-1-14T10:30:45",
                        "2025-10-14T10:30:45.1234567890", "9999-12-31T23:59:59", "2025-10-14t10:30:45", ""}) {
    EXPECT_FALSE(pack_timestamp(t)) << t;
  }
}

}  // namespace
}  // namespace saldo
