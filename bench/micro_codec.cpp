// Micro benchmarks of the per-record and per-request work: decoding a typical value (our SAX-free
// codec next to nlohmann's DOM parse of the same bytes, the baseline issue 7 quotes), encoding an
// update, and building a GET /saldo reply.
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include "common/codec.h"
#include "consumer_service/store/balance_store.h"
#include "consumer_service/http/http_api.h"

namespace {

constexpr std::string_view kKey = "123456789";
constexpr std::string_view kValue = R"({"cliente_id":"123456789","saldo":1500.25,"timestamp":"2025-10-14T10:30:45"})";

void BM_DecodeTypicalValue(benchmark::State& state) {
  for (auto _ : state) {
    auto r = saldo::decode_update(kKey, kValue);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kValue.size()));
}
BENCHMARK(BM_DecodeTypicalValue);

// Baseline: nlohmann's DOM parse alone (no validation, and saldo lands in a double).
void BM_NlohmannDomParse(benchmark::State& state) {
  for (auto _ : state) {
    auto j = nlohmann::json::parse(kValue);
    benchmark::DoNotOptimize(j);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * kValue.size()));
}
BENCHMARK(BM_NlohmannDomParse);

void BM_EncodeUpdate(benchmark::State& state) {
  saldo::BalanceUpdate u{"123456789", 150025, "2025-10-14T10:30:45"};
  for (auto _ : state) {
    auto s = saldo::encode_update(u);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_EncodeUpdate);

void BM_SaldoReply(benchmark::State& state) {
  saldo::BalanceStore store;
  saldo::Readiness readiness;
  saldo::Metrics metrics;
  store.set("123456789", 150025, "2025-10-14T10:30:45", 1, 42);
  readiness.begin_rebuild({});  // no partitions: READY at once
  saldo::HttpApi api(store, readiness, metrics);
  for (auto _ : state) {
    auto reply = api.handle("GET", "/saldo/123456789");
    benchmark::DoNotOptimize(reply);
  }
}
BENCHMARK(BM_SaldoReply);

}  // namespace
