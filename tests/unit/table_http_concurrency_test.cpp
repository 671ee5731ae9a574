// The service's threads without Kafka: one thread feeds records through the RecordApplier (as the
// table reader does) while clients read over the real HTTP server, /ready and /metrics included.
// Under ThreadSanitizer (scripts/test.sh) this checks the store, readiness, metrics and API locking
// together. (librdkafka's own threads cannot run under GCC's TSan: it does not intercept the C11
// thrd_create that librdkafka uses, so the Kafka loop itself is left out here.)
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "consumer_service/http/http_api.h"
#include "consumer_service/http/http_server.h"
#include "consumer_service/table/decoded_batches.h"
#include "consumer_service/table/record_applier.h"

namespace saldo {
namespace {

// Both ways the applier is driven: apply() on one thread, or (as the table reader does) the decoder
// on a thread of its own handing batches to the store's writer thread through DecodedBatches.
class TableHttpConcurrency : public ::testing::TestWithParam<bool> {};

TEST_P(TableHttpConcurrency, ClientsReadWhileTheApplierWrites) {
  const bool pipelined = GetParam();
  BalanceStore store;
  Readiness readiness("contas");
  Metrics metrics;
  const HttpApi api(store, readiness, metrics);
  HttpServer server(api, metrics, HttpServerOptions{.host = "127.0.0.1", .port = 0, .threads = 8});
  const int port = server.start();
  RecordApplier applier(store, readiness, metrics);
  constexpr int kPartitions = 2, kKeys = 300, kRounds = 30;
  applier.begin(kPartitions);
  readiness.begin_rebuild({{0, 0, kKeys}, {1, 0, kKeys}});

  std::atomic<bool> done{false};
  std::atomic<long> answers{0}, wrong{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      for (int i = c; !done.load(); ++i) {
        const std::string path = i % 10 == 0 ? "/ready" : i % 10 == 1 ? "/metrics" : "/saldo/k" + std::to_string(i % kKeys);
        const auto res = client.Get(path.c_str());
        if (!res) continue;
        ++answers;
        if (path.starts_with("/saldo/") && res->status == 200) {
          // Every value written is a whole number of reais: a torn read would show centavos.
          const auto body = nlohmann::json::parse(res->body, nullptr, false);
          if (body.is_discarded() || body["saldo"].dump().find(".0") == std::string::npos) ++wrong;
        } else if (res->status != 200 && res->status != 404 && res->status != 503) {
          ++wrong;
        }
      }
    });
  }

  DecodedBatches batches;
  std::thread writer;
  std::atomic<int> applied{0};
  if (pipelined) {
    writer = std::thread([&] {
      while (applied.load() < kRounds) {
        if (DecodedBatch* b = batches.take_full(std::chrono::milliseconds(50))) {
          applier.apply_decoded(*b);
          batches.give_back(b);
          ++applied;
        }
      }
    });
  }
  std::vector<std::string> values;
  std::vector<std::string> keys;
  for (int k = 0; k < kKeys; ++k) keys.push_back("k" + std::to_string(k));
  std::int64_t offsets[kPartitions] = {0, 0};
  for (int round = 0; round < kRounds; ++round) {
    values.clear();
    values.reserve(kKeys);
    std::vector<TopicRecord> batch;
    for (int k = 0; k < kKeys; ++k) {
      const std::int32_t p = k % kPartitions;
      values.push_back(R"({"cliente_id":")" + keys[static_cast<std::size_t>(k)] + R"(","saldo":)" +
                       std::to_string(round * 1000 + k) + R"(,"timestamp":"2025-10-14T10:30:45"})");
      TopicRecord r{p, offsets[p]++, 1000 + round, keys[static_cast<std::size_t>(k)], std::nullopt};
      if (round % 7 != 3 || k % 5 != 0) r.value = values.back();  // some deletes
      batch.push_back(r);
    }
    if (pipelined) {
      DecodedBatch* b = batches.take_free();
      ASSERT_NE(b, nullptr);
      applier.decoder().decode(batch, {}, *b);  // copies what it keeps: the views may go after
      batches.push_full(b);
    } else {
      applier.apply(batch);
    }
  }
  if (writer.joinable()) writer.join();
  ASSERT_TRUE(readiness.ready());
  while (answers.load() < 400) std::this_thread::yield();
  done = true;
  for (auto& t : clients) t.join();
  server.stop();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(store.get("k1")->saldo, ((kRounds - 1) * 1000 + 1) * 100);
}

INSTANTIATE_TEST_SUITE_P(OneThreadOrPipelined, TableHttpConcurrency, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Pipelined" : "OneThread"; });

}  // namespace
}  // namespace saldo
