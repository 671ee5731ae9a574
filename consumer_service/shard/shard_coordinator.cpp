#include "consumer_service/shard/shard_coordinator.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "common/text.h"
#include "consumer_service/shard/shard_plan.h"

namespace saldo {
namespace {

constexpr auto kTickInterval = std::chrono::milliseconds(200);
// After the last partition is handed over, a draining instance still answers this long, so every
// member's picture has moved to the new owners (a tick and a status answer) before it stops.
constexpr auto kDrainLinger = std::chrono::milliseconds(1000);

}  // namespace

ShardCoordinator::ShardCoordinator(GroupMembership& membership, ShardMap& map, const Readiness& readiness,
                                   ShardCoordinatorHooks hooks)
    : membership_(membership), map_(map), readiness_(readiness), hooks_(std::move(hooks)) {}

ShardCoordinator::~ShardCoordinator() {
  try {
    stop();
  } catch (...) {
  }
}

void ShardCoordinator::start() {
  thread_ = std::thread([this] { run(); });
}

void ShardCoordinator::run() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    lock.unlock();
    try {
      tick();
    } catch (const std::exception& e) {
      spdlog::warn("shard coordinator: {}", e.what());
    }
    lock.lock();
    ticked_.notify_all();
    ticked_.wait_for(lock, kTickInterval, [this] { return stop_; });
  }
}

std::vector<PartitionHold> ShardCoordinator::local_holds(std::int32_t partitions) const {
  std::vector<PartitionHold> out(static_cast<std::size_t>(std::max(partitions, 0)), PartitionHold::kNone);
  const ReadinessSnapshot r = readiness_.snapshot();
  if (r.state == ServiceState::kStarting) return out;  // a rebuild from offset 0 is about to begin
  for (const PartitionProgress& p : r.partitions) {
    if (p.partition < 0 || p.partition >= partitions) continue;
    out[static_cast<std::size_t>(p.partition)] = p.caught_up ? PartitionHold::kReady : PartitionHold::kRebuilding;
  }
  return out;
}

// The members the group names, and those that answered before and still do (one that left the group
// to drain keeps answering what it holds until it is taken over).
std::vector<ShardMember> ShardCoordinator::peers() {
  std::vector<std::string> urls = known_;
  for (const auto& m : membership_.members()) urls.push_back(m.url);
  std::sort(urls.begin(), urls.end());
  urls.erase(std::unique(urls.begin(), urls.end()), urls.end());
  std::vector<ShardMember> out;
  std::vector<std::string> answered;
  for (const std::string& url : urls) {
    if (url == map_.self() || !hooks_.fetch_status) continue;
    if (auto m = hooks_.fetch_status(url)) {
      m->url = url;
      out.push_back(std::move(*m));
      answered.push_back(url);
    }
  }
  for (const auto& url : known_) {
    if (std::find(answered.begin(), answered.end(), url) == answered.end()) {
      spdlog::info("shard member {} no longer answers: not routed to", url);
    }
  }
  // Twice in a row before its partitions count as orphans (a member slow once is not adopted from).
  std::vector<std::pair<std::string, int>> failures;
  unreachable_.clear();
  for (const std::string& url : urls) {
    if (url == map_.self() || std::find(answered.begin(), answered.end(), url) != answered.end()) continue;
    int n = 1;
    for (const auto& [u, before] : failures_) {
      if (u == url) n = before + 1;
    }
    failures.emplace_back(url, n);
    if (n >= 2) unreachable_.push_back(url);
  }
  failures_ = std::move(failures);
  for (const auto& url : answered) {
    if (std::find(known_.begin(), known_.end(), url) == known_.end()) spdlog::info("shard member {} answers", url);
  }
  known_ = std::move(answered);
  return out;
}

void ShardCoordinator::tick() {
  ShardInputs in;
  in.self = map_.self();
  in.partitions = membership_.partitions();
  {
    std::lock_guard lock(mutex_);
    in.draining = draining_;
    in.serving = serving_;
  }
  in.joined = membership_.joined();
  if (!in.draining) in.assigned = membership_.assigned();
  in.local = local_holds(in.partitions);
  in.peers = peers();
  for (const auto& m : membership_.members()) {
    ShardMember g;
    g.url = m.url;
    g.assigned = m.assigned;
    in.group.push_back(std::move(g));
  }
  in.unreachable = unreachable_;
  ShardPlan plan = plan_shards(in);
  if (!plan.adopted.empty()) {
    spdlog::warn("shard: adopting {}: their owner stopped answering and no one holds them; rebuilding them here "
                 "until the group's new owner is ready",
                 partition_list_text(plan.adopted));
    if (hooks_.on_adoptions) hooks_.on_adoptions(plan.adopted.size());
  }
  if (!plan.released.empty()) {
    spdlog::info("shard: handed over {} to their ready owners", partition_list_text(plan.released));
    if (hooks_.on_handovers) hooks_.on_handovers(plan.released.size());
  }
  if (!plan.abandoned.empty()) {
    spdlog::info("shard: dropping {}: revoked before their rebuild here finished", partition_list_text(plan.abandoned));
  }
  // The picture first: once it no longer routes a released partition here, the table may drop it.
  map_.update(std::move(plan.picture));
  const bool changed = plan.serve != in.serving || (!told_table_ && (in.joined || in.draining));
  if (changed && (in.joined || in.draining)) {
    spdlog::info("shard: holding {} (owning {})", partition_list_text(plan.serve), partition_list_text(in.assigned));
    if (hooks_.serve) hooks_.serve(plan.serve);
    told_table_ = true;
  }
  if (hooks_.on_counts) hooks_.on_counts(in.assigned.size(), plan.serve.size());
  std::lock_guard lock(mutex_);
  serving_ = std::move(plan.serve);
}

bool ShardCoordinator::drain(std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(mutex_);
    if (draining_ || stop_) return true;
    draining_ = true;
  }
  spdlog::info("shard: leaving the group; answering what this instance holds until its new owners are ready");
  membership_.leave();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mutex_);
  const bool done = ticked_.wait_until(lock, deadline, [this] { return stop_ || serving_.empty(); });
  if (!done) {
    spdlog::warn("shard: {} still held after {:g} s, no ready owner took them over; letting go", partition_list_text(serving_),
                 std::chrono::duration<double>(timeout).count());
  } else {
    spdlog::info("shard: every partition handed over");
    ticked_.wait_for(lock, kDrainLinger, [this] { return stop_; });
  }
  return done;
}

void ShardCoordinator::stop() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  ticked_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace saldo
