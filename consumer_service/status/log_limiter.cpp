#include "consumer_service/status/log_limiter.h"

#include <spdlog/spdlog.h>

namespace saldo {

void LogLimiter::flush(Clock::time_point now) {
  if (now - start_ < window_) return;
  if (suppressed_ > 0) spdlog::warn("{} more {} suppressed in the last {} s", suppressed_, what_, window_.count());
  start_ = now;
  used_ = 0;
  suppressed_ = 0;
}

bool LogLimiter::allow(Clock::time_point now) {
  flush(now);
  if (used_ < burst_) {
    ++used_;
    return true;
  }
  ++suppressed_;
  return false;
}

}  // namespace saldo
