#include "consumer_service/status/change_feed.h"

namespace saldo {

void ChangeFeed::publish() {
  {
    std::lock_guard lock(mutex_);
    ++version_;
  }
  changed_.notify_all();
}

std::uint64_t ChangeFeed::version() const {
  std::lock_guard lock(mutex_);
  return version_;
}

std::uint64_t ChangeFeed::wait(std::uint64_t seen, std::chrono::steady_clock::time_point deadline) const {
  std::unique_lock lock(mutex_);
  changed_.wait_until(lock, deadline, [&] { return closed_ || version_ != seen; });
  return version_;
}

void ChangeFeed::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  changed_.notify_all();
}

bool ChangeFeed::closed() const {
  std::lock_guard lock(mutex_);
  return closed_;
}

}  // namespace saldo
