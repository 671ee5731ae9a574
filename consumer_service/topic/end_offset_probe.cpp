#include "consumer_service/topic/end_offset_probe.h"

#include <future>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/watermark_query.h"

namespace saldo {
namespace {

constexpr int kQueryTimeoutMs = 1500;  // bounds a stop during a broker outage
constexpr auto kDestroyBound = std::chrono::seconds(2);

// The end (ListOffsets, timestamp "latest") of partitions [0, n) of `topic`, as `rk`'s
// isolation.level sees it, in one request per leader; nullopt unless every partition answered.
std::optional<std::vector<std::int64_t>> latest_offsets(rd_kafka_t* rk, const std::string& topic, std::int32_t n) {
  std::vector<std::int64_t> out;
  if (!list_offsets(rk, topic, 0, n, RD_KAFKA_OFFSET_END, kQueryTimeoutMs, out).empty()) return std::nullopt;
  return out;
}

}  // namespace

EndOffsetProbe::EndOffsetProbe(rd_kafka_t* stable_client, KafkaOptions options, std::chrono::milliseconds interval)
    : stable_client_(stable_client), options_(std::move(options)), interval_(interval) {}

EndOffsetProbe::~EndOffsetProbe() {
  try {
    stop();
  } catch (...) {
  }
}

void EndOffsetProbe::watch(std::int32_t partitions) {
  partitions_.store(partitions, std::memory_order_release);
  if (started_) return;
  KafkaOptions own = options_;
  // Last, so they win over the reader's: the high watermark, and no statistics nobody would serve.
  own.properties.emplace_back("isolation.level", "read_uncommitted");
  own.properties.emplace_back("statistics.interval.ms", "0");
  high_client_ = std::make_shared<KafkaHandle>(make_kafka_handle(RD_KAFKA_CONSUMER, make_kafka_conf(own)));
  started_ = true;
  worker_.start([this] { run(); });
}

void EndOffsetProbe::stop() {
  worker_.stop();
  if (!high_client_) return;
  // Never assigned, but librdkafka 2.0.2 may still hang in destroy after the topic was recreated
  // under it (CompactedTopicReader::close): bounded, then left to finish on its own thread.
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> finished = done->get_future();
  std::thread([client = std::move(high_client_), done] {
    client->reset();
    done->set_value();
  }).detach();
  if (finished.wait_for(kDestroyBound) == std::future_status::timeout) {
    spdlog::warn("the end-offset probe's Kafka client did not close within {} s; exiting without waiting for it",
                 std::chrono::duration_cast<std::chrono::seconds>(kDestroyBound).count());
  }
}

std::optional<EndOffsets> EndOffsetProbe::latest() const {
  std::lock_guard lock(mutex_);
  return latest_;
}

std::optional<EndOffsets> EndOffsetProbe::ask(std::int32_t n) {
  EndOffsets answer;
  answer.asked_at = std::chrono::steady_clock::now();
  const std::string& topic = options_.topic;
  auto stable = latest_offsets(stable_client_, topic, n);
  if (!stable) return std::nullopt;
  auto high = latest_offsets(high_client_->get(), topic, n);
  if (!high) return std::nullopt;
  answer.stable = std::move(*stable);
  answer.high = std::move(*high);
  return answer;
}

void EndOffsetProbe::run() {
  do {
    const std::int32_t n = partitions_.load(std::memory_order_acquire);
    if (n <= 0) continue;
    std::optional<EndOffsets> answer = ask(n);
    rd_kafka_poll(high_client_->get(), 0);  // serves the probe's own client's error and log events
    if (!answer) continue;  // the broker is away: the readiness' broker flag says so; keep the last answer
    std::lock_guard lock(mutex_);
    answer->generation = generation_.load(std::memory_order_relaxed) + 1;
    latest_ = std::move(answer);
    generation_.store(latest_->generation, std::memory_order_release);
  } while (worker_.pause(interval_));
}

}  // namespace saldo
