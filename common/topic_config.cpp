#include "common/topic_config.h"

#include "common/kafka_handles.h"

namespace saldo {

std::string TopicConfig::get(const std::string& name) const {
  const auto it = entries.find(name);
  return it == entries.end() ? std::string() : it->second;
}

bool TopicConfig::compacted() const { return get("cleanup.policy").find("compact") != std::string::npos; }

TopicConfig describe_topic(rd_kafka_t* rk, const std::string& topic, std::chrono::milliseconds timeout) {
  char errstr[512];
  const int ms = static_cast<int>(timeout.count());
  AdminOptions opts(rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS));
  rd_kafka_AdminOptions_set_request_timeout(opts.get(), ms, errstr, sizeof errstr);
  ConfigResource res(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str()));
  rd_kafka_ConfigResource_t* resources[] = {res.get()};
  const KafkaQueue queue(rd_kafka_queue_new(rk));
  rd_kafka_DescribeConfigs(rk, resources, 1, opts.get(), queue.get());
  const KafkaEvent ev(rd_kafka_queue_poll(queue.get(), ms + 1000));
  if (!ev) throw KafkaException("DescribeConfigs of '" + topic + "': no answer", RD_KAFKA_RESP_ERR__TIMED_OUT);
  if (const rd_kafka_resp_err_t err = rd_kafka_event_error(ev.get())) {
    throw KafkaException("DescribeConfigs of '" + topic + "': " + rd_kafka_event_error_string(ev.get()), err);
  }
  std::size_t n = 0;
  const rd_kafka_ConfigResource_t** out =
      rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev.get()), &n);
  TopicConfig config;
  for (std::size_t i = 0; i < n; ++i) {
    if (const rd_kafka_resp_err_t err = rd_kafka_ConfigResource_error(out[i])) {
      const char* why = rd_kafka_ConfigResource_error_string(out[i]);
      throw KafkaException("DescribeConfigs of '" + topic + "': " + (why ? why : rd_kafka_err2str(err)), err);
    }
    std::size_t cnt = 0;
    const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(out[i], &cnt);
    for (std::size_t j = 0; j < cnt; ++j) {
      const char* v = rd_kafka_ConfigEntry_value(entries[j]);
      config.entries[rd_kafka_ConfigEntry_name(entries[j])] = v ? v : "";
    }
  }
  return config;
}

TopicPartitions query_partitions(rd_kafka_t* rk, const std::string& topic, int timeout_ms) {
  const KafkaTopic rkt(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
  const rd_kafka_metadata_t* raw = nullptr;
  TopicPartitions out;
  out.request_error = rd_kafka_metadata(rk, 0, rkt.get(), &raw, timeout_ms);
  const Metadata md(raw);
  if (out.request_error || md->topic_cnt != 1) return out;
  out.topic_error = md->topics[0].err;
  out.partitions = md->topics[0].partition_cnt;
  return out;
}

}  // namespace saldo
