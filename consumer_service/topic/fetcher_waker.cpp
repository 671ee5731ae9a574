#include "consumer_service/topic/fetcher_waker.h"

#include <utility>

namespace saldo {
namespace {
constexpr int kQueryTimeoutMs = 200;
}  // namespace

FetcherWaker::FetcherWaker(rd_kafka_t* rk, std::string topic)
    : rk_(rk), topic_(std::move(topic)), thread_([this] { run(); }) {}

FetcherWaker::~FetcherWaker() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void FetcherWaker::request(std::int32_t partitions) {
  if (partitions <= 0) return;
  {
    std::lock_guard lock(mutex_);
    pending_ = partitions;
  }
  cv_.notify_one();
}

void FetcherWaker::run() {
  std::int32_t partition = 0;
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait(lock, [&] { return stopping_ || pending_ > 0; });
    if (stopping_) return;
    const std::int32_t partitions = std::exchange(pending_, 0);
    lock.unlock();
    // Every broker's thread in turn; the answer itself is not needed.
    partition = (partition + 1) % partitions;
    std::int64_t low = 0, high = 0;
    rd_kafka_query_watermark_offsets(rk_, topic_.c_str(), partition, &low, &high, kQueryTimeoutMs);
    lock.lock();
  }
}

}  // namespace saldo
