#include "consumer_service/table/dead_letter.h"

#include <spdlog/spdlog.h>

#include "consumer_service/topic/consumer_settings.h"

namespace saldo {
namespace {

// Settings of the dead-letter producer, before the user's -X properties (which still win).
const KeyValues kProducerDefaults = {
    {"enable.idempotence", "true"},
    {"acks", "all"},
    // A poison record may be large (that can be why it is poison): up to the reader's fetch size.
    {"message.max.bytes", "16777216"},
    {"linger.ms", "5"},
};

}  // namespace

DeadLetterSink::DeadLetterSink(const KafkaOptions& kafka, std::string dead_letter_topic, Metrics& metrics)
    : topic_(std::move(dead_letter_topic)), metrics_(metrics) {
  KafkaOptions options = kafka;
  options.properties = kProducerDefaults;
  for (const auto& kv : kafka.properties) {
    // The service's -X properties are meant for its consumer; consumer-only ones would make a producer warn.
    if (!is_consumer_only_property(kv.first)) options.properties.push_back(kv);
  }
  KafkaConf conf = make_kafka_conf(options);
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &DeadLetterSink::on_delivery);
  rk_ = make_kafka_handle(RD_KAFKA_PRODUCER, std::move(conf));
}

DeadLetterSink::~DeadLetterSink() { close(std::chrono::milliseconds(0)); }

void DeadLetterSink::on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) noexcept {
  try {
    auto* self = static_cast<DeadLetterSink*>(opaque);
    self->metrics_.dead_letter(m->err == RD_KAFKA_RESP_ERR_NO_ERROR);
    if (m->err) spdlog::warn("dead-letter copy to '{}' failed: {}", self->topic_, rd_kafka_err2str(m->err));
  } catch (...) {
  }
}

void DeadLetterSink::send(std::string_view source_topic, std::int32_t partition, std::int64_t offset,
                          const void* key, std::size_t key_len, const void* value, std::size_t value_len,
                          DecodeError why) noexcept {
  try {
    if (!rk_) return;
    const std::string_view reason = to_string(why);
    const std::string p = std::to_string(partition), o = std::to_string(offset);
    // librdkafka copies header values; the headers object belongs to the message once produced.
    rd_kafka_headers_t* headers = rd_kafka_headers_new(4);
    rd_kafka_header_add(headers, kDeadLetterReason, -1, reason.data(), static_cast<ssize_t>(reason.size()));
    rd_kafka_header_add(headers, kDeadLetterTopic, -1, source_topic.data(), static_cast<ssize_t>(source_topic.size()));
    rd_kafka_header_add(headers, kDeadLetterPartition, -1, p.data(), static_cast<ssize_t>(p.size()));
    rd_kafka_header_add(headers, kDeadLetterOffset, -1, o.data(), static_cast<ssize_t>(o.size()));
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    for (int attempt = 0; attempt < 50; ++attempt) {  // a full local queue: serve reports, ~5 s at most
      err = rd_kafka_producev(rk_.get(), RD_KAFKA_V_TOPIC(topic_.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE(const_cast<void*>(value), value_len),
                              RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_END);
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) break;
      rd_kafka_poll(rk_.get(), 100);
    }
    if (err) {
      rd_kafka_headers_destroy(headers);  // not taken by librdkafka on failure
      metrics_.dead_letter(false);
      spdlog::warn("dead-letter copy of partition {} offset {} not queued: {}", partition, offset, rd_kafka_err2str(err));
    }
    rd_kafka_poll(rk_.get(), 0);
  } catch (...) {
  }
}

void DeadLetterSink::poll() noexcept {
  if (rk_) rd_kafka_poll(rk_.get(), 0);
}

void DeadLetterSink::close(std::chrono::milliseconds timeout) noexcept {
  try {
    if (!rk_) return;
    rd_kafka_flush(rk_.get(), static_cast<int>(timeout.count()));
    const int left = rd_kafka_outq_len(rk_.get());
    if (left > 0) {
      // Purged records get a delivery report with an error, which counts them as failed.
      rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      rd_kafka_poll(rk_.get(), 0);
      spdlog::warn("dead-letter topic '{}': {} copies not acknowledged at shutdown", topic_, left);
    }
    rk_.reset();
  } catch (...) {
  }
}

}  // namespace saldo
