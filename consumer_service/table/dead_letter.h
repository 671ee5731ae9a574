#pragma once
// The optional dead-letter topic: every record the reader skips as invalid is copied there as it was
// (key and value untouched) with headers naming why and where it came from, so nothing is dropped
// silently. An idempotent producer of its own; delivery results are counted in Metrics.
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/codec.h"
#include "common/config.h"
#include "common/kafka_handles.h"
#include "consumer_service/status/metrics.h"

namespace saldo {

// Header names on every dead-letter record.
inline constexpr const char* kDeadLetterReason = "saldo.reason";            // to_string(DecodeError)
inline constexpr const char* kDeadLetterTopic = "saldo.source.topic";
inline constexpr const char* kDeadLetterPartition = "saldo.source.partition";  // decimal text
inline constexpr const char* kDeadLetterOffset = "saldo.source.offset";        // decimal text

class DeadLetterSink {
 public:
  // `kafka` is the service's configuration (bootstrap servers and -X properties, e.g. SASL);
  // `dead_letter_topic` must exist. Throws ConfigError/KafkaException on a bad configuration.
  DeadLetterSink(const KafkaOptions& kafka, std::string dead_letter_topic, Metrics& metrics);
  ~DeadLetterSink();
  DeadLetterSink(const DeadLetterSink&) = delete;
  DeadLetterSink& operator=(const DeadLetterSink&) = delete;

  // Queues a copy of the record; never blocks for long and never throws (a failure is counted).
  // Called from the reader's thread; poll() from the main thread (librdkafka handles are thread-safe).
  void send(std::string_view source_topic, std::int32_t partition, std::int64_t offset, const void* key,
            std::size_t key_len, const void* value, std::size_t value_len, DecodeError why) noexcept;
  // Serves delivery reports.
  void poll() noexcept;
  // Waits up to `timeout` for every copy to be acknowledged; what is left counts as failed.
  void close(std::chrono::milliseconds timeout) noexcept;
  const std::string& topic() const { return topic_; }

 private:
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) noexcept;

  std::string topic_;
  Metrics& metrics_;
  KafkaHandle rk_;
};

}  // namespace saldo
