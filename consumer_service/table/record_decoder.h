#pragma once
// The first half of applying records to the table, with no store write in it: where each partition
// stands, each record's ordering time (common/record_order.h), the decode (common/codec.h), the
// counts and logs of what could not be applied, and the fingerprint of each partition's last record.
// What it produces, a DecodedBatch, owns everything it refers to, so the topic's messages can be
// given back before the batch is applied, on another thread (table_reader.cpp's pipeline): decoding
// the next batch while the store takes this one is how the rebuild uses both cores.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "common/codec.h"
#include "common/record_order.h"
#include "consumer_service/snapshot/snapshot.h"
#include "consumer_service/status/log_limiter.h"
#include "consumer_service/status/metrics.h"
#include "consumer_service/store/balance_store.h"
#include "consumer_service/topic/record_fingerprint.h"
#include "consumer_service/topic/topic_record.h"

namespace saldo {

// A rejected record the customer's answer will name (BalanceStore::note_rejected), applied with the batch.
struct Rejection {
  std::string id;
  DecodeError why;
  std::int32_t partition;
  std::int64_t offset;
  std::int64_t order_time;
};

// One batch, decoded: the store's events (their ids point into this batch's own strings), the
// rejections to note first, and where every partition stands once the batch is applied.
struct DecodedBatch {
  std::vector<StoreEvent> events;
  std::vector<Rejection> rejections;
  std::vector<std::int64_t> positions;     // per partition, once applied: the next offset (-1: nothing read)
  std::vector<PartitionCheckpoint> after;  // per partition, once applied: the snapshot's checkpoint
  std::vector<char> moved;                 // per partition: its position moved in this batch
  std::uint64_t tombstones = 0;
  std::uint64_t reread = 0;
  bool empty() const noexcept;

  // Kept between batches: decoding into them allocates nothing once they have grown.
  std::vector<BalanceUpdate> updates;
  std::vector<std::string> erased_ids;
};

class RecordDecoder {
 public:
  using InvalidHook = std::function<void(const TopicRecord&, DecodeError)>;

  explicit RecordDecoder(Metrics& metrics);
  void on_invalid(InvalidHook hook) { on_invalid_ = std::move(hook); }

  void begin(std::int32_t partitions);
  void begin_from(const std::vector<PartitionCheckpoint>& checkpoints);
  void add_partitions(std::int32_t partitions);
  std::int32_t partitions() const noexcept { return static_cast<std::int32_t>(positions_.size()); }
  // Sharded mode: whether the table holds `partition` (all do after begin*). A partition let go is
  // forgotten (nothing read, unread ordering time) and its records are ignored until held again.
  void hold(std::int32_t partition, bool held);
  bool held(std::int32_t partition) const noexcept {
    return partition >= 0 && partition < partitions() && held_[static_cast<std::size_t>(partition)] != 0;
  }
  std::vector<PartitionCheckpoint> checkpoints() const;

  // Decodes `records` in order, then the partition ends that followed them, into `out` (cleared
  // first). A record below its partition's position was read before and is skipped (counted as
  // re-read). An end moves its partition's position to `next`.
  void decode(std::span<const TopicRecord> records, std::span<const PartitionEnd> ends, DecodedBatch& out);
  void flush_logs() { invalid_log_.flush(); misrouted_log_.flush(); }

 private:
  bool advance(std::int32_t partition, std::int64_t next, DecodedBatch& out);
  void invalid(const TopicRecord& r, DecodeError why, std::int64_t order_time, DecodedBatch& out);

  Metrics& metrics_;
  InvalidHook on_invalid_;
  LogLimiter invalid_log_{"skipped-record lines", 10, std::chrono::seconds(10)};
  LogLimiter misrouted_log_{"misrouted-record lines", 5, std::chrono::seconds(60)};
  std::vector<std::int64_t> positions_;  // next offset per partition (-1: nothing read)
  std::vector<char> held_;               // per partition: the table holds it (sharded mode lets some go)
  OrderClock clock_;
  std::vector<RecordFingerprint> last_;  // per partition: the last record read
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::vector<std::size_t> last_in_batch_;  // per partition: index of its last record in the batch
};

}  // namespace saldo
