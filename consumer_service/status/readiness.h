#pragma once
// How ready the table is: STARTING (topic not read yet) -> REBUILDING (replaying up to each
// partition's start high watermark) -> READY (every partition caught up; tailing). The view is only
// as ready as its slowest partition. Pure: the reader reports, the HTTP side reads snapshots.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/position_token.h"
#include "consumer_service/status/change_feed.h"

namespace saldo {

enum class ServiceState : std::uint8_t { kStarting, kRebuilding, kReady };
std::string_view to_string(ServiceState s);

struct PartitionProgress {
  std::int32_t partition = 0;
  std::int64_t start = 0;           // low watermark when the rebuild began
  std::int64_t target = 0;          // high watermark when the rebuild began
  std::int64_t position = 0;        // next offset the reader will see
  // Where the partition ends, as the broker said last (asked, not librdkafka's cached fetch answer):
  // the last stable offset, up to which a read_committed reader can read, and the high watermark,
  // which also counts the records of transactions still open.
  std::int64_t stable_offset = 0;
  std::int64_t high_watermark = 0;
  bool caught_up = false;

  double progress() const noexcept;  // 0..1 of the rebuild
  // Records the table can read and has not: up to the last stable offset.
  std::int64_t lag() const noexcept { return stable_offset > position ? stable_offset - position : 0; }
  // Records of open transactions, past the last stable offset: shown apart, never lag.
  std::int64_t uncommitted() const noexcept {
    const std::int64_t readable = std::max(stable_offset, position);
    return high_watermark > readable ? high_watermark - readable : 0;
  }
};

struct ReadinessSnapshot {
  ServiceState state = ServiceState::kStarting;
  std::string topic;
  bool broker_reachable = true;
  bool topic_missing = false;
  std::string broker_error;  // the last reason the broker was unreachable
  std::string rebuild_reason;        // why the table is being (or was last) rebuilt from offset 0 again
  std::string topic_config_warning;  // e.g. the topic is not compacted
  std::uint32_t full_rebuilds = 0;   // rebuilds after the first one (topic recreated, records deleted)
  std::string start = "cold";        // "warm": from a snapshot; "cold": from offset 0
  double snapshot_age_s = -1;        // age of the snapshot a warm start loaded
  std::string start_note;            // why the start was cold, when a state directory is used
  std::string snapshot_error;        // the last snapshot write failed: why (empty once one succeeds)
  // Why the broker refuses us, when it does: authentication (wrong password), TLS (untrusted CA),
  // authorization (no Read on the topic). Empty once the topic is read.
  std::string access_error;
  std::vector<PartitionProgress> partitions;
  std::chrono::steady_clock::time_point rebuild_began{};  // when the start watermarks were known
  std::chrono::steady_clock::time_point ready_at{};       // when the last partition caught up
  // When the broker was asked the end offsets the lags are computed from ({}: not yet asked since the
  // rebuild began; the lags then count up to the start watermarks).
  std::chrono::steady_clock::time_point end_offsets_asked_at{};

  double progress() const noexcept;  // of all partitions together, weighted by records
  // Milliseconds since end_offsets_asked_at, or -1 when not asked yet.
  std::int64_t end_offsets_age_ms(std::chrono::steady_clock::time_point now) const noexcept;
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
  // The table is stale and is being rebuilt from offset 0 again (state back to REBUILDING).
  void restart_rebuild(std::string_view reason);
  // Partitions added to the topic while tailing: counted in progress and lag from now on. The state
  // stays READY (see ARCHITECTURE.md, "Consistency"): they are read from their start right away.
  void add_partitions(const std::vector<Watermarks>& partitions);
  // Sharded mode: partitions this instance no longer holds leave the progress and the lag.
  void remove_partitions(std::span<const std::int32_t> partitions);
  void set_topic_config_warning(std::string_view warning);
  // The last snapshot write's failure, or "" after a write that succeeded.
  void set_snapshot_error(std::string_view why);
  void set_start(std::string_view kind, double snapshot_age_s, std::string_view note);
  // The reader's next offset in `partition` is `position`. Returns true if this made it READY.
  bool advance(std::int32_t partition, std::int64_t position);
  // Where `partition` ends, as the broker said at `asked_at`; an answer asked before the current
  // rebuild began is ignored (it may describe the topic as it was before a reset).
  void set_end_offsets(std::int32_t partition, std::int64_t stable, std::int64_t high,
                       std::chrono::steady_clock::time_point asked_at);

  // Whether the table has applied every position: its next offset in each partition is past it.
  // A partition the table does not read (yet) has not.
  bool applied(std::span<const TopicPosition> positions) const;
  // Waits until applied(positions) or `deadline`, woken by advance() (no polling). True if applied.
  bool wait_applied(std::span<const TopicPosition> positions, std::chrono::steady_clock::time_point deadline) const;

  // Bumped whenever a position moved (the table applied records) or the partitions changed: the live
  // streams wait on it. Closed at shutdown.
  ChangeFeed& changes() const noexcept { return changes_; }

  // Test hook: while held, READY waits even when every partition is caught up, so a test can see
  // the service's answers just before READY without racing the rebuild.
  void hold_ready(bool hold);

  ReadinessSnapshot snapshot() const;

 private:
  bool update_state_locked();
  bool applied_locked(std::span<const TopicPosition> positions) const;
  void add_locked(const std::vector<Watermarks>& partitions);

  mutable std::mutex mutex_;
  mutable std::condition_variable advanced_;  // a position moved: read-your-writes waiters re-check
  mutable ChangeFeed changes_;
  std::atomic<ServiceState> state_{ServiceState::kStarting};
  ReadinessSnapshot data_;
  std::size_t caught_up_ = 0;
  bool hold_ = false;
};

}  // namespace saldo
