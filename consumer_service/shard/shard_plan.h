#pragma once
// Sharded mode's one decision, pure: from what the group assigned this instance, what the table
// holds and what the other members say they hold, which partitions the table should hold now and
// the picture HTTP threads route by. The handover rule: a partition this instance holds and no
// longer owns (revoked on a rebalance, or everything while it drains) is kept, still tailed and
// answered, until its new owner says it holds it ready; only then is it let go. So a rebalance
// never leaves a partition with no instance able to answer it, unless its holder died. Then, rather
// than wait out the group's session timeout before the group moves it, one surviving member (the
// same one in every member's view: rendezvous hashing over the members that answer) adopts the
// orphaned partition and rebuilds it at once; once the group assigns it and its owner is ready, the
// adopter lets it go by the rule above. A partition revoked before its rebuild here finished serves no
// one yet and is dropped at once (three members started together: the first to join is assigned
// everything for a moment, and should not rebuild it all).
#include <cstdint>
#include <string>
#include <vector>

#include "consumer_service/shard/shard_map.h"

namespace saldo {

struct ShardInputs {
  std::string self;
  std::int32_t partitions = 0;            // the topic's partition count (0: unknown)
  bool joined = false;                    // the group's first assignment came
  bool draining = false;                  // stopping: owns nothing, keeps what no one else holds yet
  std::vector<std::int32_t> assigned;     // what the group assigned this instance
  std::vector<std::int32_t> serving;      // what the table was last told to hold
  std::vector<PartitionHold> local;       // what the table holds, per partition (from its readiness)
  std::vector<ShardMember> peers;         // the other members that answered /shard/status
  // The group as the broker described it (url and assignment), and the members that stopped
  // answering /shard/status (dead or stuck): a partition assigned to one of those, held ready by no
  // one, is an orphan.
  std::vector<ShardMember> group;
  std::vector<std::string> unreachable;
};

struct ShardPlan {
  std::vector<std::int32_t> serve;     // what the table should hold (sorted)
  std::vector<std::int32_t> released;  // held until now, handed over to a ready owner
  std::vector<std::int32_t> adopted;   // orphans of a member that stopped answering, taken now
  std::vector<std::int32_t> abandoned; // revoked while still rebuilding here: dropped, answered elsewhere
  ShardPicture picture;
};

ShardPlan plan_shards(const ShardInputs& in);

// Which of `candidates` adopts orphaned partition `p`: the highest hash of (url, p). Empty: none.
std::string adopter_of(std::int32_t partition, const std::vector<std::string>& candidates);

}  // namespace saldo
