#pragma once
// saldo_admin fix-routing's decision, with no Kafka in it: from every record of the topic, which
// customers live (also) off their murmur2 partition and what to write so that, once compaction has
// run, each customer's records sit on its murmur2 partition alone and the table is unchanged.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace saldo {

struct ScannedRecord {
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  std::int64_t timestamp_ms = 0;
  std::string key;
  std::optional<std::string> value;  // nullopt: a tombstone
};

struct RoutingRepair {
  std::string key;
  std::int32_t home = 0;                  // murmur2(key) % partitions
  std::vector<std::int32_t> tombstone_on;  // other partitions whose last record of the key is a value
  // The customer's latest record under the table's rule, re-written on `home` after the tombstones so
  // that it is the newest: its value, or nullopt for a delete.
  std::optional<std::string> latest;
  // The least timestamp (ms) the re-written latest needs to order after the current winner and after
  // every record already on the partitions in `tombstone_on` (their ordering times): one more than the
  // greatest of those. Greater than now when the winner or a stray partition is stamped in the future
  // (CreateTime lets a producer stamp up to message.timestamp.after.max.ms ahead).
  std::int64_t stamp_at_least = 0;
};

struct RoutingPlan {
  std::size_t records = 0;
  std::size_t customers = 0;          // keys with a valid latest record or delete
  std::size_t misrouted_records = 0;  // valid records off their murmur2 partition
  std::size_t spread_customers = 0;   // keys with valid records (values or deletes) on several partitions
  std::vector<RoutingRepair> repairs;  // sorted by key
};

// `records` in any order across partitions (offset order within each). Invalid records (what the
// service skips) never win and are never re-written. A customer needs repair when its latest record
// is off its home partition or some other partition still ends with a value for it: after the
// repair neither holds, so a second run plans nothing.
RoutingPlan plan_routing(const std::vector<ScannedRecord>& records, std::int32_t partitions);

}  // namespace saldo
