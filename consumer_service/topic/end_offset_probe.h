#pragma once
// Where each partition ends, as the broker says now (ListOffsets), asked from a thread of its own
// every `interval`, so the readers' lag is never computed from what librdkafka last heard in a fetch.
// librdkafka 2.0.2's cached watermarks (rd_kafka_get_watermark_offsets) come from fetch responses:
// after a broker restart, until the fetcher's first answer, they still say what the partition held
// before the outage, and a lag computed from them reads 0 while the broker holds newer records (the
// broker-kill fault test, under load). The probe also keeps the reader working: a query is a request
// of its own, it never waits behind the fetcher.
//
// Two ends per partition: the last stable offset (LSO), the end a read_committed reader can reach,
// asked with the reader's own consumer; and the high watermark, asked with a small consumer of the
// probe's own set to read_uncommitted (ListOffsets answers by the asking client's isolation.level).
// Records between the two belong to transactions still open: lag is counted up to the LSO, and the
// open transactions' records are shown apart.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "common/config.h"
#include "common/kafka_handles.h"
#include "common/worker_thread.h"

namespace saldo {

struct EndOffsets {
  std::vector<std::int64_t> stable;  // per partition: last stable offset (-1: the broker did not say)
  std::vector<std::int64_t> high;    // per partition: high watermark (-1: the broker did not say)
  std::chrono::steady_clock::time_point asked_at{};  // when the question was sent
  std::uint64_t generation = 0;      // 1, 2, ... one per answer
};

class EndOffsetProbe {
 public:
  // `stable_client`: the reader's consumer (must outlive stop()); `options`: the reader's properties,
  // from which the probe makes its read_uncommitted consumer when it starts.
  EndOffsetProbe(rd_kafka_t* stable_client, KafkaOptions options, std::chrono::milliseconds interval);
  ~EndOffsetProbe();
  EndOffsetProbe(const EndOffsetProbe&) = delete;
  EndOffsetProbe& operator=(const EndOffsetProbe&) = delete;

  // Asks about partitions [0, partitions) from now on; starts the thread on the first call (throws
  // ConfigError/KafkaException when the probe's consumer cannot be made).
  void watch(std::int32_t partitions);
  // Stops the thread; its consumer is destroyed within a bound (see CompactedTopicReader::close).
  void stop();

  // The latest answer in which every partition was answered, or nullopt (none yet).
  std::optional<EndOffsets> latest() const;
  // The latest answer's generation (0: none yet): cheap, to learn whether latest() changed.
  std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }

 private:
  void run();
  // Both ends of partitions [0, n), or nullopt when the broker did not answer all of them.
  std::optional<EndOffsets> ask(std::int32_t n);

  rd_kafka_t* stable_client_;
  KafkaOptions options_;
  std::chrono::milliseconds interval_;
  std::shared_ptr<KafkaHandle> high_client_;  // shared with a bounded destroy that may outlive us
  WorkerThread worker_;
  bool started_ = false;
  std::atomic<std::int32_t> partitions_{0};
  mutable std::mutex mutex_;
  std::optional<EndOffsets> latest_;
  std::atomic<std::uint64_t> generation_{0};
};

}  // namespace saldo
