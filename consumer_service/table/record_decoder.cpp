#include "consumer_service/table/record_decoder.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/partitioner.h"
#include "consumer_service/store/compact_timestamp.h"

namespace saldo {

bool DecodedBatch::empty() const noexcept {
  return events.empty() && rejections.empty() && std::none_of(moved.begin(), moved.end(), [](char m) { return m; });
}

RecordDecoder::RecordDecoder(Metrics& metrics) : metrics_(metrics) {}

void RecordDecoder::begin(std::int32_t partitions) {
  positions_.assign(static_cast<std::size_t>(partitions), -1);
  held_.assign(static_cast<std::size_t>(partitions), 1);
  clock_.reset(static_cast<std::size_t>(partitions));
  last_.assign(static_cast<std::size_t>(partitions), RecordFingerprint{});
  last_in_batch_.assign(static_cast<std::size_t>(partitions), kNone);
}

void RecordDecoder::begin_from(const std::vector<PartitionCheckpoint>& checkpoints) {
  begin(static_cast<std::int32_t>(checkpoints.size()));
  std::vector<std::int64_t> times;
  for (std::size_t p = 0; p < checkpoints.size(); ++p) {
    positions_[p] = checkpoints[p].next_offset;
    last_[p] = checkpoints[p].last;
    times.push_back(checkpoints[p].order_time);
  }
  clock_.restore(std::move(times));
}

void RecordDecoder::add_partitions(std::int32_t partitions) {
  const auto n = static_cast<std::size_t>(partitions);
  if (n <= positions_.size()) return;
  positions_.resize(n, -1);
  held_.resize(n, 1);
  clock_.grow(n);
  last_.resize(n);
  last_in_batch_.resize(n, kNone);
}

void RecordDecoder::hold(std::int32_t partition, bool held) {
  if (partition < 0 || partition >= partitions()) return;
  const auto p = static_cast<std::size_t>(partition);
  held_[p] = held ? 1 : 0;
  if (held) return;
  positions_[p] = -1;
  clock_.forget(partition);
  last_[p] = RecordFingerprint{};
}

std::vector<PartitionCheckpoint> RecordDecoder::checkpoints() const {
  std::vector<PartitionCheckpoint> out(positions_.size());
  for (std::size_t p = 0; p < positions_.size(); ++p) {
    out[p] = {std::max<std::int64_t>(positions_[p], 0), clock_.at(static_cast<std::int32_t>(p)), last_[p]};
  }
  return out;
}

bool RecordDecoder::advance(std::int32_t partition, std::int64_t next, DecodedBatch& out) {
  auto& pos = positions_[static_cast<std::size_t>(partition)];
  if (next < pos) return false;
  pos = next;
  out.moved[static_cast<std::size_t>(partition)] = 1;
  return true;
}

void RecordDecoder::invalid(const TopicRecord& r, DecodeError why, std::int64_t order_time, DecodedBatch& out) {
  metrics_.invalid(why);
  const bool named = why != DecodeError::kNullKey && why != DecodeError::kInvalidKey;
  // The customer's answer will say a newer record was rejected (never the balance it carried).
  if (named) out.rejections.push_back({std::string(*r.key), why, r.partition, r.offset, order_time});
  if (on_invalid_) on_invalid_(r, why);
  if (invalid_log_.allow()) {
    spdlog::warn("skipped record at partition {} offset {}{}: {}", r.partition, r.offset,
                 named ? " for customer '" + std::string(*r.key) + "'" : std::string(), to_string(why));
  }
}

void RecordDecoder::decode(std::span<const TopicRecord> records, std::span<const PartitionEnd> ends,
                           DecodedBatch& out) {
  out.events.clear();
  out.rejections.clear();
  out.moved.assign(positions_.size(), 0);
  out.tombstones = out.reread = 0;
  // Sized before the loop: the events point into these strings.
  if (out.updates.size() < records.size()) out.updates.resize(records.size());
  std::size_t used = 0, erased = 0;
  const std::int32_t count = partitions();
  std::optional<TimestampFields> fields;  // the codec's parse of a record's timestamp, packed here once
  for (std::size_t i = 0; i < records.size(); ++i) {
    const TopicRecord& r = records[i];
    if (r.partition < 0 || r.partition >= count) continue;  // not assigned by us: cannot happen
    if (!held_[static_cast<std::size_t>(r.partition)]) continue;  // let go (sharded mode): fetched before it was
    // A record below the position was applied already (librdkafka fetched it again, e.g. after an
    // offset reset): applying it again would give it a later ordering time than it had.
    if (!advance(r.partition, r.offset + 1, out)) {
      ++out.reread;
      continue;
    }
    last_in_batch_[static_cast<std::size_t>(r.partition)] = i;
    const std::int64_t order_time = clock_.next(r.partition, r.timestamp_ms);

    BalanceUpdate& u = out.updates[used];
    const RecordDecode d = decode_record(r.key, r.value, r.timestamp_ms, u, fields);
    if (d.kind == RecordKind::kInvalid) {
      invalid(r, d.error, order_time, out);
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
      if (out.erased_ids.size() <= erased) out.erased_ids.resize(erased + 1);
      out.erased_ids[erased].assign(*r.key);
      ++erased;
      // The id's string is in place; its view is taken below, once erased_ids stops growing.
      out.events.push_back({StoreEvent::Kind::kErase, {}, 0, {}, r.partition, r.offset, order_time});
      ++out.tombstones;
      continue;
    }
    metrics_.decode_notes(d.notes);
    ++used;
    StoreEvent& ev = out.events.emplace_back(
        StoreEvent{StoreEvent::Kind::kSet, u.cliente_id, u.saldo, u.timestamp, r.partition, r.offset, order_time});
    // The store would parse the text again to pack it: on the rebuild's store thread, for every record.
    if (fields) {
      if (const std::optional<PackedTimestamp> packed = pack_timestamp(*fields)) {
        ev.ts_bits = packed->bits;
        ev.ts_format = packed->format;
      }
    }
  }
  if (erased > 0) {
    std::size_t k = 0;
    for (StoreEvent& ev : out.events) {
      if (ev.kind == StoreEvent::Kind::kErase) ev.id = out.erased_ids[k++];
    }
  }
  for (std::int32_t p = 0; p < count; ++p) {
    // Only the partition's last record of the batch is fingerprinted: one hash per partition per batch.
    if (auto& i = last_in_batch_[static_cast<std::size_t>(p)]; i != kNone) {
      last_[static_cast<std::size_t>(p)] = fingerprint_of(records[i]);
      i = kNone;
    }
  }
  // Ends after the records they follow: an end first would move the position past records of the
  // same batch, which would then be skipped as read already.
  for (const PartitionEnd& end : ends) {
    if (end.partition >= 0 && end.partition < count && held_[static_cast<std::size_t>(end.partition)]) {
      advance(end.partition, end.next, out);
    }
  }
  out.positions = positions_;
  out.after = checkpoints();
}

}  // namespace saldo
