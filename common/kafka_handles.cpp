#include "common/kafka_handles.h"

#include <algorithm>
#include <thread>

#include <spdlog/spdlog.h>

namespace saldo {

void set_kafka_property(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  char errstr[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
    // librdkafka's message quotes the value it refused: not when that value is a secret.
    throw ConfigError("Kafka property " + name + ": " +
                      (is_secret_property(name, value) ? std::string("invalid value") : std::string(errstr)));
  }
}

namespace {

// librdkafka's own log lines go through spdlog (so LOG_FORMAT=json covers them too) instead of
// raw "%3|..." lines on stderr. Called from librdkafka's threads: must not throw.
void log_to_spdlog(const rd_kafka_t* rk, int level, const char* facility, const char* message) noexcept {
  try {
    spdlog::level::level_enum lvl = level <= 3   ? spdlog::level::err
                                    : level == 4 ? spdlog::level::warn
                                    : level <= 6 ? spdlog::level::info
                                                 : spdlog::level::debug;
    spdlog::log(lvl, "librdkafka {} {}: {}", rk ? rd_kafka_name(rk) : "-", facility, message);
  } catch (...) {
  }
}

}  // namespace

KafkaConf make_kafka_conf(const KafkaOptions& options) {
  KafkaConf conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), log_to_spdlog);
  set_kafka_property(conf.get(), "bootstrap.servers", options.bootstrap_servers);
  for (const auto& [name, value] : options.properties) set_kafka_property(conf.get(), name, value);
  return conf;
}

rd_kafka_resp_err_t wait_for_partition_leaders(rd_kafka_t* rk, const std::string& topic, int partitions,
                                               std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  for (int p = 0; p < partitions; ++p) {
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return err == RD_KAFKA_RESP_ERR_NO_ERROR ? RD_KAFKA_RESP_ERR__TIMED_OUT : err;
      int64_t low = 0, high = 0;
      err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &low, &high,
                                             static_cast<int>(std::min<std::int64_t>(left.count(), 5000)));
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // leadership settling: ask again shortly
    }
  }
  return RD_KAFKA_RESP_ERR_NO_ERROR;
}

KafkaHandle make_kafka_handle(rd_kafka_type_t type, KafkaConf conf) {
  char errstr[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), errstr, sizeof errstr);
  if (rk == nullptr) throw KafkaException(std::string("cannot create Kafka client: ") + errstr);
  conf.release();  // rd_kafka_new took ownership
  return KafkaHandle(rk);
}

}  // namespace saldo
