#pragma once
// Asking the broker where partitions start and end, for a rebuild to read [low, high) of each.
//
// Not rd_kafka_query_watermark_offsets(): librdkafka 2.0.2's sends one ListOffsets for the start and
// one for the end and files the answers in the order they come back, and when a request of the pair
// was retried it has returned low == high == the end offset with no error (mock_cluster_test, with
// errors injected on ListOffsets, saw a 119-record partition as empty). A rebuild trusting that low
// starts past the records. Here each bound is its own request by timestamp (-2 earliest, -1 latest,
// one per leader for all partitions), every answer is checked, and anything short of a complete
// answer is an error the caller retries.
#include <cstdint>
#include <string>
#include <vector>

#include <librdkafka/rdkafka.h>

namespace saldo {

struct PartitionMarks {
  std::int32_t partition;
  std::int64_t low;   // the log start offset
  std::int64_t high;  // the end (the last stable offset for a read_committed consumer)
};

struct WatermarkAnswer {
  std::vector<PartitionMarks> marks;  // partitions [from, to) in order; empty on an error
  std::string error;                  // empty: every partition answered with 0 <= low <= high
};

// Each partition's offset at `timestamp` (RD_KAFKA_OFFSET_BEGINNING, -2: the log start;
// RD_KAFKA_OFFSET_END, -1: the end as `rk`'s isolation.level sees it), partitions [from, to) in
// order into `out`, one ListOffsets per leader. Returns an error naming what did not answer, or "".
std::string list_offsets(rd_kafka_t* rk, const std::string& topic, std::int32_t from, std::int32_t to,
                         std::int64_t timestamp, int timeout_ms, std::vector<std::int64_t>& out);

// Both bounds: list_offsets() for the start, then for the end. Blocks up to about 2 x timeout_ms. `rk` is any client of the cluster (the reader's consumer).
WatermarkAnswer ask_watermarks(rd_kafka_t* rk, const std::string& topic, std::int32_t from, std::int32_t to,
                               int timeout_ms);

}  // namespace saldo
