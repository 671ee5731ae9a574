#pragma once
// RAII for librdkafka's C handles: each lives in a std::unique_ptr with a small deleter,
// so no destroy call is scattered around and none is forgotten on an error path.
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

#include <librdkafka/rdkafka.h>

#include "common/config.h"

namespace saldo {

struct KafkaDeleter {
  void operator()(rd_kafka_t* p) const noexcept { rd_kafka_destroy(p); }
  void operator()(rd_kafka_conf_t* p) const noexcept { rd_kafka_conf_destroy(p); }
  void operator()(rd_kafka_topic_partition_list_t* p) const noexcept { rd_kafka_topic_partition_list_destroy(p); }
  void operator()(rd_kafka_queue_t* p) const noexcept { rd_kafka_queue_destroy(p); }
  void operator()(rd_kafka_message_t* p) const noexcept { rd_kafka_message_destroy(p); }
  void operator()(rd_kafka_event_t* p) const noexcept { rd_kafka_event_destroy(p); }
  void operator()(rd_kafka_AdminOptions_t* p) const noexcept { rd_kafka_AdminOptions_destroy(p); }
  void operator()(rd_kafka_NewTopic_t* p) const noexcept { rd_kafka_NewTopic_destroy(p); }
  void operator()(rd_kafka_ConfigResource_t* p) const noexcept { rd_kafka_ConfigResource_destroy(p); }
  void operator()(const rd_kafka_metadata_t* p) const noexcept { rd_kafka_metadata_destroy(p); }
  void operator()(rd_kafka_headers_t* p) const noexcept { rd_kafka_headers_destroy(p); }
  void operator()(rd_kafka_error_t* p) const noexcept { rd_kafka_error_destroy(p); }
  void operator()(rd_kafka_topic_t* p) const noexcept { rd_kafka_topic_destroy(p); }
};

using KafkaHandle = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using KafkaConf = std::unique_ptr<rd_kafka_conf_t, KafkaDeleter>;
using PartitionList = std::unique_ptr<rd_kafka_topic_partition_list_t, KafkaDeleter>;
using KafkaQueue = std::unique_ptr<rd_kafka_queue_t, KafkaDeleter>;
using KafkaMessage = std::unique_ptr<rd_kafka_message_t, KafkaDeleter>;
using KafkaEvent = std::unique_ptr<rd_kafka_event_t, KafkaDeleter>;
using AdminOptions = std::unique_ptr<rd_kafka_AdminOptions_t, KafkaDeleter>;
using NewTopic = std::unique_ptr<rd_kafka_NewTopic_t, KafkaDeleter>;
using ConfigResource = std::unique_ptr<rd_kafka_ConfigResource_t, KafkaDeleter>;
using Metadata = std::unique_ptr<const rd_kafka_metadata_t, KafkaDeleter>;
using KafkaError = std::unique_ptr<rd_kafka_error_t, KafkaDeleter>;
using KafkaTopic = std::unique_ptr<rd_kafka_topic_t, KafkaDeleter>;

// A Kafka failure at the edge of a binary (setup, admin); per-record problems are values, not this.
class KafkaException : public std::runtime_error {
 public:
  KafkaException(const std::string& what, rd_kafka_resp_err_t code = RD_KAFKA_RESP_ERR_UNKNOWN)
      : std::runtime_error(what), code_(code) {}
  rd_kafka_resp_err_t code() const noexcept { return code_; }

 private:
  rd_kafka_resp_err_t code_;
};

// A conf with bootstrap.servers and then every -X property applied in order (so -X wins).
// Throws ConfigError naming the property librdkafka refused.
KafkaConf make_kafka_conf(const KafkaOptions& options);
// Sets one property; throws ConfigError with librdkafka's reason.
void set_kafka_property(rd_kafka_conf_t* conf, const std::string& name, const std::string& value);

// Waits until every partition of `topic` answers a ListOffsets request from its leader, retrying
// while leadership settles (a topic created a moment ago is in metadata before its leader serves).
// Producing earlier is unsafe with librdkafka 2.0.2: when an idempotent producer's first batch to a
// partition fails with NOT_LEADER and the next in-flight batch succeeds, the broker (knowing no state
// for the producer yet) accepts the gap and librdkafka reports the failed batch as delivered:
// records are lost while their delivery reports say they arrived. Returns the last error, or
// RD_KAFKA_RESP_ERR_NO_ERROR when all partitions answered within `timeout`.
rd_kafka_resp_err_t wait_for_partition_leaders(rd_kafka_t* rk, const std::string& topic, int partitions,
                                               std::chrono::milliseconds timeout);

// Creates a producer or consumer from `conf` (ownership passes to the handle on success).
KafkaHandle make_kafka_handle(rd_kafka_type_t type, KafkaConf conf);

}  // namespace saldo
