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

bool contains(const std::vector<std::string>& v, const std::string& s) { return std::find(v.begin(), v.end(), s) != v.end(); }

std::uint64_t mix(std::uint64_t h) {  // splitmix64's finaliser
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  return h ^ (h >> 31);
}

std::uint64_t score(const std::string& url, std::int32_t partition) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a over the URL, then the partition mixed in
  for (const unsigned char ch : url) h = (h ^ ch) * 1099511628211ULL;
  return mix(h ^ mix(static_cast<std::uint64_t>(partition) + 1));
}

// Partitions assigned to a member that stopped answering and held ready by no member that answers.
std::vector<std::int32_t> orphans(const ShardInputs& in) {
  std::vector<std::int32_t> out;
  for (std::int32_t p = 0; p < in.partitions; ++p) {
    const bool held_ready =
        (static_cast<std::size_t>(p) < in.local.size() && in.local[static_cast<std::size_t>(p)] == PartitionHold::kReady &&
         contains(in.serving, p)) ||
        std::any_of(in.peers.begin(), in.peers.end(), [p](const ShardMember& m) { return m.hold(p) == PartitionHold::kReady; });
    if (held_ready) continue;
    const bool owner_gone = std::any_of(in.group.begin(), in.group.end(), [&](const ShardMember& m) {
      return m.is_assigned(p) && m.url != in.self && contains(in.unreachable, m.url);
    });
    if (owner_gone) out.push_back(p);
  }
  return out;
}

}  // namespace

std::string adopter_of(std::int32_t partition, const std::vector<std::string>& candidates) {
  std::string best;
  std::uint64_t best_score = 0;
  for (const auto& url : candidates) {
    const std::uint64_t s = score(url, partition);
    if (best.empty() || s > best_score || (s == best_score && url < best)) {
      best = url;
      best_score = s;
    }
  }
  return best;
}

ShardPlan plan_shards(const ShardInputs& in) {
  ShardPlan plan;
  if (!in.joined && !in.draining) {
    plan.serve = in.serving;
  } else {
    if (!in.draining) plan.serve = in.assigned;
    // Orphans this instance adopts (or keeps adopted while it rebuilds them).
    std::vector<std::int32_t> mine;
    if (!in.draining) {
      std::vector<std::string> candidates = {in.self};
      for (const ShardMember& m : in.peers) {
        if (!m.draining) candidates.push_back(m.url);
      }
      for (const std::int32_t p : orphans(in)) {
        if (!contains(plan.serve, p) && adopter_of(p, candidates) == in.self) mine.push_back(p);
      }
    }
    for (const std::int32_t p : in.serving) {
      if (contains(plan.serve, p)) continue;
      const bool ready_here = static_cast<std::size_t>(p) < in.local.size() &&
                              in.local[static_cast<std::size_t>(p)] == PartitionHold::kReady;
      if (taken_over(in.peers, p)) {
        plan.released.push_back(p);
      } else if (!ready_here && !contains(mine, p)) {
        // Revoked before its rebuild finished (members joining one after another at a start): it
        // answers no one yet, so it goes at once rather than compete with this instance's own.
        plan.abandoned.push_back(p);
      } else {
        plan.serve.push_back(p);
      }
    }
    for (const std::int32_t p : mine) {
      if (contains(plan.serve, p)) continue;
      plan.serve.push_back(p);
      if (!contains(in.serving, p)) plan.adopted.push_back(p);
    }
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
