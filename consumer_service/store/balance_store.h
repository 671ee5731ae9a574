#pragma once
// The in-memory table: latest balance per customer, fed by the Kafka thread, read by HTTP threads.
// Pure C++: no Kafka or HTTP here.
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "common/money.h"
#include "common/position_token.h"
#include "common/record_order.h"

namespace saldo {

// A record newer than what the store holds for its key that could not be applied (a poison record).
struct RejectedRecord {
  std::string_view reason;  // a static name (to_string(DecodeError))
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  bool operator==(const RejectedRecord&) const = default;
};

struct BalanceSnapshot {
  Centavos saldo = 0;
  std::string timestamp;  // exactly as the producer wrote it
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::optional<RejectedRecord> newer_rejected;  // the customer's newest record was rejected
  bool operator==(const BalanceSnapshot&) const = default;
};

// One record of the compacted topic, as the store applies it.
struct StoreEvent {
  enum class Kind : std::uint8_t { kSet, kErase };
  Kind kind = Kind::kSet;
  std::string_view id;         // a valid customer id (the caller checked it)
  Centavos saldo = 0;          // kSet only
  std::string_view timestamp;  // kSet only
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t record_time = 0;  // the record's ordering time in ms (ARCHITECTURE.md, "Consistency")
  // kSet only: pack_timestamp(timestamp) (compact_timestamp.h) when the caller packed it already
  // (the table's decoder has the codec's parsed fields); format 0: the store packs the text itself.
  std::uint64_t ts_bits = 0;
  std::uint8_t ts_format = 0;
};

// One entry as the store holds it, for the snapshot (snapshot.h): a customer or a remembered delete.
struct StoredEntry {
  std::string_view id;
  bool deleted = false;
  Centavos saldo = 0;
  std::uint8_t ts_format = 0;  // compact_timestamp.h's format byte; 0: the timestamp is `ts_text`
  std::uint64_t ts_bits = 0;
  std::string_view ts_text;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t record_time = 0;
};

enum class ApplyResult : std::uint8_t {
  kInserted,  // a new customer
  kUpdated,   // an existing customer got a newer value
  kErased,    // a customer was deleted
  kAbsent,    // delete of a customer the store does not know
  kStale,     // older than the record held for the key (the order below): ignored
  kRejected,  // outside the store's limits (see kMaxPartition, kMaxOffset): ignored
};

// Which record wins for a key: the greatest (record_time, partition, offset). The reader makes
// record_time non-decreasing within a partition, so within a partition this is offset order, and
// the result does not depend on the order partitions are read in. A delete is remembered (a
// tombstone entry, ~48 bytes per deleted id) so that an older value read later cannot bring the
// customer back.
//
// Representation, chosen for memory (<= 64 bytes per customer at 10M, bench/RESULTS.md, "Current figures"):
// - 256 shards, each its own shared_mutex, so a reader waits at most for one shard's small batch.
// - Per shard, a dense array of 48-byte entries in 1024-entry chunks (growth never copies entries
//   and never doubles the whole table) plus an open-addressing index of 4-byte slots
//   (8-bit hash tag | 24-bit entry number, linear probing, backward-shift delete, load <= 0.75).
//   At 10M customers that is ~48 + ~8 bytes per customer, against ~90 for std::unordered_map.
// - Ids of up to 13 characters live inside the entry; longer ones (up to 64) on the heap.
// - The timestamp is usually "2025-10-14T10:30:45": stored as epoch seconds, fraction and a format
//   byte in 8 bytes when pack_timestamp guarantees the same text comes back; anything else is kept
//   as text on the heap, so the API always returns it verbatim.
// - partition (16 bits) and offset (48 bits) share one word: 65,535 partitions and 2.8e14 records
//   per partition (nine years at a million records per second).
class BalanceStore {
 public:
  static constexpr std::int32_t kMaxPartition = 0xFFFF;
  static constexpr std::int64_t kMaxOffset = (std::int64_t{1} << 48) - 1;

  BalanceStore();
  ~BalanceStore();
  BalanceStore(const BalanceStore&) = delete;
  BalanceStore& operator=(const BalanceStore&) = delete;

