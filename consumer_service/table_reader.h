#pragma once
// The only Kafka code of the service: reads the compacted topic into the store as a table.
// Every partition is assigned at the beginning (no consumer group, no commits: every instance
// needs the whole table); the rebuild ends when each partition reaches its start high watermark;
// then it tails forever. Missing topic and unreachable broker are states, not crashes.
#include <atomic>
#include <chrono>
#include <memory>
#include <cstdint>
#include <string>
#include <thread>

#include "common/config.h"
#include "consumer_service/balance_store.h"
#include "consumer_service/metrics.h"
#include "consumer_service/readiness.h"

namespace saldo {

class DeadLetterSink;

class TableReader {
 public:
  TableReader(KafkaOptions options, BalanceStore& store, Readiness& readiness, Metrics& metrics);
  ~TableReader();
  TableReader(const TableReader&) = delete;
  TableReader& operator=(const TableReader&) = delete;

  // Creates the consumer (throws ConfigError/KafkaException on a bad configuration) and starts
  // reading on its own thread.
  void start();
  // Copies every invalid record to `sink` (before start(); it must outlive stop()).
  void set_dead_letter(DeadLetterSink* sink);
  // Asks the thread to stop, joins it and closes the consumer. Returns within ~a batch timeout.
  void stop();
  // True when the reader stopped on an error it cannot retry (it also requested shutdown).
  bool failed() const noexcept { return failed_; }

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::thread thread_;
  std::atomic<bool> failed_{false};
};

}  // namespace saldo
