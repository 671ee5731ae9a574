#include "consumer_service/status/readiness.h"

#include <algorithm>

namespace saldo {

std::string_view to_string(ServiceState s) {
  switch (s) {
    case ServiceState::kStarting: return "STARTING";
    case ServiceState::kRebuilding: return "REBUILDING";
    case ServiceState::kReady: return "READY";
  }
  return "UNKNOWN";
}

double PartitionProgress::progress() const noexcept {
  if (caught_up || target <= start) return 1.0;
  const double done = static_cast<double>(std::clamp(position, start, target) - start);
  return done / static_cast<double>(target - start);
}

std::int64_t ReadinessSnapshot::end_offsets_age_ms(std::chrono::steady_clock::time_point now) const noexcept {
  if (end_offsets_asked_at == std::chrono::steady_clock::time_point{}) return -1;
  return std::max<std::int64_t>(
      0, std::chrono::duration_cast<std::chrono::milliseconds>(now - end_offsets_asked_at).count());
}

std::int64_t ReadinessSnapshot::records_replayed() const noexcept {
  std::int64_t n = 0;
  for (const auto& p : partitions) n += std::clamp(p.position, p.start, p.target) - p.start;
  return n;
}

std::int64_t ReadinessSnapshot::records_to_replay() const noexcept {
  std::int64_t n = 0;
  for (const auto& p : partitions) n += std::max<std::int64_t>(0, p.target - p.start);
  return n;
}

double ReadinessSnapshot::progress() const noexcept {
  if (state == ServiceState::kReady) return 1.0;
  if (partitions.empty()) return 0.0;
  const std::int64_t total = records_to_replay();
  if (total == 0) return 1.0;
  return static_cast<double>(records_replayed()) / static_cast<double>(total);
}

Readiness::Readiness(std::string topic) { data_.topic = std::move(topic); }

void Readiness::set_access_error(std::string_view reason) {
  std::lock_guard lock(mutex_);
  data_.access_error = std::string(reason);
}

void Readiness::set_topic_missing(bool missing) {
  std::lock_guard lock(mutex_);
  data_.topic_missing = missing;
}

void Readiness::set_broker_reachable(bool reachable, std::string_view reason) {
  std::lock_guard lock(mutex_);
  data_.broker_reachable = reachable;
  if (!reachable) data_.broker_error = reason;
}

void Readiness::add_locked(const std::vector<Watermarks>& partitions) {
  for (const auto& w : partitions) {
    PartitionProgress p;
    p.partition = w.partition;
    p.start = w.low;
    p.target = w.high;
    p.position = w.low;
    p.stable_offset = w.high;
    p.high_watermark = w.high;
    p.caught_up = w.high <= w.low;
    caught_up_ += p.caught_up;
    data_.partitions.push_back(p);
  }
  std::sort(data_.partitions.begin(), data_.partitions.end(),
            [](const auto& a, const auto& b) { return a.partition < b.partition; });
}

void Readiness::add_partitions(const std::vector<Watermarks>& partitions) {
  {
    std::lock_guard lock(mutex_);
    add_locked(partitions);
  }
  advanced_.notify_all();
  changes_.publish();
}

void Readiness::remove_partitions(std::span<const std::int32_t> partitions) {
  {
    std::lock_guard lock(mutex_);
    std::erase_if(data_.partitions, [&](const PartitionProgress& p) {
      const bool gone = std::find(partitions.begin(), partitions.end(), p.partition) != partitions.end();
      if (gone && p.caught_up) --caught_up_;
      return gone;
    });
    update_state_locked();
  }
  advanced_.notify_all();
  changes_.publish();
}

void Readiness::restart_rebuild(std::string_view reason) {
  std::lock_guard lock(mutex_);
  data_.rebuild_reason = reason;
  ++data_.full_rebuilds;
  data_.partitions.clear();
  caught_up_ = 0;
  data_.end_offsets_asked_at = {};
  data_.state = ServiceState::kStarting;  // until begin_rebuild() knows the new watermarks
  state_.store(ServiceState::kStarting, std::memory_order_release);
}

void Readiness::set_start(std::string_view kind, double snapshot_age_s, std::string_view note) {
  std::lock_guard lock(mutex_);
  data_.start = kind;
  data_.snapshot_age_s = snapshot_age_s;
  data_.start_note = note;
}

void Readiness::set_snapshot_error(std::string_view why) {
  std::lock_guard lock(mutex_);
  data_.snapshot_error = why;
}

void Readiness::set_topic_config_warning(std::string_view warning) {
  std::lock_guard lock(mutex_);
  data_.topic_config_warning = warning;
}

bool Readiness::begin_rebuild(const std::vector<Watermarks>& partitions) {
  bool now_ready = false;
  {
    std::lock_guard lock(mutex_);
    data_.partitions.clear();
    caught_up_ = 0;
    data_.end_offsets_asked_at = {};
    add_locked(partitions);
    data_.topic_missing = false;
    if (data_.state == ServiceState::kStarting) {
      data_.state = ServiceState::kRebuilding;
      data_.rebuild_began = std::chrono::steady_clock::now();
      state_.store(ServiceState::kRebuilding, std::memory_order_release);
    }
    now_ready = update_state_locked();
  }
  advanced_.notify_all();  // a partition's start may already be past what a waiter asks for
  changes_.publish();
  return now_ready;
}

bool Readiness::advance(std::int32_t partition, std::int64_t position) {
  bool moved = false;
  bool now_ready = false;
  {
    std::lock_guard lock(mutex_);
    for (auto& p : data_.partitions) {
      if (p.partition != partition) continue;
      moved = position > p.position;
      p.position = std::max(p.position, position);
      p.stable_offset = std::max(p.stable_offset, p.position);
      p.high_watermark = std::max(p.high_watermark, p.position);
      if (!p.caught_up && p.position >= p.target) {
        p.caught_up = true;
        ++caught_up_;
        now_ready = update_state_locked();
      }
      break;
    }
  }
  if (moved) {
    advanced_.notify_all();
    changes_.publish();
  }
  return now_ready;
}

bool Readiness::applied_locked(std::span<const TopicPosition> positions) const {
  for (const TopicPosition& want : positions) {
    const auto it = std::find_if(data_.partitions.begin(), data_.partitions.end(),
                                 [&](const PartitionProgress& p) { return p.partition == want.partition; });
    if (it == data_.partitions.end() || it->position <= want.offset) return false;
  }
  return true;
}

bool Readiness::applied(std::span<const TopicPosition> positions) const {
  std::lock_guard lock(mutex_);
  return applied_locked(positions);
}

bool Readiness::wait_applied(std::span<const TopicPosition> positions,
                             std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(mutex_);
  return advanced_.wait_until(lock, deadline, [&] { return applied_locked(positions); });
}

void Readiness::set_end_offsets(std::int32_t partition, std::int64_t stable, std::int64_t high,
                                std::chrono::steady_clock::time_point asked_at) {
  std::lock_guard lock(mutex_);
  if (asked_at < data_.rebuild_began) return;
  for (auto& p : data_.partitions) {
    if (p.partition != partition) continue;
    // Behind the position only when the answer is older than what was read since: nothing to read.
    p.stable_offset = std::max(stable, p.position);
    p.high_watermark = std::max(high, p.stable_offset);
    data_.end_offsets_asked_at = std::max(data_.end_offsets_asked_at, asked_at);
  }
}

void Readiness::hold_ready(bool hold) {
  std::lock_guard lock(mutex_);
  hold_ = hold;
  update_state_locked();
}

bool Readiness::update_state_locked() {
  if (data_.state != ServiceState::kRebuilding || hold_ || caught_up_ < data_.partitions.size()) return false;
  data_.state = ServiceState::kReady;
  data_.ready_at = std::chrono::steady_clock::now();
  state_.store(ServiceState::kReady, std::memory_order_release);
  return true;
}

ReadinessSnapshot Readiness::snapshot() const {
  std::lock_guard lock(mutex_);
  return data_;
}

}  // namespace saldo
