#pragma once
// One record of a compacted topic as a reader hands it over: views into the consumer's message,
// valid until the reader's next poll or release. Pure (no librdkafka type), so the record applier
// and its tests take it without Kafka.
#include <cstdint>
#include <optional>
#include <string_view>

namespace saldo {

struct TopicRecord {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = 0;          // the Kafka record timestamp
  std::optional<std::string_view> key;    // nullopt: no key
  std::optional<std::string_view> value;  // nullopt: a tombstone
};

// The consumer reached the end of a partition; `next` is the offset it will read next.
struct PartitionEnd {
  std::int32_t partition = 0;
  std::int64_t next = 0;
};

}  // namespace saldo
