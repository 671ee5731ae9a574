#pragma once
// What the integration, fault and e2e tests share to talk to the real broker with plain librdkafka
// (never through saldo's own producer or reader, so a test and the code under test can't share a bug).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "common/kafka_handles.h"

namespace saldo::test {

// The broker the tests use: $SALDO_TEST_BOOTSTRAP_SERVERS. Throws when unset, so a test that needs
// Kafka fails loudly instead of skipping (scripts/test.sh sets it).
std::string bootstrap_servers();

// A topic name no other test (or earlier run) uses: "<prefix>-<pid>-<counter>-<time>".
std::string unique_topic(std::string_view prefix);

// prefix followed by n: "k" + std::to_string(n) inserts at the front of a temporary, where GCC 12
// at -O3 reports a false -Wrestrict (GCC bug 105651); appending to a named string does not.
std::string numbered(std::string_view prefix, std::int64_t n);

// Creates a topic (cleanup.policy=compact unless `configs` says otherwise) and waits until its
// metadata shows every partition with a leader. Throws on failure.
void create_topic(const std::string& topic, int partitions, const KeyValues& configs = {});
// Deletes a topic and waits until its metadata says it is gone. Throws on failure.
void delete_topic(const std::string& topic);
// Grows a topic to `total` partitions and waits until each has a leader. Throws on failure.
void add_partitions(const std::string& topic, int total);

struct Record {
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::optional<std::string> key;    // nullopt: no key
  std::optional<std::string> value;  // nullopt: null value (tombstone)
  std::int64_t timestamp = -1;       // the Kafka record timestamp (ms)
};

// A plain librdkafka producer with the same partitioner our producers must use (murmur2_random),
// acks=all and idempotence. send() is synchronous per call for simplicity unless `wait` is false.
class RawProducer {
 public:
  explicit RawProducer(const KeyValues& extra = {});
  ~RawProducer();
  RawProducer(const RawProducer&) = delete;
  RawProducer& operator=(const RawProducer&) = delete;

  // Queues one record; partition -1 lets the partitioner choose; timestamp_ms 0 is now (a topic with
  // message.timestamp.type=CreateTime keeps another). Throws if it cannot be queued.
  void send(const std::string& topic, const std::optional<std::string>& key,
            const std::optional<std::string>& value, std::int32_t partition = -1, std::int64_t timestamp_ms = 0);
  // Waits for every delivery report; throws if any delivery failed or the timeout passed.
  void flush(std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  KafkaHandle rk_;
  struct Reports;
  Reports* reports_;
};

// Every record of every partition, from offset 0 up to the high watermark at the time of the call
// (ordered by partition, then offset). Throws on timeout.
std::vector<Record> read_all(const std::string& topic,
                             std::chrono::milliseconds timeout = std::chrono::seconds(60));

// Partition count from metadata; throws if the topic is unknown.
int partition_count(const std::string& topic);

// Java's default partitioner for a keyed record: toPositive(murmur2(key)) % partitions.
// An independent implementation, to check that our producers agree with the Java client.
std::int32_t murmur2_partition(std::string_view key, std::int32_t partitions);

}  // namespace saldo::test
