#pragma once
// The direct catch-up: a cold rebuild reads each partition from where it stands to its start high
// watermark with plain Fetch requests on a thread of its own, and hands the records over in chunks,
// as views into the fetched bytes. librdkafka's consumer costs ~250 ns of CPU per message on its
// broker thread and ~100 more where the messages are polled and freed (one allocated op per
// message); this reads them in place (bench/notes/2026-12-04-direct-catch-up.md).
//
// It only ever shortens what librdkafka reads: a partition it cannot read on (a broker error, a
// batch it does not decode, a lost connection) stops at the offset it reached, with the reason, and
// the reader assigns librdkafka there. Each partition's records come in offset order.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "consumer_service/topic/fetch_protocol.h"
#include "consumer_service/topic/topic_record.h"

namespace saldo {

struct CatchUpPartition {
  std::int32_t partition = 0;
  std::int64_t from = 0;   // the first offset to read (the log's start for a cold rebuild)
  std::int64_t until = 0;  // read until the next offset reaches this (the start high watermark)
};

struct BrokerAddress {
  std::string host;
  int port = 0;
};

// One fetch's records, valid until the chunk is given back.
struct CatchUpChunk {
  std::string response;
  std::deque<std::string> inflated;
  std::vector<TopicRecord> records;
};

class DirectCatchUp {
 public:
  struct Settings {
    std::string topic;
    std::string client_id = "saldo-catch-up";
    FetchLimits limits{};
    std::size_t queued_chunks = 2;  // fetched ahead of the reader (memory: ~limits.max_bytes x 5 each)
    std::chrono::milliseconds request_timeout{30000};
  };
  struct Outcome {
    std::int32_t partition = 0;
    std::int64_t next = 0;  // where librdkafka takes over
    std::string stopped;    // not empty: why it stopped before `until`
  };

  // Starts fetching at once. `leaders`: each partition's leader (a partition without one is stopped
  // at its `from`).
  DirectCatchUp(Settings settings, std::vector<CatchUpPartition> partitions,
                std::map<std::int32_t, BrokerAddress> leaders);
  ~DirectCatchUp();  // stops the thread and joins it
  DirectCatchUp(const DirectCatchUp&) = delete;
  DirectCatchUp& operator=(const DirectCatchUp&) = delete;

  // The next chunk, waiting up to `timeout`; nullptr when none came in time or all were taken.
  CatchUpChunk* take(std::chrono::milliseconds timeout);
  void give_back(CatchUpChunk* chunk);
  // True once the fetching ended and every chunk was taken: outcome() is then final.
  bool done();
  std::vector<Outcome> outcome();

 private:
  struct Partition {
    CatchUpPartition range;
    std::int64_t next = 0;
    std::string stopped;
    bool open = true;
  };
  struct Leader {
    BrokerAddress address;
    std::vector<std::size_t> partitions;  // indices into partitions_
  };

  void run();
  void fetch_from(Leader& leader, std::unique_ptr<class BrokerConnection>& connection, std::int32_t correlation_id);
  CatchUpChunk* free_chunk();  // nullptr when stopping
  void stop_all(const Leader& leader, const std::string& why);

  Settings settings_;
  std::vector<Partition> partitions_;  // written by the fetch thread under mutex_
  std::vector<Leader> leaders_;
  std::vector<std::unique_ptr<CatchUpChunk>> pool_;

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<CatchUpChunk*> free_;
  std::deque<CatchUpChunk*> full_;
  bool fetching_ = true;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace saldo
