#pragma once
// Sharded mode's loop, on its own thread, five times a second: asks the group what this instance
// owns (group_membership.h), the other members what they hold (GET /shard/status, through the
// function main gives it), the table what it holds (its readiness); decides with plan_shards()
// which partitions the table holds and publishes the picture HTTP threads route by (shard_map.h).
// drain() is the graceful stop: leave the group, keep answering until every partition held has a
// ready owner elsewhere.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "consumer_service/shard/group_membership.h"
#include "consumer_service/shard/shard_map.h"
#include "consumer_service/status/readiness.h"

namespace saldo {

struct ShardCoordinatorHooks {
  // GET <url>/shard/status, nullopt when it does not answer in time. Called on the coordinator's thread.
  std::function<std::optional<ShardMember>(const std::string& url)> fetch_status;
  // The table should hold these partitions from now on (TableReader::serve).
  std::function<void(std::vector<std::int32_t>)> serve;
  // For the metrics: partitions owned now, and partitions handed over to a ready owner.
  std::function<void(std::size_t owned, std::size_t held)> on_counts;
  std::function<void(std::size_t)> on_handovers;
  // Orphaned partitions adopted (their owner stopped answering).
  std::function<void(std::size_t)> on_adoptions;
};

class ShardCoordinator {
 public:
  ShardCoordinator(GroupMembership& membership, ShardMap& map, const Readiness& readiness, ShardCoordinatorHooks hooks);
  ~ShardCoordinator();
  ShardCoordinator(const ShardCoordinator&) = delete;
  ShardCoordinator& operator=(const ShardCoordinator&) = delete;

  void start();
  // Leaves the group and waits, up to `timeout`, until every partition held has been taken over by
  // a ready owner. True when it was (false: the rest is let go with the process).
  bool drain(std::chrono::milliseconds timeout);
  void stop();

 private:
  void run();
  void tick();
  std::vector<ShardMember> peers();
  std::vector<PartitionHold> local_holds(std::int32_t partitions) const;

  GroupMembership& membership_;
  ShardMap& map_;
  const Readiness& readiness_;
  ShardCoordinatorHooks hooks_;
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable ticked_;
  bool stop_ = false;
  bool draining_ = false;
  std::vector<std::int32_t> serving_;  // coordinator's thread (and drain() under mutex_)
  bool told_table_ = false;
  std::vector<std::string> known_;     // members that answered last time (kept while they answer)
  std::vector<std::pair<std::string, int>> failures_;  // members of the group that did not answer, how many times in a row
  std::vector<std::string> unreachable_;  // those that failed twice in a row or more
};

}  // namespace saldo
