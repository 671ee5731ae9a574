#pragma once
// Which record of a key is the latest (ARCHITECTURE.md, "Consistency"): the greatest (ordering time,
// partition, offset). A partition's ordering time is the greatest record timestamp read so far in
// it, so it never goes back within a partition (where offset order therefore still rules), and the
// result does not depend on the order partitions are read in. The store, the table reader and
// saldo_admin fix-routing all use this one definition.
#include <compare>
#include <cstdint>
#include <limits>
#include <vector>

namespace saldo {

struct RecordOrder {
  std::int64_t time = 0;  // ms, the partition's ordering time at the record
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  auto operator<=>(const RecordOrder&) const = default;
};

// Ordering times per partition, for records read in offset order within each partition.
class OrderClock {
 public:
  static constexpr std::int64_t kUnread = std::numeric_limits<std::int64_t>::min();

  void reset(std::size_t partitions) { max_.assign(partitions, kUnread); }
  void grow(std::size_t partitions) {
    if (partitions > max_.size()) max_.resize(partitions, kUnread);
  }
  // A partition no longer read (sharded mode let it go): unread again.
  void forget(std::int32_t partition) {
    if (partition >= 0 && static_cast<std::size_t>(partition) < max_.size()) max_[static_cast<std::size_t>(partition)] = kUnread;
  }
  // Continues from saved ordering times (a snapshot's), one per partition.
  void restore(std::vector<std::int64_t> times) { max_ = std::move(times); }
  std::int64_t at(std::int32_t partition) const { return max_[static_cast<std::size_t>(partition)]; }
  // The ordering time of the next record of `partition`, whose own timestamp is `timestamp_ms`.
  std::int64_t next(std::int32_t partition, std::int64_t timestamp_ms) {
    auto& t = max_[static_cast<std::size_t>(partition)];
    if (timestamp_ms > t) t = timestamp_ms;
    return t;
  }
  // The least ordering time over all partitions: no record still to come is ordered before it
  // (kUnread while some partition has not been read).
  std::int64_t settled() const {
    std::int64_t t = max_.empty() ? kUnread : std::numeric_limits<std::int64_t>::max();
    for (const std::int64_t m : max_) t = m < t ? m : t;
    return t;
  }

 private:
  std::vector<std::int64_t> max_;
};

}  // namespace saldo
