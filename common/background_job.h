#pragma once
// One job at a time on a thread of its own, so the caller works on the next one meanwhile: the
// PostgreSQL sink writes a transaction here while it reads and decodes the next batch. The caller
// hands over a job, later waits for it (which rethrows what it threw), and only then hands over the
// next; there is never more than one job, so nothing queues up unseen.
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>

namespace saldo {

class BackgroundJob {
 public:
  BackgroundJob() : thread_([this] { loop(); }) {}
  // Waits for a job under way (what it throws is dropped), then ends the thread.
  ~BackgroundJob() {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }
  BackgroundJob(const BackgroundJob&) = delete;
  BackgroundJob& operator=(const BackgroundJob&) = delete;

  // Starts `job`. Throws std::logic_error when one was handed over and not waited for yet.
  void start(std::function<void()> job) {
    {
      std::lock_guard lock(mutex_);
      if (job_ || pending_) throw std::logic_error("BackgroundJob::start: the previous job was not waited for");
      job_ = std::move(job);
      pending_ = true;
    }
    changed_.notify_all();
  }

  // Whether a job was handed over and not waited for yet (running or done).
  bool pending() const {
    std::lock_guard lock(mutex_);
    return pending_;
  }

  // Waits until the job handed over is done and rethrows what it threw; returns at once when there is
  // none. Either way no job is pending after it.
  void wait() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return !job_; });
    pending_ = false;
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
  }

 private:
  void loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      changed_.wait(lock, [&] { return closing_ || job_; });
      if (!job_) return;  // closing, nothing to do
      lock.unlock();
      std::exception_ptr error;
      try {
        job_();
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      job_ = nullptr;
      error_ = error;
      changed_.notify_all();
    }
  }

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::function<void()> job_;  // set while a job runs or waits to run
  bool pending_ = false;       // handed over, not waited for
  std::exception_ptr error_;
  bool closing_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace saldo
