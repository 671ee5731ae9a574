#include "consumer_service/table/record_applier.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/partitioner.h"

namespace saldo {
RecordApplier::RecordApplier(BalanceStore& store, Readiness& readiness, Metrics& metrics)
    : store_(store), readiness_(readiness), metrics_(metrics) {}

void RecordApplier::begin(std::int32_t partitions) {
  positions_.assign(static_cast<std::size_t>(partitions), -1);
  clock_.reset(static_cast<std::size_t>(partitions));
  touched_.assign(static_cast<std::size_t>(partitions), 0);
  last_.assign(static_cast<std::size_t>(partitions), RecordFingerprint{});
  last_in_batch_.assign(static_cast<std::size_t>(partitions), kNone);
}

void RecordApplier::begin_from(const std::vector<PartitionCheckpoint>& checkpoints) {
  begin(static_cast<std::int32_t>(checkpoints.size()));
  std::vector<std::int64_t> times;
  for (std::size_t p = 0; p < checkpoints.size(); ++p) {
    positions_[p] = checkpoints[p].next_offset;
    last_[p] = checkpoints[p].last;
    times.push_back(checkpoints[p].order_time);
  }
  clock_.restore(std::move(times));
}

std::vector<PartitionCheckpoint> RecordApplier::checkpoints() const {
  std::vector<PartitionCheckpoint> out(positions_.size());
  for (std::size_t p = 0; p < positions_.size(); ++p) {
    out[p] = {std::max<std::int64_t>(positions_[p], 0), clock_.at(static_cast<std::int32_t>(p)), last_[p]};
  }
  return out;
}

void RecordApplier::add_partitions(std::int32_t partitions) {
  const auto n = static_cast<std::size_t>(partitions);
  if (n <= positions_.size()) return;
  positions_.resize(n, -1);
  clock_.grow(n);
  touched_.resize(n, 0);
  last_.resize(n);
  last_in_batch_.resize(n, kNone);
}

std::optional<std::int64_t> RecordApplier::settled_time() const {
  const std::int64_t t = clock_.settled();
  if (t == OrderClock::kUnread) return std::nullopt;
  return t;
}

bool RecordApplier::advance(std::int32_t partition, std::int64_t next) {
  auto& pos = positions_[static_cast<std::size_t>(partition)];
  if (next < pos) return false;
  pos = next;
  touched_[static_cast<std::size_t>(partition)] = 1;
  return true;
}

void RecordApplier::end_of_partition(std::int32_t partition, std::int64_t next) {
  if (partition < 0 || partition >= partitions() || !advance(partition, next)) return;
  readiness_.advance(partition, next);
  touched_[static_cast<std::size_t>(partition)] = 0;
}

void RecordApplier::invalid(const TopicRecord& r, DecodeError why, std::int64_t order_time) {
  metrics_.invalid(why);
  const bool named = why != DecodeError::kNullKey && why != DecodeError::kInvalidKey;
  // The customer's answer will say a newer record was rejected (never the balance it carried).
  if (named) store_.note_rejected(*r.key, to_string(why), r.partition, r.offset, order_time);
  if (on_invalid_) on_invalid_(r, why);
  if (invalid_log_.allow()) {
    spdlog::warn("skipped record at partition {} offset {}{}: {}", r.partition, r.offset,
                 named ? " for customer '" + std::string(*r.key) + "'" : std::string(), to_string(why));
  }
}

void RecordApplier::apply(std::span<const TopicRecord> batch) {
  // Sized before the loop: the events point into the updates' strings.
  if (updates_.size() < batch.size()) updates_.resize(batch.size());
  events_.clear();
  std::size_t used = 0;
  std::uint64_t tombstones = 0, reread = 0;
  const std::int32_t count = partitions();
  for (std::size_t i = 0; i < batch.size(); ++i) {
    const TopicRecord& r = batch[i];
    if (r.partition < 0 || r.partition >= count) continue;  // not assigned by us: cannot happen
    // A record below the position was applied already (librdkafka fetched it again, e.g. after an
    // offset reset): applying it again would give it a later ordering time than it had.
    if (!advance(r.partition, r.offset + 1)) {
      ++reread;
      continue;
    }
    last_in_batch_[static_cast<std::size_t>(r.partition)] = i;
    const std::int64_t order_time = clock_.next(r.partition, r.timestamp_ms);

    BalanceUpdate& u = updates_[used];
    const RecordDecode d = decode_record(r.key, r.value, r.timestamp_ms, u);
    if (d.kind == RecordKind::kInvalid) {
      invalid(r, d.error, order_time);
      continue;
    }
    if (count > 1 && murmur2_partition(*r.key, count) != r.partition) {
      metrics_.misrouted();
      if (misrouted_log_.allow()) {
        spdlog::warn("customer '{}' at partition {} offset {} belongs on partition {} (murmur2 of {}): some producer "
                     "uses another partitioner; saldo_admin fix-routing repairs the topic",
                     *r.key, r.partition, r.offset, murmur2_partition(*r.key, count), count);
      }
    }
    if (d.kind == RecordKind::kErase) {
      events_.push_back({StoreEvent::Kind::kErase, *r.key, 0, {}, r.partition, r.offset, order_time});
      ++tombstones;
      continue;
    }
    metrics_.decode_notes(d.notes);
    ++used;
    events_.push_back({StoreEvent::Kind::kSet, u.cliente_id, u.saldo, u.timestamp, r.partition, r.offset, order_time});
  }
  results_.resize(events_.size());
  store_.apply(events_, results_);
  std::uint64_t stale = 0;
  for (const ApplyResult res : results_) stale += res == ApplyResult::kStale;
  metrics_.records_applied(events_.size() - stale);
  metrics_.tombstones(tombstones);
  metrics_.stale(stale);
  metrics_.reread(reread);
  for (std::int32_t p = 0; p < count; ++p) {
    // Only the partition's last record of the batch is fingerprinted: one hash per partition per batch.
    if (auto& i = last_in_batch_[static_cast<std::size_t>(p)]; i != kNone) {
      last_[static_cast<std::size_t>(p)] = fingerprint_of(batch[i]);
      i = kNone;
    }
    auto& t = touched_[static_cast<std::size_t>(p)];
    if (t) readiness_.advance(p, positions_[static_cast<std::size_t>(p)]);
    t = 0;
  }
}

}  // namespace saldo