  // Writer side: one thread only (the first thread that writes; another one gets std::logic_error),
  // because apply() prefetches across shards without their locks.
  ApplyResult set(std::string_view id, Centavos saldo, std::string_view timestamp, std::int32_t partition,
                  std::int64_t offset, std::int64_t record_time = 0);
  ApplyResult erase(std::string_view id, std::int32_t partition, std::int64_t offset, std::int64_t record_time = 0);
  // Applies events in order, taking each shard's lock once per batch. `results` (if not empty)
  // receives one result per event.
  void apply(std::span<const StoreEvent> events, std::span<ApplyResult> results = {});
  // A record for `id` that could not be applied: remembered while it is newer than what is held, so
  // get() can say the answer is not the customer's newest record. `reason` must be a static string.
  void note_rejected(std::string_view id, std::string_view reason, std::int32_t partition, std::int64_t offset,
                     std::int64_t record_time);
  // Empties the table (a full rebuild begins).
  void clear();
  // Makes room for about `entries` ids at once (a snapshot's count), so restoring them never regrows
  // the index on the way.
  void reserve(std::size_t entries);
  // A cold rebuild of `records` records (counted up to kExpectCap): room for that many ids at once,
  // since no more can come, so the index never regrows on the way (each regrowth rehashed every id
  // and faulted in a fresh index: a fifth of the rebuild's store time, bench/micro_store.cpp).
  // fit() gives back what the ids did not use.
  void expect_at_most(std::size_t records);
  static constexpr std::size_t kExpectCap = 256 * 49152;  // at most 64 MB of index up front
  // Shrinks each shard's index that is more than four times what its ids need (after a rebuild for
  // which expect_at_most() was told many records for few customers). Returns the bytes given back.
  std::size_t fit();
  // Puts entries read from a snapshot into the store (writer thread, before reading the topic), a
  // shard's lock once per group as apply() does. Returns the index of the first entry it refused
  // (outside the store's limits, or an id already held), or nullopt when it took them all.
  std::optional<std::size_t> restore(std::span<const StoredEntry> entries);
  // Calls `fn` for every entry, one shard at a time under that shard's shared lock (a writer waits
  // at most for one shard). Any thread.
  template <class Fn>
  void visit(Fn&& fn) const {
    for (std::size_t s = 0; s < kShardCount; ++s) visit_shard(s, [&](const StoredEntry& e) { fn(e); });
  }
  // Forgets deletes ordered before `record_time`: the reader passes a time no record still to come
  // can be older than. Returns how many it forgot.
  std::size_t purge_tombstones(std::int64_t record_time);

  // Forgets every entry (customer or remembered delete) whose record is in `partition`, and the
  // rejections noted there: sharded mode handed the partition to another instance. Returns how many.
  std::size_t drop_partition(std::int32_t partition);

  // Reader side (any thread).
  std::optional<BalanceSnapshot> get(std::string_view id) const;
  // The position of the delete the store remembers for `id` (nullopt: the customer exists, or no
  // delete is remembered).
  std::optional<TopicPosition> deleted_at(std::string_view id) const;
  // The rejected newest record of a customer the table does not hold (for a 404 that says so).
  std::optional<RejectedRecord> rejected(std::string_view id) const;
  // The ordering of the record the store holds for `id` (a value or a remembered delete): for
  // GET ?after='s warning that the answer is a record ordered after the client's. No extra memory.
  std::optional<RecordOrder> held_order(std::string_view id) const;
  std::size_t size() const noexcept;        // customers
  std::size_t tombstones() const noexcept;  // deleted ids remembered
  std::size_t memory_bytes() const noexcept;  // entries, index and heap ids/timestamps

  struct Shard;
  struct Rejections;

 private:
  void check_writer();
  template <class HashOf, class Visit>
  void for_each_by_shard(std::size_t count, HashOf&& hash_of, Visit&& visit);
  void visit_shard(std::size_t shard, const std::function<void(const StoredEntry&)>& fn) const;

  static constexpr std::size_t kShardCount = 256;
  std::array<std::unique_ptr<Shard>, kShardCount> shards_;
  std::unique_ptr<Rejections> rejections_;
  std::atomic<std::thread::id> writer_{};
};

}  // namespace saldo
