#pragma once
// A background thread with a stop flag: start, a pause that a stop cuts short, stop-and-join. The
// table reader and the PostgreSQL sink both run on one; each used to keep its own flag, mutex and
// condition variable for the same three jobs.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace saldo {

class WorkerThread {
 public:
  WorkerThread() = default;
  ~WorkerThread() { stop(); }
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  // Runs `body` on a new thread. `body` should return soon after stopping() turns true.
  void start(std::function<void()> body) {
    stopping_ = false;
    thread_ = std::thread(std::move(body));
  }

  // Asks the thread to stop, wakes a pause() under way and joins. Does nothing when not started.
  void stop() {
    if (!thread_.joinable()) return;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

  bool stopping() const noexcept { return stopping_.load(std::memory_order_relaxed); }

  // Waits `d`; false as soon as a stop is asked (then the caller returns).
  bool pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex_);
    return !wake_.wait_for(lock, d, [&] { return stopping_.load(); });
  }

 private:
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  std::thread thread_;
};

}  // namespace saldo
