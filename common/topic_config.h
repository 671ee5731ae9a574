#pragma once
// A topic as the broker reports it: its configuration (DescribeConfigs), for the checks every binary
// makes before trusting a topic as a table (compacted, how long tombstones are kept), and its
// partition count (metadata), which the table reader and the PostgreSQL sink watch.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include <librdkafka/rdkafka.h>

namespace saldo {

struct TopicConfig {
  std::map<std::string, std::string> entries;  // every config the broker returned
  std::string get(const std::string& name) const;
  bool compacted() const;  // cleanup.policy includes "compact"
};

// Asks the broker through `rk` (any client handle). Throws KafkaException when it cannot answer
// within `timeout` (no broker, no DescribeConfigs permission, no such topic).
TopicConfig describe_topic(rd_kafka_t* rk, const std::string& topic, std::chrono::milliseconds timeout);

struct TopicPartitions {
  rd_kafka_resp_err_t request_error = RD_KAFKA_RESP_ERR_NO_ERROR;  // the broker did not answer
  rd_kafka_resp_err_t topic_error = RD_KAFKA_RESP_ERR_NO_ERROR;    // its answer's error for the topic
  int partitions = -1;                                             // as answered; -1: not in the answer
  // > 0: the partition count; 0: the topic does not exist; -1: not known (no answer, or an error).
  int count() const noexcept {
    if (request_error) return -1;
    if (topic_error == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) return 0;
    return topic_error ? -1 : partitions;
  }
};

// The topic's metadata through `rk`, waiting at most `timeout_ms` for the broker.
TopicPartitions query_partitions(rd_kafka_t* rk, const std::string& topic, int timeout_ms);

}  // namespace saldo
