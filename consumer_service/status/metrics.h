#pragma once
// Counters the service exposes at /metrics, and their Prometheus text rendering. Pure: the reader
// and the HTTP layer bump counters; render_metrics() reads them with the table's current state.
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <map>
#include <mutex>

#include "common/codec.h"
#include "consumer_service/status/auth_failure.h"
#include "consumer_service/status/readiness.h"
#include "consumer_service/status/routes.h"

namespace saldo {


class Metrics {
 public:
  void records_applied(std::uint64_t n) noexcept { applied_.fetch_add(n, std::memory_order_relaxed); }
  void tombstones(std::uint64_t n) noexcept { tombstones_.fetch_add(n, std::memory_order_relaxed); }
  void stale(std::uint64_t n) noexcept { stale_.fetch_add(n, std::memory_order_relaxed); }
  void misrouted() noexcept { misrouted_.fetch_add(1, std::memory_order_relaxed); }
  void reread(std::uint64_t n) noexcept { reread_.fetch_add(n, std::memory_order_relaxed); }
  std::uint64_t reread_count() const noexcept { return reread_.load(std::memory_order_relaxed); }
  std::uint64_t misrouted_count() const noexcept { return misrouted_.load(std::memory_order_relaxed); }
  // A snapshot load at start: "ok" or why it was not used (snapshot.h, SnapshotRejected::result).
  void snapshot_loaded(const std::string& result);
  void snapshot_written(bool ok, double seconds, std::size_t bytes) noexcept;
  // What valid records needed to be accepted (codec.h, DecodeNotes).
  void decode_notes(const DecodeNotes& n) noexcept {
    if (n.amount_rounded) amounts_rounded_.fetch_add(1, std::memory_order_relaxed);
    if (n.timestamp_from_record) timestamps_from_record_.fetch_add(1, std::memory_order_relaxed);
    if (n.id_was_number) ids_as_number_.fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t amounts_rounded() const noexcept { return amounts_rounded_.load(std::memory_order_relaxed); }
  std::uint64_t timestamps_from_record() const noexcept { return timestamps_from_record_.load(std::memory_order_relaxed); }
  std::uint64_t ids_as_number() const noexcept { return ids_as_number_.load(std::memory_order_relaxed); }
  void invalid(DecodeError why) noexcept {
    invalid_[static_cast<std::size_t>(why)].fetch_add(1, std::memory_order_relaxed);
  }
  void http_request(Route route, int status) noexcept;
  void auth_failure(AuthFailure why) noexcept {
    auth_failures_[static_cast<std::size_t>(why)].fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t auth_failures(AuthFailure why) const noexcept {
    return auth_failures_[static_cast<std::size_t>(why)].load(std::memory_order_relaxed);
  }
  // Read-your-writes (GET /saldo/<id>?after=): requests waiting now, and how each wait ended.
  enum class WaitResult : std::uint8_t { kOk, kTimeout, kRejected, kCount };
  void waiting_requests(std::int64_t delta) noexcept { waiting_.fetch_add(delta, std::memory_order_relaxed); }
  std::int64_t waiting_requests() const noexcept { return waiting_.load(std::memory_order_relaxed); }
  void read_your_writes(WaitResult r) noexcept { ryw_[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t read_your_writes_count(WaitResult r) const noexcept {
    return ryw_[static_cast<std::size_t>(r)].load(std::memory_order_relaxed);
  }
  // Live streams (GET /saldo/<id>/events): open now, and refused over the cap.
  void event_streams(std::int64_t delta) noexcept { streams_.fetch_add(delta, std::memory_order_relaxed); }
  std::int64_t event_streams() const noexcept { return streams_.load(std::memory_order_relaxed); }
  void event_stream_rejected() noexcept { streams_rejected_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t event_streams_rejected() const noexcept { return streams_rejected_.load(std::memory_order_relaxed); }
  // Sharded mode (--shard-group): rendered only once set_sharded(true). A request for a customer of
  // another instance: forwarded and answered (ok), its owner not reached (unreachable), or nobody
  // holding the partition ready, so answered 503 here (unavailable); a batch counts one per owner
  // asked and one per id unavailable.
  enum class ForwardResult : std::uint8_t { kOk, kUnreachable, kUnavailable, kCount };
  void set_sharded(bool on) noexcept { sharded_.store(on, std::memory_order_relaxed); }
  bool sharded() const noexcept { return sharded_.load(std::memory_order_relaxed); }
  void shard_forward(ForwardResult r) noexcept {
    forwards_[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t shard_forwards(ForwardResult r) const noexcept {
    return forwards_[static_cast<std::size_t>(r)].load(std::memory_order_relaxed);
  }
  // Partitions the group assigned this instance now, and those it holds (assigned or handing over,
  // rebuilding or ready): the shard coordinator sets both at each change.
  void shard_owned_partitions(std::int64_t n) noexcept { owned_partitions_.store(n, std::memory_order_relaxed); }
  void shard_partitions_held(std::int64_t n) noexcept { held_partitions_.store(n, std::memory_order_relaxed); }
  // A partition handed over to another instance (its new owner became ready and this one let it go).
  void shard_handover() noexcept { handovers_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t shard_handovers() const noexcept { return handovers_.load(std::memory_order_relaxed); }
  void broker_errors(std::uint64_t n) noexcept { broker_errors_.fetch_add(n, std::memory_order_relaxed); }
  // Time the API took to answer one request (routing, lookup, rendering), into the histogram.
  void request_latency(double seconds) noexcept;
  // Poison records copied to the dead-letter topic: acknowledged by the broker, or lost.
  void dead_letter(bool delivered) noexcept { (delivered ? dlq_delivered_ : dlq_failed_).fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t dead_letter_delivered() const noexcept { return dlq_delivered_.load(std::memory_order_relaxed); }
  std::uint64_t dead_letter_failed() const noexcept { return dlq_failed_.load(std::memory_order_relaxed); }
  std::uint64_t request_latency_count() const noexcept;

  std::uint64_t records_applied() const noexcept { return applied_.load(std::memory_order_relaxed); }
  std::uint64_t tombstones() const noexcept { return tombstones_.load(std::memory_order_relaxed); }
  std::uint64_t invalid_count(DecodeError why) const noexcept {
    return invalid_[static_cast<std::size_t>(why)].load(std::memory_order_relaxed);
  }
  std::uint64_t invalid_total() const noexcept;
  std::uint64_t http_requests(Route route, int status) const noexcept;

  struct Table {  // what render_metrics needs from the store
    std::size_t customers = 0;
    std::size_t tombstones = 0;
    std::size_t memory_bytes = 0;
  };
  std::string render(const ReadinessSnapshot& readiness, Table table) const;
  // The Kafka client's version for saldo_build_info, given by whoever links it (the metrics are pure).
  void set_kafka_client_version(std::string version) { kafka_client_version_ = std::move(version); }

 private:
  // Upper bounds of the latency histogram in seconds (+Inf is implicit): an in-memory lookup takes
  // microseconds, so the buckets start low; the top ones catch a stalled thread.
  static constexpr std::array<double, 12> kLatencyBuckets = {0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005,
                                                             0.001,   0.0025,   0.005,   0.01,   0.1,      1.0};
  static constexpr std::array<int, 11> kStatuses = {200, 307, 400, 401, 404, 405, 413, 500, 503, 504, 0};  // 0: other
  static std::size_t status_index(int status) noexcept;

  std::string kafka_client_version_ = "unknown";
  std::atomic<std::uint64_t> applied_{0};
  std::atomic<std::uint64_t> tombstones_{0};
  std::atomic<std::uint64_t> stale_{0};
  std::atomic<std::uint64_t> misrouted_{0};
  std::atomic<std::uint64_t> reread_{0};
  mutable std::mutex snapshot_mutex_;
  std::map<std::string, std::uint64_t> snapshot_loads_;  // by result; a few at most
  std::uint64_t snapshot_writes_ok_ = 0, snapshot_writes_failed_ = 0;
  double snapshot_write_seconds_ = 0;
  std::size_t snapshot_bytes_ = 0;
  std::atomic<std::uint64_t> amounts_rounded_{0};
  std::atomic<std::uint64_t> timestamps_from_record_{0};
  std::atomic<std::uint64_t> ids_as_number_{0};
  std::atomic<std::uint64_t> broker_errors_{0};
  std::atomic<bool> sharded_{false};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(ForwardResult::kCount)> forwards_{};
  std::atomic<std::int64_t> owned_partitions_{0};
  std::atomic<std::int64_t> held_partitions_{0};
  std::atomic<std::uint64_t> handovers_{0};
  std::atomic<std::int64_t> waiting_{0};
  std::atomic<std::int64_t> streams_{0};
  std::atomic<std::uint64_t> streams_rejected_{0};
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(WaitResult::kCount)> ryw_{};
  std::atomic<std::uint64_t> dlq_delivered_{0};
  std::atomic<std::uint64_t> dlq_failed_{0};
  std::array<std::atomic<std::uint64_t>, kDecodeErrorCount> invalid_{};
  std::array<std::atomic<std::uint64_t>, kAuthFailureCount> auth_failures_{};
  std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size() + 1> latency_{};  // last: +Inf
  std::atomic<std::uint64_t> latency_sum_ns_{0};
  std::array<std::array<std::atomic<std::uint64_t>, kStatuses.size()>, kRouteCount> http_{};
};

}  // namespace saldo
