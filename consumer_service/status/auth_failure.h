#pragma once
// Why the HTTP layer refused a request (a label of saldo_http_auth_failures_total). Here, below both
// the metrics and the HTTP layer, so that counting a refusal needs no HTTP code.
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace saldo {

enum class AuthFailure : std::uint8_t { kMissing, kMalformed, kWrong, kCount };
inline constexpr std::size_t kAuthFailureCount = static_cast<std::size_t>(AuthFailure::kCount);

constexpr std::string_view to_string(AuthFailure f) {
  switch (f) {
    case AuthFailure::kMissing: return "missing";
    case AuthFailure::kMalformed: return "malformed";
    case AuthFailure::kWrong: return "wrong";
    case AuthFailure::kCount: break;
  }
  return "other";
}

}  // namespace saldo
