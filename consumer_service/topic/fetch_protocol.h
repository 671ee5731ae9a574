#pragma once
// The few pieces of Kafka's wire protocol the direct catch-up (direct_catch_up.h) speaks, as pure
// functions over bytes: a Fetch v4 request for one topic, its response, and the record batches
// (message format v2) inside it. No sockets here, so the tests and the fuzz target feed them bytes.
//
// Only what a plain catch-up needs is decoded. A record batch the direct path does not read (another
// message format, a codec other than none or lz4, a transactional or control batch) stops its
// partition there with a reason: librdkafka reads the partition on from that offset, so nothing is
// lost or reordered, only read the ordinary way.
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "consumer_service/topic/topic_record.h"

namespace saldo {

// Bytes that do not parse as what Kafka sends: the connection cannot be trusted any more.
class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct FetchPartitionAsk {
  std::int32_t partition = 0;
  std::int64_t offset = 0;  // the next offset wanted
};

struct FetchLimits {
  std::int32_t max_wait_ms = 100;
  std::int32_t max_bytes = 4 << 20;            // the whole response
  std::int32_t partition_max_bytes = 1 << 20;  // each partition (the first batch comes whole anyway)
};

// A whole Fetch v4 request (size prefix, header v1, body), read_uncommitted: a transactional batch
// stops the partition (above), so what a read_committed consumer would skip is never handed over.
std::string encode_fetch_request(std::int32_t correlation_id, std::string_view client_id, std::string_view topic,
                                 std::span<const FetchPartitionAsk> partitions, const FetchLimits& limits);

struct FetchedPartition {
  std::int32_t partition = 0;
  std::int16_t error = 0;  // Kafka's error code; 0: none
  std::int64_t high_watermark = -1;
  std::string_view records;  // the record set: views into the response
};

// A Fetch v4 response body after the size prefix (correlation id first). Only `topic`'s
// partitions are returned. Throws ProtocolError when the bytes do not parse or the correlation id
// is not `correlation_id`.
std::vector<FetchedPartition> parse_fetch_response(std::string_view body, std::int32_t correlation_id,
                                                   std::string_view topic);

// Where reading one partition's record set ended.
struct RecordSetEnd {
  std::int64_t next = 0;        // the next offset to fetch
  std::string stopped;          // not empty: why the direct path stops this partition at `next`
};

// Appends the records of `set` at or after `from` to `out`, as views into `set` or into buffers
// appended to `inflated` (lz4 batches; a deque, so earlier buffers stay where they are). A batch cut
// short at the end of the set (a fetch ends on a size, not a batch) is left for the next fetch. A
// whole batch whose records do not parse stops the partition before it (none of its records are
// appended). Throws ProtocolError on a batch header that cannot be Kafka's (a length shorter than
// the header, offsets out of range).
RecordSetEnd read_record_set(std::string_view set, std::int32_t partition, std::int64_t from,
                             std::vector<TopicRecord>& out, std::deque<std::string>& inflated);

}  // namespace saldo
