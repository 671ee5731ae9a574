#include "consumer_service/shard/shard_map.h"

#include <algorithm>

#include "common/partitioner.h"

namespace saldo {

std::string_view to_string(PartitionHold hold) noexcept {
  switch (hold) {
    case PartitionHold::kNone: return "none";
    case PartitionHold::kRebuilding: return "rebuilding";
    case PartitionHold::kReady: return "ready";
  }
  return "none";
}

bool ShardMember::is_assigned(std::int32_t partition) const noexcept {
  return std::find(assigned.begin(), assigned.end(), partition) != assigned.end();
}

const ShardMember* ShardPicture::member(std::string_view url) const noexcept {
  for (const auto& m : members) {
    if (m.url == url) return &m;
  }
  return nullptr;
}

const ShardMember* ShardPicture::owner(std::int32_t partition) const noexcept {
  for (const auto& m : members) {
    if (!m.draining && m.is_assigned(partition)) return &m;
  }
  return nullptr;
}

ShardRoute route_partition(const ShardPicture& picture, std::int32_t partition) {
  ShardRoute route;
  route.partition = partition;
  if (partition < 0 || partition >= picture.partitions) return route;
  if (const ShardMember* self = picture.member(picture.self); self && self->hold(partition) == PartitionHold::kReady) {
    route.kind = ShardRoute::Kind::kLocal;
    return route;
  }
  const auto forward = [&](const ShardMember& m) {
    route.kind = ShardRoute::Kind::kForward;
    route.url = m.url;
    return route;
  };
  if (const ShardMember* owner = picture.owner(partition); owner && owner->hold(partition) == PartitionHold::kReady) {
    return forward(*owner);
  }
  for (const auto& m : picture.members) {
    if (m.url != picture.self && m.hold(partition) == PartitionHold::kReady) return forward(m);
  }
  return route;
}

std::string shard_unready_reason(const ShardPicture& picture) {
  const ShardMember* self = picture.member(picture.self);
  if (self == nullptr || picture.partitions <= 0) return "not in the shard group yet";
  if (self->draining) return "draining: handing its partitions over before it stops";
  std::string waiting, nowhere;
  for (std::int32_t p = 0; p < picture.partitions; ++p) {
    if (self->is_assigned(p) && self->hold(p) != PartitionHold::kReady) {
      waiting += (waiting.empty() ? "" : ",") + std::to_string(p);
    } else if (route_partition(picture, p).kind == ShardRoute::Kind::kUnavailable) {
      nowhere += (nowhere.empty() ? "" : ",") + std::to_string(p);
    }
  }
  if (!waiting.empty()) return "rebuilding its partitions [" + waiting + "]";
  if (!nowhere.empty()) return "no instance holds partitions [" + nowhere + "] ready";
  return "";
}

ShardMap::ShardMap(std::string self_url) : self_(std::move(self_url)) {
  auto empty = std::make_shared<ShardPicture>();
  empty->self = self_;
  picture_ = std::move(empty);
}

void ShardMap::update(ShardPicture picture) {
  picture.self = self_;
  auto next = std::make_shared<const ShardPicture>(std::move(picture));
  {
    std::lock_guard lock(mutex_);
    picture_ = std::move(next);
    ++generation_;
  }
  updated_.notify_all();
}

std::uint64_t ShardMap::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

bool ShardMap::wait_update(std::uint64_t seen, std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(mutex_);
  return updated_.wait_until(lock, deadline, [&] { return generation_ != seen; });
}

std::shared_ptr<const ShardPicture> ShardMap::picture() const {
  std::lock_guard lock(mutex_);
  return picture_;
}

std::int32_t ShardMap::partition_of(std::string_view id) const {
  const auto p = picture();
  return p->partitions > 0 ? murmur2_partition(id, p->partitions) : -1;
}

ShardRoute ShardMap::route(std::string_view id) const {
  const auto p = picture();
  if (p->partitions <= 0) return {};
  return saldo::route_partition(*p, murmur2_partition(id, p->partitions));
}

ShardRoute ShardMap::route_partition(std::int32_t partition) const { return saldo::route_partition(*picture(), partition); }

}  // namespace saldo
