// One writer applying batches while readers get(): under TSan (scripts/test.sh) this proves the
// locking; in any build it checks readers only ever see a value some write produced.
#include "consumer_service/store/balance_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace saldo {
namespace {

TEST(StoreConcurrency, ReadersSeeOnlyWrittenValuesWhileAWriterApplies) {
  BalanceStore store;
  constexpr int kKeys = 5000;
  constexpr int kRounds = 40;
  std::vector<std::string> ids;
  for (int i = 0; i < kKeys; ++i) ids.push_back(std::to_string(i));

  std::atomic<bool> done{false};
  std::atomic<long> reads{0};
  std::atomic<long> bad{0};
  auto reader = [&] {
    long n = 0;
    while (!done.load(std::memory_order_acquire)) {
      for (int i = 0; i < kKeys; i += 7) {
        const auto got = store.get(ids[i]);
        // Written values are round * 1_000_000 + key, so a torn read shows up as a mismatch.
        if (got && (got->saldo % 1'000'000 != i || got->timestamp != "2025-10-14T10:30:45" ||
                    got->offset != got->saldo / 1'000'000 * kKeys + i)) {
          bad.fetch_add(1);
        }
        ++n;
      }
    }
    reads.fetch_add(n);
  };
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) readers.emplace_back(reader);

  std::vector<StoreEvent> batch;
  for (int round = 0; round < kRounds; ++round) {
    batch.clear();
    for (int i = 0; i < kKeys; ++i) {
      const std::int64_t offset = std::int64_t{round} * kKeys + i;
      if (round % 5 == 3 && i % 3 == 0) {
        batch.push_back({StoreEvent::Kind::kErase, ids[i], 0, {}, 0, offset});
      } else {
        batch.push_back({StoreEvent::Kind::kSet, ids[i], Centavos{round} * 1'000'000 + i, "2025-10-14T10:30:45", 0,
                         offset});
      }
      if (batch.size() == 500) {
        store.apply(batch);
        batch.clear();
      }
    }
    store.apply(batch);
  }
  done.store(true, std::memory_order_release);
  for (auto& t : readers) t.join();

  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(store.size(), static_cast<std::size_t>(kKeys));
  EXPECT_EQ(store.get("7")->saldo, Centavos{kRounds - 1} * 1'000'000 + 7);
}

}  // namespace
}  // namespace saldo
