#pragma once
// Rate-limited warnings: at most `burst` lines per `window`; the rest are counted, and one summary
// line says how many were suppressed once the window has ended (flush() writes it even when no
// further line comes). Not thread-safe: one per thread that logs.
#include <chrono>
#include <string>

namespace saldo {

class LogLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  LogLimiter(std::string what, int burst, std::chrono::seconds window) : what_(std::move(what)), burst_(burst), window_(window) {}

  // True when a line may be written now.
  bool allow(Clock::time_point now = Clock::now());
  // Writes the summary of a window that has ended. Call now and then (the reader does, every loop).
  void flush(Clock::time_point now = Clock::now());
  long suppressed() const noexcept { return suppressed_; }

 private:
  std::string what_;
  int burst_;
  std::chrono::seconds window_;
  Clock::time_point start_{};
  int used_ = 0;
  long suppressed_ = 0;
};

}  // namespace saldo
