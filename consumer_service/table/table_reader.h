#pragma once
// The Kafka loop of the service: reads the compacted topic and hands each batch of records to the
// RecordApplier (record_applier.h), which decodes and applies them. Every partition is assigned at
// the beginning (no consumer group, no commits: every instance needs the whole table); the rebuild
// ends when each partition reaches its start high watermark; then it tails forever. It also
// watches the topic: partitions added later are read from their start, and a topic recreated or
// truncated under it (offsets going back, watermarks below its position) makes it rebuild the
// table from offset 0. A missing topic and an unreachable broker are states, not crashes.
#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "common/config.h"
#include "consumer_service/store/balance_store.h"
#include "consumer_service/status/metrics.h"
#include "consumer_service/status/readiness.h"

namespace saldo {

class DeadLetterSink;
class CheckpointBoard;

struct TableReaderOptions {
  KafkaOptions kafka;
  bool require_compacted = false;  // refuse a topic whose cleanup.policy lacks "compact"
  DeadLetterSink* dead_letter = nullptr;  // copies of invalid records; must outlive stop()
  std::string state_dir{};                // not empty: start warm from its snapshot when it may be trusted
  CheckpointBoard* checkpoints = nullptr;  // where the reader publishes its positions for the snapshot writer
  // Sharded mode (--shard-group): the table holds only the partitions serve() names, each read from
  // its start when taken and dropped from the store when let go. Nothing is read before the first
  // serve(). No snapshot.
  bool sharded = false;
  // A cold rebuild (and a warm start's catching up) reads with the direct catch-up up to the start
  // watermarks, then librdkafka (topic/direct_catch_up.h); false: librdkafka only.
  bool direct_catch_up = true;
};

class TableReader {
 public:
  // Creates the consumer (throws ConfigError/KafkaException on a bad configuration).
  TableReader(TableReaderOptions options, BalanceStore& store, Readiness& readiness, Metrics& metrics);
  ~TableReader();
  TableReader(const TableReader&) = delete;
  TableReader& operator=(const TableReader&) = delete;

  // Starts reading on its own thread.
  void start();
  // Asks the thread to stop, joins it and closes the consumer. Returns within ~a batch timeout.
  void stop();
  // Sharded mode: the partitions to hold from now on (the shard coordinator's choice). Any thread;
  // the reader takes them between batches.
  void serve(std::vector<std::int32_t> partitions);
  // True when the reader stopped on an error it cannot retry (it also requested shutdown).
  bool failed() const noexcept { return failed_; }

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> failed_{false};
};

}  // namespace saldo
