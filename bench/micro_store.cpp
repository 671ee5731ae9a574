// Micro benchmarks of the balance store at 1M and 10M customers: applying a batch (the rebuild's
// inner loop), a random get (an HTTP request's lookup), and bytes per customer reported as a counter
// next to std::unordered_map<std::string, ...> holding the same data (the baseline issue 7 quotes).
#include <benchmark/benchmark.h>

#include <malloc.h>

#include <random>
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
