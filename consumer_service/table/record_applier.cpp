#include "consumer_service/table/record_applier.h"

#include <algorithm>
#include <limits>

namespace saldo {

RecordApplier::RecordApplier(BalanceStore& store, Readiness& readiness, Metrics& metrics)
    : store_(store), readiness_(readiness), metrics_(metrics), decoder_(metrics) {}

void RecordApplier::applied_state_from_decoder() {
  checkpoints_ = decoder_.checkpoints();
  positions_.resize(checkpoints_.size(), -1);
}

void RecordApplier::begin(std::int32_t partitions) {
  decoder_.begin(partitions);
  positions_.assign(static_cast<std::size_t>(partitions), -1);
  applied_state_from_decoder();
}

void RecordApplier::begin_from(const std::vector<PartitionCheckpoint>& checkpoints) {
  decoder_.begin_from(checkpoints);
  positions_.clear();
  for (const auto& c : checkpoints) positions_.push_back(c.next_offset);
  applied_state_from_decoder();
}

void RecordApplier::add_partitions(std::int32_t partitions) {
  decoder_.add_partitions(partitions);
  positions_.resize(static_cast<std::size_t>(std::max(partitions, this->partitions())), -1);
  applied_state_from_decoder();
}

void RecordApplier::let_go(std::int32_t partition) {
  if (partition < 0 || partition >= partitions()) return;
  decoder_.hold(partition, false);
  store_.drop_partition(partition);
  positions_[static_cast<std::size_t>(partition)] = -1;
  checkpoints_ = decoder_.checkpoints();
}

void RecordApplier::hold(std::int32_t partition) {
  if (partition < 0 || partition >= partitions()) return;
  decoder_.hold(partition, true);
}

std::optional<std::int64_t> RecordApplier::settled_time() const {
  std::int64_t t = std::numeric_limits<std::int64_t>::max();
  bool any = false;
  for (std::size_t p = 0; p < checkpoints_.size(); ++p) {
    if (!decoder_.held(static_cast<std::int32_t>(p))) continue;  // sharded mode: not this table's
    if (checkpoints_[p].order_time == OrderClock::kUnread) return std::nullopt;
    t = std::min(t, checkpoints_[p].order_time);
    any = true;
  }
  if (!any) return std::nullopt;
  return t;
}

void RecordApplier::apply(std::span<const TopicRecord> batch) {
  decoder_.decode(batch, {}, batch_);
  apply_decoded(batch_);
  decoder_.flush_logs();
}

void RecordApplier::end_of_partition(std::int32_t partition, std::int64_t next) {
  const PartitionEnd end{partition, next};
  decoder_.decode({}, std::span<const PartitionEnd>(&end, 1), batch_);
  apply_decoded(batch_);
}

void RecordApplier::apply_decoded(const DecodedBatch& batch) {
  // Before the batch's records, as when each was noted while decoding: a rejection is kept only when
  // it is newer than what the store holds.
  for (const Rejection& r : batch.rejections) {
    store_.note_rejected(r.id, to_string(r.why), r.partition, r.offset, r.order_time);
  }
  results_.resize(batch.events.size());
  store_.apply(batch.events, results_);
  std::uint64_t stale = 0;
  for (const ApplyResult res : results_) stale += res == ApplyResult::kStale;
  metrics_.records_applied(batch.events.size() - stale);
  metrics_.tombstones(batch.tombstones);
  metrics_.stale(stale);
  metrics_.reread(batch.reread);
  positions_ = batch.positions;
  checkpoints_ = batch.after;
  for (std::size_t p = 0; p < batch.moved.size(); ++p) {
    if (batch.moved[p]) readiness_.advance(static_cast<std::int32_t>(p), positions_[p]);
  }
}

}  // namespace saldo
