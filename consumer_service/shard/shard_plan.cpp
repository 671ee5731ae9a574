#include "consumer_service/shard/shard_plan.h"

#include <algorithm>

namespace saldo {
namespace {

bool contains(const std::vector<std::int32_t>& v, std::int32_t p) { return std::find(v.begin(), v.end(), p) != v.end(); }

// Another member owns `p` and holds it ready: this instance may let it go.
bool taken_over(const std::vector<ShardMember>& peers, std::int32_t p) {
  return std::any_of(peers.begin(), peers.end(), [p](const ShardMember& m) {
    return !m.draining && m.is_assigned(p) && m.hold(p) == PartitionHold::kReady;
  });
}

}  // namespace

ShardPlan plan_shards(const ShardInputs& in) {
  ShardPlan plan;
  if (!in.joined && !in.draining) {
    plan.serve = in.serving;
  } else {
    if (!in.draining) plan.serve = in.assigned;
    for (const std::int32_t p : in.serving) {
      if (contains(plan.serve, p)) continue;
      if (taken_over(in.peers, p)) {
        plan.released.push_back(p);
      } else {
        plan.serve.push_back(p);
      }
    }
    // A partition past the topic's count (the group knew of it first) is held once the table does.
    std::sort(plan.serve.begin(), plan.serve.end());
    plan.serve.erase(std::unique(plan.serve.begin(), plan.serve.end()), plan.serve.end());
  }

  ShardMember self;
  self.url = in.self;
  self.assigned = in.draining ? std::vector<std::int32_t>{} : in.assigned;
  self.draining = in.draining;
  self.holds.assign(static_cast<std::size_t>(std::max(in.partitions, 0)), PartitionHold::kNone);
  for (const std::int32_t p : plan.serve) {
    if (p < 0 || p >= in.partitions || static_cast<std::size_t>(p) >= in.local.size()) continue;
    self.holds[static_cast<std::size_t>(p)] = in.local[static_cast<std::size_t>(p)];
  }
  plan.picture.partitions = in.partitions;
  plan.picture.self = in.self;
  plan.picture.members.push_back(std::move(self));
  for (const ShardMember& m : in.peers) {
    if (m.url != in.self) plan.picture.members.push_back(m);
  }
  return plan;
}

}  // namespace saldo
