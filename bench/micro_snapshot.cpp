// The warm start's own work at 1M and 10M customers: reading a snapshot file (in the page cache, as
// after a restart) back into an empty store. The rest of a warm start is the broker's metadata and
// the records written since the snapshot (bench/run.sh measures the whole).
#include <benchmark/benchmark.h>

#include <filesystem>
#include <memory>
#include <string>
#include <variant>

#include "bench/store_fill.h"
#include "consumer_service/store/balance_store.h"
#include "consumer_service/snapshot/snapshot.h"

namespace {

std::string snapshot_of(std::int64_t n) {
  const std::string dir =
      (std::filesystem::temp_directory_path() / ("saldo-micro-snapshot-" + std::to_string(n))).string();
  saldo::BalanceStore store;
  store.reserve(static_cast<std::size_t>(n));
  saldo::bench::fill(store, n);
  saldo::SnapshotMeta meta{"bench", "cluster", 0, {{n, 0, {}}, {n, 0, {}}, {n, 0, {}}}};
  saldo::write_snapshot(dir, meta, store);
  return dir;
}

void BM_SnapshotLoad(benchmark::State& state) {
  const std::int64_t n = state.range(0);
  const std::string dir = snapshot_of(n);
  for (auto _ : state) {
    auto store = std::make_unique<saldo::BalanceStore>();
    const auto loaded = saldo::load_snapshot(dir, *store);
    if (std::holds_alternative<saldo::SnapshotRejected>(loaded)) {
      state.SkipWithError(std::get<saldo::SnapshotRejected>(loaded).reason.c_str());
      break;
    }
    benchmark::DoNotOptimize(store->size());
    state.PauseTiming();  // freeing 10M entries is not part of a start
    store.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * n);
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_SnapshotLoad)->Arg(1'000'000)->Arg(10'000'000)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace
