#pragma once
// Counters the service exposes at /metrics, and their Prometheus text rendering. Pure: the reader
// and the HTTP layer bump counters; render_metrics() reads them with the table's current state.
#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/codec.h"
#include "consumer_service/readiness.h"

namespace saldo {

enum class Route : std::uint8_t { kSaldo, kHealth, kReady, kMetrics, kPage, kOther };
inline constexpr std::size_t kRouteCount = 6;
std::string_view to_string(Route r);
Route route_of(std::string_view path) noexcept;

class Metrics {
 public:
  void records_applied(std::uint64_t n) noexcept { applied_.fetch_add(n, std::memory_order_relaxed); }
  void tombstones(std::uint64_t n) noexcept { tombstones_.fetch_add(n, std::memory_order_relaxed); }
  void stale(std::uint64_t n) noexcept { stale_.fetch_add(n, std::memory_order_relaxed); }
  void invalid(DecodeError why) noexcept {
    invalid_[static_cast<std::size_t>(why)].fetch_add(1, std::memory_order_relaxed);
  }
  void http_request(Route route, int status) noexcept;
  void broker_errors(std::uint64_t n) noexcept { broker_errors_.fetch_add(n, std::memory_order_relaxed); }

  std::uint64_t records_applied() const noexcept { return applied_.load(std::memory_order_relaxed); }
  std::uint64_t tombstones() const noexcept { return tombstones_.load(std::memory_order_relaxed); }
  std::uint64_t invalid_count(DecodeError why) const noexcept {
    return invalid_[static_cast<std::size_t>(why)].load(std::memory_order_relaxed);
  }
  std::uint64_t invalid_total() const noexcept;
  std::uint64_t http_requests(Route route, int status) const noexcept;

  struct Table {  // what render_metrics needs from the store
    std::size_t customers = 0;
    std::size_t memory_bytes = 0;
  };
  std::string render(const ReadinessSnapshot& readiness, Table table) const;

 private:
  static constexpr std::array<int, 8> kStatuses = {200, 400, 404, 405, 413, 500, 503, 0};  // 0: other
  static std::size_t status_index(int status) noexcept;

  std::atomic<std::uint64_t> applied_{0};
  std::atomic<std::uint64_t> tombstones_{0};
  std::atomic<std::uint64_t> stale_{0};
  std::atomic<std::uint64_t> broker_errors_{0};
  std::array<std::atomic<std::uint64_t>, kDecodeErrorCount> invalid_{};
  std::array<std::array<std::atomic<std::uint64_t>, kStatuses.size()>, kRouteCount> http_{};
};

}  // namespace saldo
