#pragma once
// What identifies the last record a reader applied in a partition: its offset, its timestamp and a
// hash of its key and value. Stored with the positions (the snapshot, the PostgreSQL sink's
// saldo_offsets) and compared with the record the topic holds at that offset at every start: a topic
// deleted and recreated with at least as many records passes every offset check, but holds other
// records there (other timestamps, other keys). librdkafka 2.0.2 has no topic-id API. Pure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "consumer_service/topic/topic_record.h"

namespace saldo {

struct RecordFingerprint {
  std::int64_t offset = -1;  // -1: nothing read in the partition
  std::int64_t timestamp_ms = 0;
  std::uint64_t content_hash = 0;  // FNV-1a 64 of the key and the value, each with its presence
  bool operator==(const RecordFingerprint&) const = default;
};

RecordFingerprint fingerprint_of(const TopicRecord& record);

// Why the partition's log does not hold the record `stored` names, given `found`, the first record
// the topic has at or after `stored.offset` (nullopt: none came). nullopt when it does hold it.
struct FingerprintMismatch {
  std::string result;  // "topic_changed" or "unverifiable" (a label of saldo_snapshot_loads_total)
  std::string reason;
};
std::optional<FingerprintMismatch> check_fingerprint(std::string_view topic, std::int32_t partition,
                                                     const RecordFingerprint& stored,
                                                     const std::optional<RecordFingerprint>& found);

}  // namespace saldo
