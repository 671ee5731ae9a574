#pragma once
// What the PostgreSQL sink reports: its state, counters and commit latency, read by /ready and
// /metrics. Pure: the sink's thread writes, HTTP threads read.
#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace saldo {

enum class SinkState : std::uint8_t {
  kConnecting,  // not connected yet
  kStandby,     // connected, but another instance holds the writer lock for this topic
  kWaitingTopic,
  kRunning,     // writing (or idle, caught up)
  kDown,        // the last attempt failed; retrying with backoff
  kCount,
};
std::string_view to_string(SinkState s);

class PostgresSinkStatus {
 public:
  void set_state(SinkState s);
  // The last failure, on one line and without the password (kept for /ready).
  void set_error(std::string message);
  void transaction(std::uint64_t rows_written, std::uint64_t records, double commit_seconds) noexcept;
  void error() noexcept { errors_.fetch_add(1, std::memory_order_relaxed); }
  void set_lag(std::int64_t records) noexcept { lag_.store(records, std::memory_order_relaxed); }
  // The tables were emptied because the topic was recreated or truncated.
  void topic_reset() noexcept { topic_resets_.fetch_add(1, std::memory_order_relaxed); }

  SinkState state() const noexcept { return state_.load(std::memory_order_relaxed); }
  std::uint64_t rows_written() const noexcept { return rows_.load(std::memory_order_relaxed); }
  std::uint64_t transactions() const noexcept { return transactions_.load(std::memory_order_relaxed); }
  std::uint64_t errors() const noexcept { return errors_.load(std::memory_order_relaxed); }
  std::int64_t lag() const noexcept { return lag_.load(std::memory_order_relaxed); }
  std::uint64_t topic_resets() const noexcept { return topic_resets_.load(std::memory_order_relaxed); }

  // Prometheus text: saldo_postgres_sink_* (appended to the service's /metrics).
  void render_metrics(std::string& out) const;
  // ,"postgres":{...} for the /ready body.
  void append_ready_json(std::string& out) const;

 private:
  static constexpr std::array<double, 10> kCommitBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025,
                                                            0.05,  0.1,    0.25,  1.0,  5.0};
  std::atomic<SinkState> state_{SinkState::kConnecting};
  std::atomic<std::uint64_t> rows_{0};
  std::atomic<std::uint64_t> records_{0};
  std::atomic<std::uint64_t> transactions_{0};
  std::atomic<std::uint64_t> errors_{0};
  std::atomic<std::uint64_t> topic_resets_{0};
  std::atomic<std::int64_t> lag_{-1};  // -1: not known yet
  std::array<std::atomic<std::uint64_t>, kCommitBuckets.size() + 1> commit_{};  // last: +Inf
  std::atomic<std::uint64_t> commit_sum_ns_{0};
  mutable std::mutex mutex_;
  std::string last_error_;
};

}  // namespace saldo
