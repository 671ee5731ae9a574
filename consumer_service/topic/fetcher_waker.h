#pragma once
// Wakes librdkafka's broker threads from a thread of its own, so the reader never waits for it.
// librdkafka 2.0.2 stops fetching once the prefetch queue holds queued.min.messages, and a broker
// thread looks again only on its next wakeup: up to a second later when nothing else happens (later
// versions have fetch.queue.backoff.ms). A request that goes through that thread wakes it (a
// watermark query to a partition's leader), and it then decides to fetch again at once.
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include <librdkafka/rdkafka.h>

namespace saldo {

class FetcherWaker {
 public:
  // `rk` must outlive this object.
  FetcherWaker(rd_kafka_t* rk, std::string topic);
  ~FetcherWaker();
  FetcherWaker(const FetcherWaker&) = delete;
  FetcherWaker& operator=(const FetcherWaker&) = delete;

  // Asks for one wakeup of the next partition's leader (of `partitions`); requests made while one is
  // under way are served by a single next one. Never blocks on the broker.
  void request(std::int32_t partitions);

 private:
  void run();

  rd_kafka_t* rk_;
  std::string topic_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::int32_t pending_ = 0;  // partitions of the pending request; 0: none
  std::thread thread_;
};

}  // namespace saldo
