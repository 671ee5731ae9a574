#pragma once
// The hand-over between the table reader's two threads: the decoding thread fills a free batch and
// passes it on full; the store's writer thread applies it and gives it back. Two batches: one is
// decoded while the other is applied, and neither side runs more than one batch ahead.
#include <array>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>

#include "consumer_service/table/record_decoder.h"

namespace saldo {

class DecodedBatches {
 public:
  DecodedBatches() {
    for (auto& b : batches_) free_.push_back(&b);
  }
  DecodedBatches(const DecodedBatches&) = delete;
  DecodedBatches& operator=(const DecodedBatches&) = delete;

  // Decoding side: a batch to fill, or nullptr once closed.
  DecodedBatch* take_free() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return closed_ || !free_.empty(); });
    if (closed_) return nullptr;
    DecodedBatch* b = free_.front();
    free_.pop_front();
    return b;
  }
  void push_full(DecodedBatch* b) { put(full_, b); }
  // Writer side: the oldest full batch, or nullptr when none came within `timeout`.
  DecodedBatch* take_full(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, timeout, [&] { return !full_.empty(); })) return nullptr;
    DecodedBatch* b = full_.front();
    full_.pop_front();
    return b;
  }
  void give_back(DecodedBatch* b) { put(free_, b); }

  // Wakes a decoding side waiting for a free batch (it then stops), or lets it take batches again.
  void close(bool closed) {
    {
      std::lock_guard lock(mutex_);
      closed_ = closed;
    }
    changed_.notify_all();
  }

 private:
  void put(std::deque<DecodedBatch*>& to, DecodedBatch* b) {
    {
      std::lock_guard lock(mutex_);
      to.push_back(b);
    }
    changed_.notify_all();
  }

  std::array<DecodedBatch, 2> batches_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<DecodedBatch*> free_, full_;
  bool closed_ = false;
};

}  // namespace saldo
