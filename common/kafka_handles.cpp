#include "common/kafka_handles.h"

namespace saldo {

void set_kafka_property(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    throw ConfigError("Kafka property " + name + ": " + errstr);
  }
}

KafkaConf make_kafka_conf(const KafkaOptions& options) {
  KafkaConf conf(rd_kafka_conf_new());
  set_kafka_property(conf.get(), "bootstrap.servers", options.bootstrap_servers);
  for (const auto& [name, value] : options.properties) set_kafka_property(conf.get(), name, value);
  return conf;
}

KafkaHandle make_kafka_handle(rd_kafka_type_t type, KafkaConf conf) {
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof errstr);
  if (rk == nullptr) throw KafkaException(std::string("cannot create Kafka client: ") + errstr);
  conf.release();  // rd_kafka_new took ownership
  return KafkaHandle(rk);
}

}  // namespace saldo
