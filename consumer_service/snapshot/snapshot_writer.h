#pragma once
// Writes the table to the state directory in the background (HTTP never waits on it): every
// --snapshot-interval when something changed, and once more at shutdown after the reader stopped.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "common/worker_thread.h"
#include "consumer_service/store/balance_store.h"
#include "consumer_service/status/metrics.h"
#include "consumer_service/status/readiness.h"
#include "consumer_service/snapshot/snapshot.h"

namespace saldo {

// Where the table stands, published by the reader after each batch (positions taken before the
// snapshot visits the store, as write_snapshot requires).
class CheckpointBoard {
 public:
  void publish(SnapshotMeta meta);  // the reader thread
  // The latest checkpoint and its version (bumped by every publish that changed it).
  std::optional<std::pair<SnapshotMeta, std::uint64_t>> latest() const;

 private:
  mutable std::mutex mutex_;
  std::optional<SnapshotMeta> meta_;
  std::uint64_t version_ = 0;
};

// Why `dir` cannot be the state directory, or nullopt. With `prepare`, creates it when missing, checks
// a file can be written in it and removes a snapshot.tmp a crash or a full disk left behind;
// without, only checks that what is there is a directory (for --print-config, which changes nothing).
std::optional<std::string> state_dir_problem(const std::string& dir, bool prepare);

class SnapshotWriter {
 public:
  SnapshotWriter(std::string dir, std::chrono::seconds interval, const BalanceStore& store, Readiness& readiness,
                 Metrics& metrics, const CheckpointBoard& board);
  ~SnapshotWriter();
  void start();
  // Stops the background thread, then writes a last snapshot if anything changed since the last one.
  void stop_and_write();

 private:
  void write_if_changed();

  std::string dir_;
  std::chrono::seconds interval_;
  const BalanceStore& store_;
  Readiness& readiness_;
  Metrics& metrics_;
  const CheckpointBoard& board_;
  std::chrono::milliseconds slow_down_{0};  // SALDO_TEST_SNAPSHOT_SLOW_MS: tests crash mid-write
  std::uint64_t written_version_ = 0;
  WorkerThread worker_;  // last: stopped before the members it reads go
};

}  // namespace saldo
