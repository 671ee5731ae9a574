#pragma once
// From records of the topic to the table, with no Kafka in it, in two halves: the RecordDecoder
// (record_decoder.h: positions, ordering times, decode, what could not be applied) and the store
// writes of a decoded batch (apply_decoded: the store, the rejected records' notes, and then the
// readiness, so a position is published only once the store holds what it covers). apply() does both
// at once; the table reader runs the halves on two threads. Unit tests drive this class directly.
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/record_order.h"
#include "consumer_service/snapshot/snapshot.h"
#include "consumer_service/status/metrics.h"
#include "consumer_service/status/readiness.h"
#include "consumer_service/store/balance_store.h"
#include "consumer_service/table/record_decoder.h"
#include "consumer_service/topic/topic_record.h"

namespace saldo {

class RecordApplier {
 public:
  using InvalidHook = RecordDecoder::InvalidHook;

  RecordApplier(BalanceStore& store, Readiness& readiness, Metrics& metrics);
  // Called for each record that could not be applied (the dead-letter copy), on the decoding thread.
  void on_invalid(InvalidHook hook) { decoder_.on_invalid(std::move(hook)); }

  // A new table of `partitions` partitions, nothing read yet.
  void begin(std::int32_t partitions);
  // A table restored from a snapshot: each partition continues at its checkpoint.
  void begin_from(const std::vector<PartitionCheckpoint>& checkpoints);
  // The topic grew to `partitions`; the new ones start unread.
  void add_partitions(std::int32_t partitions);
  std::int32_t partitions() const noexcept { return static_cast<std::int32_t>(positions_.size()); }
  // Sharded mode: lets `partition` go (its customers and deletes leave the store, nothing of it is
  // read), or holds it again from its start. Between batches, on the store's writer thread.
  void let_go(std::int32_t partition);
  void hold(std::int32_t partition);
  bool held(std::int32_t partition) const noexcept { return decoder_.held(partition); }

  // Applies a batch in order: decode() then apply_decoded(). A record below its partition's position
  // was read before and is skipped (counted as re-read); whether the log itself went back (a
  // recreated or truncated topic) is the reader's question, answered from the broker's watermarks.
  void apply(std::span<const TopicRecord> batch);
  // The consumer reached the end of `partition`; `next` is the offset it will read next.
  void end_of_partition(std::int32_t partition, std::int64_t next);

  // The first half, for a thread of its own: between begin*/add_partitions calls only that thread
  // may use it.
  RecordDecoder& decoder() noexcept { return decoder_; }
  // The second half, on the store's writer thread: a batch the decoder made, in the order made.
  void apply_decoded(const DecodedBatch& batch);

  // As applied (the store holds everything before these positions):
  // the next offset of a partition (-1: nothing read yet),
  std::int64_t position(std::int32_t partition) const { return positions_.at(static_cast<std::size_t>(partition)); }
  // where each partition stands (for the next snapshot),
  std::vector<PartitionCheckpoint> checkpoints() const { return checkpoints_; }
  // and a time no record still to be applied can be ordered before: every partition's ordering time
  // has passed it (nullopt while some partition has not been read). Deletes before it can be forgotten.
  std::optional<std::int64_t> settled_time() const;

 private:
  void applied_state_from_decoder();

  BalanceStore& store_;
  Readiness& readiness_;
  Metrics& metrics_;
  RecordDecoder decoder_;
  DecodedBatch batch_;  // apply()'s, reused
  std::vector<ApplyResult> results_;
  // As applied.
  std::vector<std::int64_t> positions_;
  std::vector<PartitionCheckpoint> checkpoints_;
};

}  // namespace saldo
