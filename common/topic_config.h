#pragma once
// A topic's configuration as the broker reports it (DescribeConfigs), for the checks every binary
// makes before trusting a topic as a table: compacted, and how long tombstones are kept.
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

}  // namespace saldo
