// Micro benchmarks of the balance store at 1M and 10M customers: applying a batch (the rebuild's
// inner loop), a random get (an HTTP request's lookup), and bytes per customer reported as a counter
// next to std::unordered_map<std::string, ...> holding the same data (the baseline issue 7 quotes).
#include <benchmark/benchmark.h>

#include <malloc.h>
#include <memory>

#include <random>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench/store_fill.h"
#include "consumer_service/store/balance_store.h"

namespace {

using saldo::bench::fill;
using saldo::bench::id_of;
using saldo::bench::kTimestamp;

std::size_t heap_in_use() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

// range(1): 1 = the timestamps come packed, as the table's decoder hands them over (issue 23).
void BM_StoreFill(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const bool packed = state.range(1) != 0;
  double bytes_per_customer = 0;
  for (auto _ : state) {
    const std::size_t before = heap_in_use();
    saldo::BalanceStore store;
    fill(store, n, packed);
    bytes_per_customer = static_cast<double>(heap_in_use() - before) / static_cast<double>(n);
    benchmark::DoNotOptimize(store.size());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["heap_bytes_per_customer"] = bytes_per_customer;
}
BENCHMARK(BM_StoreFill)
    ->Args({1'000'000, 0})
    ->Args({1'000'000, 1})
    ->Args({10'000'000, 0})
    ->Args({10'000'000, 1})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// A cold rebuild's store work as bench/run.sh's topic gives it: the producer's load (producer/
// load_generator.cpp) sends customers 1..customers once each, then updates of random ones, and the
// table's decoder hands the store batches of up to 10,000 events with packed timestamps. Items/s is
// records applied; the ids and events are made before the clock starts and the store is freed after
// it stops. range(0) customers, range(1) records; range(2) = 1 times only the updates (the first
// `customers` records fill the store untimed); range(3) = 1 tells the store first how many records
// come (BalanceStore::expect_at_most, as the table reader does on a cold rebuild).
void BM_StoreRebuild(benchmark::State& state) {
  const std::int64_t customers = state.range(0), records = state.range(1);
  constexpr std::size_t kBatch = 10'000;
  const saldo::PackedTimestamp ts = *saldo::pack_timestamp(kTimestamp);
  std::vector<std::string> ids;
  ids.reserve(static_cast<std::size_t>(records));
  std::mt19937_64 rng(7);
  for (std::int64_t i = 0; i < records; ++i) {
    ids.push_back(std::to_string((i < customers ? static_cast<std::uint64_t>(i) : rng() % customers) + 1));
  }
  std::vector<saldo::StoreEvent> events;
  events.reserve(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    saldo::StoreEvent& ev = events.emplace_back(saldo::StoreEvent{saldo::StoreEvent::Kind::kSet, ids[i],
                                                                  static_cast<saldo::Centavos>(i), kTimestamp,
                                                                  static_cast<std::int32_t>(i % 3),
                                                                  static_cast<std::int64_t>(i / 3), 1});
    ev.ts_bits = ts.bits;
    ev.ts_format = ts.format;
  }
  std::vector<saldo::ApplyResult> results(kBatch);
  const std::size_t timed_from = state.range(2) != 0 ? static_cast<std::size_t>(customers) : 0;
  for (auto _ : state) {
    auto store = std::make_unique<saldo::BalanceStore>();
    if (state.range(3) != 0) store->expect_at_most(static_cast<std::size_t>(records));  // as the table reader does
    if (timed_from > 0) state.PauseTiming();
    for (std::size_t i = 0; i < events.size(); i += kBatch) {
      if (i == timed_from && timed_from > 0) state.ResumeTiming();
      const std::size_t n = std::min(kBatch, events.size() - i);
      store->apply(std::span<const saldo::StoreEvent>(events).subspan(i, n), std::span(results).first(n));
    }
    benchmark::DoNotOptimize(store->size());
    state.PauseTiming();  // freeing the store is not the rebuild's work
    store.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * (records - static_cast<std::int64_t>(timed_from)));
}
BENCHMARK(BM_StoreRebuild)
    ->Args({10'000'000, 12'000'000, 0, 0})
    ->Args({10'000'000, 12'000'000, 1, 0})
    ->Args({10'000'000, 12'000'000, 0, 1})
    ->Args({10'000'000, 12'000'000, 1, 1})
   ->Unit(benchmark::kMillisecond)->Iterations(1);

struct Value {
  saldo::Centavos saldo;
  std::string timestamp;
  std::int32_t partition;
  std::int64_t offset;
};

void BM_UnorderedMapFill(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  double bytes_per_customer = 0;
  for (auto _ : state) {
    const std::size_t before = heap_in_use();
    std::unordered_map<std::string, Value> map;
    for (std::int64_t i = 0; i < n; ++i) map[id_of(i)] = Value{i, std::string(kTimestamp), 0, i};
    bytes_per_customer = static_cast<double>(heap_in_use() - before) / static_cast<double>(n);
    benchmark::DoNotOptimize(map.size());
  }
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["heap_bytes_per_customer"] = bytes_per_customer;
}
BENCHMARK(BM_UnorderedMapFill)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond)->Iterations(1);

void BM_StoreGetRandom(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  static saldo::BalanceStore* store = nullptr;
  static std::int64_t filled = 0;
  if (filled != n) {  // one fill per size, shared by the repetitions
    delete store;
    store = new saldo::BalanceStore;
    fill(*store, n);
    filled = n;
  }
  std::mt19937_64 rng(42);
  std::vector<std::string> keys;
  for (int i = 0; i < 4096; ++i) keys.push_back(id_of(static_cast<std::int64_t>(rng() % n)));
  std::size_t k = 0;
  for (auto _ : state) {
    auto snap = store->get(keys[k++ & 4095]);
    benchmark::DoNotOptimize(snap);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_StoreGetRandom)->Arg(1'000'000)->Arg(10'000'000);

}  // namespace
