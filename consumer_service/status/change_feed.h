#pragma once
// A version counter the table's writer bumps whenever it applied something, that any number of
// readers can wait on (no polling): the live streams (GET /saldo/<id>/events) sleep here between
// events. Pure.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

namespace saldo {

class ChangeFeed {
 public:
  // Something was applied: every waiter wakes.
  void publish();
  std::uint64_t version() const;
  // Waits until the version differs from `seen`, the feed is closed or `deadline` passes; returns
  // the version then.
  std::uint64_t wait(std::uint64_t seen, std::chrono::steady_clock::time_point deadline) const;
  // Shutdown: every waiter wakes now and every later wait returns at once.
  void close();
  bool closed() const;

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::uint64_t version_ = 0;
  bool closed_ = false;
};

}  // namespace saldo
