#pragma once
// The service's routes, in one place: the API dispatches on them and the metrics label by them.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace saldo {

enum class Route : std::uint8_t { kSaldo, kEvents, kSaldos, kHealth, kReady, kMetrics, kPage, kOpenApi, kShardStatus, kOther,
                                  kCount };
inline constexpr std::size_t kRouteCount = static_cast<std::size_t>(Route::kCount);

// The label of a route in /metrics ("/saldo", "/health", ..., "other").
constexpr std::string_view to_string(Route r) {
  switch (r) {
    case Route::kSaldo: return "/saldo";
    case Route::kEvents: return "/saldo/events";
    case Route::kSaldos: return "/saldos";
    case Route::kHealth: return "/health";
    case Route::kReady: return "/ready";
    case Route::kMetrics: return "/metrics";
    case Route::kPage: return "/";
    case Route::kOpenApi: return "/openapi.json";
    case Route::kShardStatus: return "/shard/status";
    case Route::kOther:
    case Route::kCount: break;
  }
  return "other";
}

// Every route but kOther has a label of its own: a new enumerator without one fails to compile.
constexpr bool every_route_named() {
  for (std::size_t i = 0; i < kRouteCount; ++i) {
    const auto r = static_cast<Route>(i);
    if (r != Route::kOther && to_string(r) == "other") return false;
  }
  return true;
}
static_assert(every_route_named(), "routes.h: name the new route in to_string(Route)");

// The route a request path belongs to; kOther for a path the service does not serve.
// "/saldo/events" is the customer "events"; "/saldo//events" is the stream of an empty (invalid) id.
constexpr Route route_of(std::string_view path) noexcept {
  if (path.starts_with("/saldo/")) {
    return path.ends_with("/events") && path.size() >= 14 ? Route::kEvents : Route::kSaldo;
  }
  if (path == "/saldos") return Route::kSaldos;
  if (path == "/health") return Route::kHealth;
  if (path == "/ready") return Route::kReady;
  if (path == "/metrics") return Route::kMetrics;
  if (path == "/") return Route::kPage;
  if (path == "/openapi.json") return Route::kOpenApi;
  if (path == "/shard/status") return Route::kShardStatus;
  return Route::kOther;
}

}  // namespace saldo
