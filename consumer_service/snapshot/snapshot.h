#pragma once
// The table on disk, so a restart reads only what is new (docs/operations.md, "State directory"). One file,
// DIR/snapshot.bin, written whole to DIR/snapshot.tmp, fsync'd, renamed over the old one and the
// directory fsync'd: a crash at any moment leaves the previous snapshot intact.
//
// Format (version 2, little-endian, one sequential read, no per-record JSON):
//   "SALDOSNP" u32 version | str topic | str cluster_id | i64 written_at_ms
//   u32 partitions, then per partition: i64 next_offset, i64 order_time,
//            the last record read there: i64 offset (-1: none), i64 timestamp, u64 content hash
//            (topic/record_fingerprint.h; version 2 added it, version 1 files are rejected as "version")
//   entries: u8 id_len, id, u8 flags (1: deleted)
//            [not deleted: i64 centavos, u8 ts_format, ts_format ? u64 packed : u16 len + text]
//            i32 partition, i64 offset, i64 record_time
//   trailer: u64 entry_count, u64 checksum of every byte before the trailer, "SALDOEND"
// (str = u16 length + bytes; ts_format and the packed bits are compact_timestamp.h's.)
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "consumer_service/store/balance_store.h"
#include "consumer_service/topic/record_fingerprint.h"

namespace saldo {

inline constexpr std::uint32_t kSnapshotVersion = 2;

struct PartitionCheckpoint {
  std::int64_t next_offset = 0;  // the first offset the snapshot does not hold
  std::int64_t order_time = 0;   // the partition's ordering time there (common/record_order.h)
  RecordFingerprint last;        // the last record read before next_offset: checked against the topic at start
  bool operator==(const PartitionCheckpoint&) const = default;
};

struct SnapshotMeta {
  std::string topic;
  std::string cluster_id;
  std::int64_t written_at_ms = 0;  // wall clock, for the age check against delete.retention.ms
  std::vector<PartitionCheckpoint> partitions;
  bool operator==(const SnapshotMeta&) const = default;
};

struct SnapshotStats {
  std::size_t entries = 0;
  std::size_t bytes = 0;
};

// Writes `store` with `meta` into `dir` (created if missing). `meta`'s positions must have been
// taken before the store is visited: entries newer than them are harmless (the replay after a load
// finds them as new or as older records), entries older would not be. Throws std::runtime_error on
// an I/O error. `slow_down` (tests) pauses after each shard to widen the window for a crash.
SnapshotStats write_snapshot(const std::string& dir, const SnapshotMeta& meta, const BalanceStore& store,
                             std::chrono::milliseconds slow_down = std::chrono::milliseconds(0));

struct LoadedSnapshot {
  SnapshotMeta meta;
  SnapshotStats stats;
};
// Why a snapshot cannot be used: a stable label for /metrics and a sentence for the log.
struct SnapshotRejected {
  std::string result;  // "missing", "corrupt", "version", ...
  std::string reason;
};

// Checks the whole file (checksum, version, structure) before it touches `store`, then restores
// every entry into it (the writer thread's, empty). On any failure `store` is left empty.
std::variant<LoadedSnapshot, SnapshotRejected> load_snapshot(const std::string& dir, BalanceStore& store);

// The checks against the topic as it is now (docs/operations.md, "State directory"): nullopt when the snapshot
// may be trusted. `low`/`high` are each partition's watermarks; `delete_retention_ms` the topic's.
std::optional<SnapshotRejected> check_snapshot(const SnapshotMeta& meta, const std::string& topic,
                                               const std::string& cluster_id, const std::vector<std::int64_t>& low,
                                               const std::vector<std::int64_t>& high,
                                               std::int64_t delete_retention_ms, std::int64_t now_ms);

std::string snapshot_path(const std::string& dir);

}  // namespace saldo
