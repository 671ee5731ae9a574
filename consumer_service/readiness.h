#pragma once
// How ready the table is: STARTING (topic not read yet) -> REBUILDING (replaying up to each
// partition's start high watermark) -> READY (every partition caught up; tailing). The view is only
// as ready as its slowest partition. Pure: the reader reports, the HTTP side reads snapshots.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace saldo {

enum class ServiceState : std::uint8_t { kStarting, kRebuilding, kReady };
std::string_view to_string(ServiceState s);

struct PartitionProgress {
  std::int32_t partition = 0;
  std::int64_t start = 0;           // low watermark when the rebuild began
  std::int64_t target = 0;          // high watermark when the rebuild began
  std::int64_t position = 0;        // next offset the reader will see
  std::int64_t high_watermark = 0;  // latest known, for lag
  bool caught_up = false;

  double progress() const noexcept;  // 0..1 of the rebuild
  std::int64_t lag() const noexcept { return high_watermark > position ? high_watermark - position : 0; }
};

struct ReadinessSnapshot {
  ServiceState state = ServiceState::kStarting;
  std::string topic;
  bool broker_reachable = true;
  bool topic_missing = false;
  std::string broker_error;  // the last reason the broker was unreachable
  // Why the broker refuses us, when it does: authentication (wrong password), TLS (untrusted CA),
  // authorization (no Read on the topic). Empty once the topic is read.
  std::string access_error;
  std::vector<PartitionProgress> partitions;
  std::chrono::steady_clock::time_point rebuild_began{};  // when the start watermarks were known
  std::chrono::steady_clock::time_point ready_at{};       // when the last partition caught up

  double progress() const noexcept;  // of all partitions together, weighted by records
  std::int64_t records_replayed() const noexcept;
  std::int64_t records_to_replay() const noexcept;
};

class Readiness {
 public:
  explicit Readiness(std::string topic = {});

  ServiceState state() const noexcept { return state_.load(std::memory_order_acquire); }
  bool ready() const noexcept { return state() == ServiceState::kReady; }

  void set_topic_missing(bool missing);
  void set_broker_reachable(bool reachable, std::string_view reason = {});
  void set_access_error(std::string_view reason);

  struct Watermarks {
    std::int32_t partition;
    std::int64_t low;
    std::int64_t high;
  };
  // The rebuild begins. An empty partition is caught up at once. Returns true if now READY.
  bool begin_rebuild(const std::vector<Watermarks>& partitions);
  // The reader's next offset in `partition` is `position`. Returns true if this made it READY.
  bool advance(std::int32_t partition, std::int64_t position);
  void set_high_watermark(std::int32_t partition, std::int64_t high);

  // Test hook: while held, READY waits even when every partition is caught up, so a test can see
  // the service's answers just before READY without racing the rebuild.
  void hold_ready(bool hold);

  ReadinessSnapshot snapshot() const;

 private:
  bool update_state_locked();

  mutable std::mutex mutex_;
  std::atomic<ServiceState> state_{ServiceState::kStarting};
  ReadinessSnapshot data_;
  std::size_t caught_up_ = 0;
  bool hold_ = false;
};

}  // namespace saldo
