#pragma once
// Sharded mode (--shard-group): which instance holds which partition, and where a customer is
// answered. The shard coordinator (shard_coordinator.h) replaces the whole picture a few times a
// second from the consumer group and the members' /shard/status; HTTP threads ask for routes. Pure.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace saldo {

// What an instance has of one partition: nothing, a rebuild under way, or every record up to where
// the partition ended when it began (then it tails it, and answers its customers).
enum class PartitionHold : std::uint8_t { kNone, kRebuilding, kReady };
std::string_view to_string(PartitionHold hold) noexcept;

// One instance as the others see it.
struct ShardMember {
  std::string url;                      // as advertised (--advertise): where the others reach it
  std::vector<std::int32_t> assigned;   // what the group assigned it
  std::vector<PartitionHold> holds;     // per partition; a partition it hands over is held, not assigned
  bool draining = false;                // stopping: left the group, serving until the new owners are ready
  PartitionHold hold(std::int32_t partition) const noexcept {
    return partition >= 0 && static_cast<std::size_t>(partition) < holds.size()
               ? holds[static_cast<std::size_t>(partition)]
               : PartitionHold::kNone;
  }
  bool is_assigned(std::int32_t partition) const noexcept;
  bool operator==(const ShardMember&) const = default;
};

struct ShardPicture {
  std::int32_t partitions = 0;       // the topic's partition count; 0: unknown (every route unavailable)
  std::string self;                  // this instance's URL (also among members)
  std::vector<ShardMember> members;  // every instance known, self included
  const ShardMember* member(std::string_view url) const noexcept;
  // The member the group assigned `partition` to, or nullptr (none known: mid-rebalance).
  const ShardMember* owner(std::int32_t partition) const noexcept;
};

struct ShardRoute {
  enum class Kind : std::uint8_t { kLocal, kForward, kUnavailable };
  Kind kind = Kind::kUnavailable;
  std::int32_t partition = -1;
  std::string url;  // kForward: whom to ask
  bool operator==(const ShardRoute&) const = default;
};

// Where partition `p` is answered: here when this instance holds it ready (assigned or handing it
// over: it still tails it); else at its assigned owner when that holds it ready; else at any member
// holding it ready (one handing it over); else nowhere yet (503 with Retry-After, never a guess).
ShardRoute route_partition(const ShardPicture& picture, std::int32_t partition);

// Why this instance should not get new requests from a load balancer now, or "" when it can answer
// any customer: it is not draining, the partition count is known, its own partitions are held ready
// and every partition is held ready somewhere it can forward to. /ready answers 503 with it.
std::string shard_unready_reason(const ShardPicture& picture);

// The picture in force, shared by the coordinator (writer) and the HTTP threads (readers).
class ShardMap {
 public:
  explicit ShardMap(std::string self_url);
  const std::string& self() const noexcept { return self_; }
  void update(ShardPicture picture);
  std::shared_ptr<const ShardPicture> picture() const;
  // Bumped by every update (the coordinator updates a few times a second, changed or not).
  std::uint64_t generation() const;
  // Waits until an update after `seen` or `deadline`; true when one came.
  bool wait_update(std::uint64_t seen, std::chrono::steady_clock::time_point deadline) const;
  // The key's partition by the producers' murmur2 (-1 while the partition count is unknown).
  std::int32_t partition_of(std::string_view id) const;
  ShardRoute route(std::string_view id) const;
  ShardRoute route_partition(std::int32_t partition) const;

 private:
  const std::string self_;
  mutable std::mutex mutex_;
  mutable std::condition_variable updated_;
  std::shared_ptr<const ShardPicture> picture_;
  std::uint64_t generation_ = 0;
};

}  // namespace saldo
