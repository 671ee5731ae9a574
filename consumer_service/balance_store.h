#pragma once
// The in-memory table: latest balance per customer, fed by the Kafka thread, read by HTTP threads.
// Pure C++: no Kafka or HTTP here.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/money.h"

namespace saldo {

struct BalanceSnapshot {
  Centavos saldo = 0;
  std::string timestamp;  // exactly as the producer wrote it
  std::int32_t partition = 0;
  std::int64_t offset = 0;
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
};

enum class ApplyResult : std::uint8_t {
  kInserted,  // a new customer
  kUpdated,   // an existing customer got a newer value
  kErased,    // a customer was deleted
  kAbsent,    // delete of a customer the store does not know
  kStale,     // an older offset of the same partition than the one held: ignored
  kRejected,  // outside the store's limits (see kMaxPartition, kMaxOffset): ignored
};

// Representation, chosen for memory (issue 7: <= 64 bytes per customer at 10M):
// - 256 shards, each its own shared_mutex, so a reader waits at most for one shard's small batch.
// - Per shard, a dense array of 40-byte entries in 1024-entry chunks (growth never copies entries
//   and never doubles the whole table) plus an open-addressing index of 4-byte slots
//   (8-bit hash tag | 24-bit entry number, linear probing, backward-shift delete, load <= 0.75).
//   At 10M customers that is ~40 + ~8 bytes per customer, against ~90 for std::unordered_map.
// - Ids of up to 14 characters live inside the entry; longer ones (up to 64) on the heap.
// - The timestamp is usually "2025-10-14T10:30:45": stored as epoch seconds, fraction and a format
//   byte in 8 bytes. It is encoded only when formatting it back gives the same text (checked on
//   every set); anything else is kept as text on the heap, so the API always returns it verbatim.
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

  // Writer side (one thread). Per key, a lower offset of the same partition never replaces a
  // higher one; a record of another partition (the topic was repartitioned) always applies.
  ApplyResult set(std::string_view id, Centavos saldo, std::string_view timestamp, std::int32_t partition,
                  std::int64_t offset);
  ApplyResult erase(std::string_view id, std::int32_t partition, std::int64_t offset);
  // Applies events in order, taking each shard's lock once per batch. `results` (if not empty)
  // receives one result per event.
  void apply(std::span<const StoreEvent> events, std::span<ApplyResult> results = {});

  // Reader side (any thread).
  std::optional<BalanceSnapshot> get(std::string_view id) const;
  std::size_t size() const noexcept;
  std::size_t memory_bytes() const noexcept;  // entries, index and heap ids/timestamps

  struct Shard;

 private:
  static constexpr std::size_t kShardCount = 256;
  std::array<std::unique_ptr<Shard>, kShardCount> shards_;
};

}  // namespace saldo
