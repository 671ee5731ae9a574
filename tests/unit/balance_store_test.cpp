#include "consumer_service/store/balance_store.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <algorithm>
#include <optional>

#include "consumer_service/store/compact_timestamp.h"

namespace saldo {
namespace {

constexpr const char* kTs = "2025-10-14T10:30:45";

TEST(BalanceStore, SetThenGet) {
  BalanceStore store;
  EXPECT_EQ(store.set("1", 15000, kTs, 0, 7), ApplyResult::kInserted);
  const auto got = store.get("1");
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, (BalanceSnapshot{15000, kTs, 0, 7, std::nullopt}));
  EXPECT_EQ(store.size(), 1u);
  EXPECT_FALSE(store.get("2"));
}

TEST(BalanceStore, OverwriteKeepsLatest) {
  BalanceStore store;
  store.set("1", 100, kTs, 2, 1);
  EXPECT_EQ(store.set("1", -250, "2025-10-15T00:00:00", 2, 5), ApplyResult::kUpdated);
  EXPECT_EQ(*store.get("1"), (BalanceSnapshot{-250, "2025-10-15T00:00:00", 2, 5, std::nullopt}));
  EXPECT_EQ(store.size(), 1u);
}

TEST(BalanceStore, LowerOffsetOfSamePartitionNeverOverwrites) {
  BalanceStore store;
  store.set("1", 100, kTs, 1, 10);
  EXPECT_EQ(store.set("1", 200, kTs, 1, 9), ApplyResult::kStale);
  EXPECT_EQ(store.set("1", 300, kTs, 1, 10), ApplyResult::kStale);
  EXPECT_EQ(store.erase("1", 1, 3), ApplyResult::kStale);
  EXPECT_EQ(store.get("1")->saldo, 100);
}

// Across partitions the later record time wins, then the higher partition: never the read order.
TEST(BalanceStore, AcrossPartitionsTheLaterRecordTimeWins) {
  BalanceStore store;
  store.set("1", 100, kTs, 1, 10, /*record_time=*/2000);
  EXPECT_EQ(store.set("1", 200, kTs, 0, 50, 1000), ApplyResult::kStale);  // older, read later
  EXPECT_EQ(store.set("1", 300, kTs, 0, 51, 3000), ApplyResult::kUpdated);
  EXPECT_EQ(*store.get("1"), (BalanceSnapshot{300, kTs, 0, 51, std::nullopt}));
  EXPECT_EQ(store.set("1", 400, kTs, 2, 0, 3000), ApplyResult::kUpdated);  // same time: higher partition
  EXPECT_EQ(store.set("1", 500, kTs, 1, 99, 3000), ApplyResult::kStale);
  EXPECT_EQ(store.get("1")->saldo, 400);
}

// A delete is remembered: an older value on another partition, read after it, does not bring the
// customer back; a newer one does.
TEST(BalanceStore, ADeleteBeatsAnOlderValueReadLater) {
  BalanceStore store;
  EXPECT_EQ(store.erase("7", 0, 5, 2000), ApplyResult::kAbsent);  // a delete of an id not seen yet
  EXPECT_EQ(store.set("7", 100, kTs, 1, 0, 1000), ApplyResult::kStale);
  EXPECT_FALSE(store.get("7"));
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(store.tombstones(), 1u);
  EXPECT_EQ(store.set("7", 200, kTs, 1, 1, 3000), ApplyResult::kInserted);
  EXPECT_EQ(store.get("7")->saldo, 200);
  EXPECT_EQ(store.tombstones(), 0u);
  EXPECT_EQ(store.erase("7", 1, 2, 4000), ApplyResult::kErased);
  EXPECT_EQ(store.set("7", 300, kTs, 0, 6, 3500), ApplyResult::kStale);
  EXPECT_FALSE(store.get("7"));
}

// The same records, read partition by partition in every order: the same table.
TEST(BalanceStore, TheResultDoesNotDependOnThePartitionOrder) {
  struct Rec { const char* id; bool erase; Centavos saldo; std::int32_t p; std::int64_t off; std::int64_t t; };
  const std::vector<std::vector<Rec>> partitions = {
      {{"a", false, 1, 0, 0, 100}, {"b", false, 2, 0, 1, 150}, {"a", true, 0, 0, 2, 300}, {"c", false, 9, 0, 3, 300}},
      {{"a", false, 5, 1, 0, 200}, {"b", true, 0, 1, 1, 120}, {"c", false, 8, 1, 2, 300}},
      {{"b", false, 7, 2, 0, 110}, {"a", false, 6, 2, 1, 250}, {"d", true, 0, 2, 2, 50}},
  };
  std::vector<int> order = {0, 1, 2};
  std::optional<std::map<std::string, Centavos>> first;
  do {
    BalanceStore store;
    for (int p : order) {
      for (const Rec& r : partitions[static_cast<std::size_t>(p)]) {
        if (r.erase) store.erase(r.id, r.p, r.off, r.t);
        else store.set(r.id, r.saldo, kTs, r.p, r.off, r.t);
      }
    }
    std::map<std::string, Centavos> table;
    for (const char* id : {"a", "b", "c", "d"}) {
      if (const auto got = store.get(id)) table[id] = got->saldo;
    }
    // a: deleted at 300 on p0 (newest); b: p0's 150; c: same time 300, p1 beats p0; d: never set.
    EXPECT_EQ(table, (std::map<std::string, Centavos>{{"b", 2}, {"c", 8}})) << order[0] << order[1] << order[2];
    if (!first) first = table;
  } while (std::next_permutation(order.begin(), order.end()));
}

TEST(BalanceStore, PurgeForgetsOnlyDeletesOlderThanTheSettledTime) {
  BalanceStore store;
  store.erase("old", 0, 0, 1000);
  store.erase("new", 0, 1, 5000);
  store.set("live", 1, kTs, 0, 2, 500);
  EXPECT_EQ(store.tombstones(), 2u);
  EXPECT_EQ(store.purge_tombstones(2000), 1u);
  EXPECT_EQ(store.tombstones(), 1u);
  EXPECT_EQ(store.set("new", 1, kTs, 1, 0, 4000), ApplyResult::kStale);  // still remembered
  EXPECT_EQ(store.get("live")->saldo, 1);
  EXPECT_EQ(store.size(), 1u);
}

TEST(BalanceStore, ARejectedNewerRecordIsReportedUntilANewerOneApplies) {
  BalanceStore store;
  store.set("1", 100, kTs, 0, 0, 1000);
  store.note_rejected("1", "invalid_amount", 0, 0, 900);  // older than what is held: not reported
  EXPECT_FALSE(store.get("1")->newer_rejected);
  store.note_rejected("1", "invalid_amount", 0, 1, 1000);
  EXPECT_EQ(store.get("1")->newer_rejected, (RejectedRecord{"invalid_amount", 0, 1}));
  EXPECT_EQ(store.get("1")->saldo, 100);
  store.note_rejected("2", "wrong_type", 1, 4, 1000);  // a customer with no good value
  EXPECT_FALSE(store.get("2"));
  EXPECT_EQ(store.rejected("2"), (RejectedRecord{"wrong_type", 1, 4}));
  store.set("1", 200, kTs, 0, 2, 1000);
  EXPECT_FALSE(store.get("1")->newer_rejected);
  EXPECT_TRUE(store.rejected("2"));
  store.clear();
  EXPECT_FALSE(store.rejected("2"));
}

TEST(BalanceStore, OnlyOneWriterThread) {
  BalanceStore store;
  store.set("1", 1, kTs, 0, 0);
  bool threw = false;
  std::thread other([&] {
    try {
      store.set("2", 1, kTs, 0, 1);
    } catch (const std::logic_error&) {
      threw = true;
    }
  });
  other.join();
  EXPECT_TRUE(threw);
  EXPECT_FALSE(store.get("2"));
}

TEST(BalanceStore, IdsFollowTheIdRule) {
  BalanceStore store;
  EXPECT_EQ(store.set(std::string(65, 'x'), 1, kTs, 0, 0), ApplyResult::kRejected);
  EXPECT_EQ(store.set(std::string(64, 'x'), 1, kTs, 0, 1), ApplyResult::kInserted);
}

TEST(BalanceStore, ClearEmptiesTheTable) {
  BalanceStore store;
  for (int i = 0; i < 1000; ++i) store.set(std::to_string(i), i, kTs, 0, i);
  store.erase("5", 0, 2000);
  store.clear();
  EXPECT_EQ(store.size(), 0u);
  EXPECT_EQ(store.tombstones(), 0u);
  EXPECT_FALSE(store.get("1"));
  EXPECT_EQ(store.set("1", 7, kTs, 0, 0), ApplyResult::kInserted);  // offsets start over
  EXPECT_EQ(store.get("1")->saldo, 7);
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
  store.set("12345678901234", 2, "2025-10-14 10:30:45.123456", 0, 1);  // 14 chars: heap
  store.set("1234567890123", 3, "2025-10-14T10:30:45Z", 0, 2);        // 13 chars: inline
  EXPECT_EQ(*store.get(long_id), (BalanceSnapshot{1, odd_ts, 0, 0, std::nullopt}));
  EXPECT_EQ(store.get("12345678901234")->timestamp, "2025-10-14 10:30:45.123456");
  EXPECT_EQ(store.get("1234567890123")->timestamp, "2025-10-14T10:30:45Z");
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
      if (rng() % 8 == 0) store.purge_tombstones(offset + 1);  // every delete so far is settled
      expected.erase(id);
    } else {
      const auto saldo = static_cast<Centavos>(rng() % 1000000) - 500000;
      store.set(id, saldo, kTs, 0, offset);
      expected[id] = BalanceSnapshot{saldo, kTs, 0, offset, std::nullopt};
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

// The table's decoder packs the fields the codec parsed; the store packs the text: the same result.
TEST(CompactTimestamp, PacksParsedFieldsAsItPacksTheText) {
  int packed_count = 0;
  for (const char* t : {"2025-10-14T10:30:45", "1970-01-01T00:00:00", "2025-10-14 10:30:45", "2024-02-29T23:59:59Z",
                        "2025-10-14T10:30:45.1", "2025-10-14T10:30:45.000100", "2025-10-14T10:30:45.123456789+00:00",
                        "2514-05-30T01:53:03", "2025-10-14T10:30:60", "1969-12-31T23:59:59", "2025-10-14T10:30:45-03:00",
                        "2025-10-14T10:30:45,5", "9999-12-31T23:59:59", "2025-10-14T10:30:45+0000", "2025-10-14T10:30:45+00"}) {
    const auto fields = parse_timestamp(t);
    ASSERT_TRUE(fields) << t;
    const auto from_text = pack_timestamp(std::string_view(t));
    const auto from_fields = pack_timestamp(*fields);
    ASSERT_EQ(from_text.has_value(), from_fields.has_value()) << t;
    if (!from_text) continue;
    EXPECT_EQ(from_text->bits, from_fields->bits) << t;
    EXPECT_EQ(from_text->format, from_fields->format) << t;
    ++packed_count;
  }
  EXPECT_EQ(packed_count, 8);
}

TEST(BalanceStore, ATimestampPackedByTheCallerIsStoredAsItsText) {
  BalanceStore by_text, by_caller;
  std::vector<StoreEvent> plain, packed;
  const std::vector<std::string> stamps = {"2025-10-14T10:30:45", "2025-10-14 10:30:45.5Z", "1969-12-31T23:59:59",
                                           "2025-10-14T10:30:45-03:00"};
  for (std::size_t i = 0; i < stamps.size(); ++i) {
    StoreEvent ev{StoreEvent::Kind::kSet, "", static_cast<Centavos>(i), stamps[i], 0, static_cast<std::int64_t>(i), 0};
    plain.push_back(ev);
    if (const auto p = pack_timestamp(std::string_view(stamps[i]))) {
      ev.ts_bits = p->bits;
      ev.ts_format = p->format;
    }
    packed.push_back(ev);
  }
  const std::vector<std::string> ids = {"a", "b", "c", "d"};
  for (std::size_t i = 0; i < ids.size(); ++i) plain[i].id = packed[i].id = ids[i];
  by_text.apply(plain);
  by_caller.apply(packed);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_TRUE(by_caller.get(ids[i])) << ids[i];
    EXPECT_EQ(by_caller.get(ids[i]), by_text.get(ids[i])) << ids[i];
    EXPECT_EQ(by_caller.get(ids[i])->timestamp, stamps[i]);
  }
  EXPECT_EQ(by_caller.memory_bytes(), by_text.memory_bytes());
}

TEST(BalanceStore, DropPartitionForgetsItsCustomersDeletesAndRejectionsOnly) {
  BalanceStore store;
  for (int i = 0; i < 3000; ++i) {
    ASSERT_EQ(store.set("c" + std::to_string(i), i, "2025-10-14T10:30:45", i % 3, i), ApplyResult::kInserted);
  }
  ASSERT_EQ(store.erase("c3", 0, 5000), ApplyResult::kErased);   // a remembered delete in partition 0
  ASSERT_EQ(store.erase("gone", 1, 5001), ApplyResult::kAbsent);  // remembered in partition 1
  store.note_rejected("late", "invalid_json", 0, 6000, 0);
  ASSERT_EQ(store.tombstones(), 2u);
  EXPECT_EQ(store.drop_partition(0), 1000u);  // 999 customers and the delete of c3
  EXPECT_EQ(store.size(), 2000u);
  EXPECT_EQ(store.tombstones(), 1u);
  EXPECT_FALSE(store.deleted_at("c3"));
  EXPECT_TRUE(store.deleted_at("gone"));
  EXPECT_FALSE(store.rejected("late"));
  for (int i = 0; i < 3000; ++i) {
    const auto got = store.get("c" + std::to_string(i));
    EXPECT_EQ(got.has_value(), i % 3 != 0) << i;
    if (got) {
      EXPECT_EQ(got->saldo, i);
    }
  }
  // The partition can be read again from its start.
  EXPECT_EQ(store.set("c0", 7, "2025-10-14T10:30:45", 0, 0), ApplyResult::kInserted);
  EXPECT_EQ(store.drop_partition(5), 0u);
}

// A cold rebuild sizes the index for the records to come; fit() gives back what few customers did
// not use, and every customer is still found after either.
TEST(BalanceStore, IndexSizedForARebuildIsGivenBackWhenFewCustomersCame) {
  BalanceStore store;
  const std::size_t empty = store.memory_bytes();
  store.expect_at_most(2'000'000);
  const std::size_t expected = store.memory_bytes();
  EXPECT_GE(expected - empty, 2'000'000u * 4);  // >= 4 bytes of index per record to come
  for (int i = 0; i < 1000; ++i) store.set("c" + std::to_string(i), i, kTs, 0, i);
  const std::size_t filled = store.memory_bytes();
  const std::size_t freed = store.fit();
  EXPECT_GE(freed, 2'000'000u * 4 * 3 / 4);
  EXPECT_EQ(store.memory_bytes(), filled - freed);
  EXPECT_EQ(store.fit(), 0u);  // fitted already
  ASSERT_EQ(store.size(), 1000u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(store.get("c" + std::to_string(i))->saldo, i) << i;
  // And it still grows as customers come.
  for (int i = 1000; i < 50'000; ++i) store.set("c" + std::to_string(i), i, kTs, 0, i);
  for (int i = 0; i < 50'000; i += 7) ASSERT_EQ(store.get("c" + std::to_string(i))->saldo, i) << i;
}

TEST(BalanceStore, ExpectAtMostIsCappedAndLeavesAFullStoreAsItIs) {
  BalanceStore capped, huge;
  capped.expect_at_most(BalanceStore::kExpectCap);
  huge.expect_at_most(BalanceStore::kExpectCap * 100);
  EXPECT_EQ(huge.memory_bytes(), capped.memory_bytes());  // no more index than the cap's
  EXPECT_LE(capped.memory_bytes(), std::size_t{65} << 20);
  BalanceStore full;
  for (int i = 0; i < 20'000; ++i) full.set(std::to_string(i), i, kTs, 0, i);
  const std::size_t before = full.memory_bytes();
  full.expect_at_most(100);  // fewer than it holds: nothing to do
  EXPECT_EQ(full.memory_bytes(), before);
  EXPECT_EQ(full.fit(), 0u);
}

// Ids of every length up to the limit, differing in one character anywhere: each is its own customer
// (the hash reads an id's last bytes in fixed-size pieces).
TEST(BalanceStore, IdsDifferingInOneCharacterAtAnyLengthAreDistinct) {
  BalanceStore store;
  std::map<std::string, Centavos> expected;
  Centavos next = 1;
  for (std::size_t len = 1; len <= 64; ++len) {
    for (std::size_t at = 0; at < len; ++at) {
      for (const char c : {'a', 'b', 'Z'}) {
        std::string id(len, '0');
        id[at] = c;
        store.set(id, next, kTs, 0, next);
        expected[id] = next++;
      }
    }
  }
  ASSERT_EQ(store.size(), expected.size());
  for (const auto& [id, saldo] : expected) ASSERT_EQ(store.get(id)->saldo, saldo) << id;
}

}  // namespace
}  // namespace saldo
