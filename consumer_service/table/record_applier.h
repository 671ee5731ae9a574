#pragma once
// From records of the topic to the table, with no Kafka in it: decodes each record (common/codec.h),
// gives it its ordering time, applies the batch to the store, counts what happened, names what it
// could not apply, and tells the reader where each partition stands. The reader (table_reader.h)
// only fetches; unit tests drive this class directly.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "common/codec.h"
#include "common/record_order.h"
#include "consumer_service/store/balance_store.h"
#include "consumer_service/status/log_limiter.h"
#include "consumer_service/status/metrics.h"
#include "consumer_service/status/readiness.h"
#include "consumer_service/snapshot/snapshot.h"
#include "consumer_service/topic/record_fingerprint.h"
#include "consumer_service/topic/topic_record.h"

namespace saldo {

class RecordApplier {
 public:
  // Called for each record that could not be applied (the dead-letter copy).
  using InvalidHook = std::function<void(const TopicRecord&, DecodeError)>;

  RecordApplier(BalanceStore& store, Readiness& readiness, Metrics& metrics);
  void on_invalid(InvalidHook hook) { on_invalid_ = std::move(hook); }

  // A new table of `partitions` partitions, nothing read yet.
  void begin(std::int32_t partitions);
  // A table restored from a snapshot: each partition continues at its checkpoint.
  void begin_from(const std::vector<PartitionCheckpoint>& checkpoints);
  // Where each partition stands now (for the next snapshot).
  std::vector<PartitionCheckpoint> checkpoints() const;
  // The topic grew to `partitions`; the new ones start unread.
  void add_partitions(std::int32_t partitions);
  std::int32_t partitions() const noexcept { return static_cast<std::int32_t>(positions_.size()); }

  // Applies a batch in order. A record below its partition's position was read before and is
  // skipped (counted as re-read); whether the log itself went back (a recreated or truncated topic)
  // is the reader's question, answered from the broker's watermarks.
  void apply(std::span<const TopicRecord> batch);
  // The consumer reached the end of `partition`; `next` is the offset it will read next.
  void end_of_partition(std::int32_t partition, std::int64_t next);

  // The next offset of a partition (-1: nothing read yet).
  std::int64_t position(std::int32_t partition) const { return positions_.at(static_cast<std::size_t>(partition)); }
  // A time no record still to be read can be ordered before: every partition's ordering time has
  // passed it (nullopt while some partition has not been read). Deletes before it can be forgotten.
  std::optional<std::int64_t> settled_time() const;
  void flush_logs() { invalid_log_.flush(); misrouted_log_.flush(); }

 private:
  bool advance(std::int32_t partition, std::int64_t next);  // false: below the position
  void invalid(const TopicRecord& r, DecodeError why, std::int64_t order_time);

  BalanceStore& store_;
  Readiness& readiness_;
  Metrics& metrics_;
  InvalidHook on_invalid_;
  LogLimiter invalid_log_{"skipped-record lines", 10, std::chrono::seconds(10)};
  LogLimiter misrouted_log_{"misrouted-record lines", 5, std::chrono::seconds(60)};

  std::vector<std::int64_t> positions_;  // next offset per partition
  OrderClock clock_;
  std::vector<char> touched_;              // partitions of the current batch
  std::vector<RecordFingerprint> last_;    // per partition: the last record read (the snapshot's identity check)
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::vector<std::size_t> last_in_batch_;  // per partition: index of its last record in the current batch
  // Kept between batches: decoding into them allocates nothing once they have grown.
  std::vector<BalanceUpdate> updates_;
  std::vector<StoreEvent> events_;
  std::vector<ApplyResult> results_;
};

}  // namespace saldo
