#include "producer/balance_sender.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <spdlog/spdlog.h>

#include "common/topic_config.h"

namespace saldo {
namespace {

// What send_and_wait() waits on; its address travels as the message's opaque.
struct Waiter {
  bool done = false;
  Delivery delivery;
};

std::string seconds_text(std::chrono::milliseconds d) {
  auto ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + " s" : std::to_string(ms) + " ms";
}

}  // namespace

BalanceSender::BalanceSender(const KafkaOptions& kafka)
    : bootstrap_(kafka.bootstrap_servers), topic_name_(kafka.topic) {
  KafkaConf conf = make_kafka_conf(kafka);
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), &BalanceSender::on_delivery);
  rd_kafka_conf_set_error_cb(conf.get(), &BalanceSender::on_error);
  rd_kafka_conf_set_log_cb(conf.get(), &BalanceSender::on_log);
  rk_ = make_kafka_handle(RD_KAFKA_PRODUCER, std::move(conf));
  topic_.reset(rd_kafka_topic_new(rk_.get(), topic_name_.c_str(), nullptr));
  if (!topic_) throw KafkaException("topic " + topic_name_ + ": " + rd_kafka_err2str(rd_kafka_last_error()));
}

BalanceSender::~BalanceSender() {
  try {
    if (rk_) close(std::chrono::seconds(10));
  } catch (...) {
    // A destructor must not throw; close() only logs.
  }
}

std::optional<std::string> BalanceSender::check_broker(std::chrono::milliseconds timeout) {
  // A topic created a moment ago can be unknown to the broker's metadata for a moment more (seen in
  // CI: created, its leader listed, then "Unknown topic" to the next client): asked again for up to
  // kUnknownTopicGrace (or `timeout`, if shorter) before it is called missing.
  constexpr std::chrono::milliseconds kUnknownTopicGrace{3000}, kRetry{200};
  const auto give_up = std::chrono::steady_clock::now() + std::min(timeout, kUnknownTopicGrace);
  Metadata md(nullptr);
  while (true) {
    const rd_kafka_metadata_t* raw = nullptr;
    const rd_kafka_resp_err_t err =
        rd_kafka_metadata(rk_.get(), 0, topic_.get(), &raw, static_cast<int>(timeout.count()));
    md.reset(raw);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return "cannot reach Kafka at " + bootstrap_ + " within " + seconds_text(timeout) + " (" +
             rd_kafka_err2str(err) + ")";
    }
    const bool unknown = md->topic_cnt < 1 || md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
    if (!unknown || std::chrono::steady_clock::now() + kRetry > give_up) break;
    std::this_thread::sleep_for(kRetry);
  }
  if (md->topic_cnt < 1 || md->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    rd_kafka_resp_err_t terr = md->topic_cnt < 1 ? RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART : md->topics[0].err;
    return "topic '" + topic_name_ + "' is not available at " + bootstrap_ + ": " + rd_kafka_err2str(terr) +
           " (topics are not auto-created: run saldo_admin create-topic)";
  }
  if (rd_kafka_resp_err_t lerr = wait_for_partition_leaders(rk_.get(), topic_name_, md->topics[0].partition_cnt, timeout);
      lerr != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return "topic '" + topic_name_ + "' has partitions without a serving leader at " + bootstrap_ + " within " +
           seconds_text(timeout) + " (" + rd_kafka_err2str(lerr) + ")";
  }
  // A balance topic that is not compacted loses customers to retention: say so, but still send (the
  // user may know better; the service says it too).
  try {
    const TopicConfig config = describe_topic(rk_.get(), topic_name_, timeout);
    if (!config.compacted()) {
      spdlog::warn("topic '{}' has cleanup.policy={}, not compact: retention will drop customers from the table",
                   topic_name_, config.get("cleanup.policy"));
    }
  } catch (const KafkaException& e) {
    spdlog::warn("cannot check the topic's cleanup.policy: {}", e.what());
  }
  return std::nullopt;
}

bool BalanceSender::produce(std::string_view key, const std::string* value, void* opaque) {
  for (;;) {
    if (fatal_.load()) {
      ++failed_;
      return false;
    }
    // RD_KAFKA_MSG_F_COPY: key and value live in buffers reused for the next record.
    rd_kafka_resp_err_t err =
        rd_kafka_producev(rk_.get(), RD_KAFKA_V_RKT(topic_.get()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                          RD_KAFKA_V_VALUE(value ? const_cast<char*>(value->data()) : nullptr, value ? value->size() : 0),
                          RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++sent_;
      return true;
    }
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk_.get(), 50);
      continue;
    }
    spdlog::error("cannot queue record for {}: {}", key, rd_kafka_err2str(err));
    ++failed_;
    return false;
  }
}

bool BalanceSender::send(const BalanceUpdate& update) {
  encode_update_into(value_buf_, update);
  return produce(update.cliente_id, &value_buf_, nullptr);
}

bool BalanceSender::send_tombstone(std::string_view cliente_id) { return produce(cliente_id, nullptr, nullptr); }

Delivery BalanceSender::send_and_wait(std::string_view cliente_id, const std::optional<std::string>& value,
                                      std::chrono::milliseconds timeout) {
  Waiter waiter;
  if (!produce(cliente_id, value ? &*value : nullptr, &waiter)) {
    waiter.delivery.error = fatal_error().value_or("could not queue the record");
    return waiter.delivery;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!waiter.done) {
    if (std::chrono::steady_clock::now() >= deadline) {
      // The report still arrives later and must not write into this stack frame: purge and wait for it.
      rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      while (!waiter.done) rd_kafka_poll(rk_.get(), 100);
      waiter.delivery.ok = false;
      waiter.delivery.error = "no acknowledgement from " + bootstrap_ + " within " + seconds_text(timeout);
      break;
    }
    rd_kafka_poll(rk_.get(), 50);
  }
  return waiter.delivery;
}

void BalanceSender::poll(std::chrono::milliseconds wait) { rd_kafka_poll(rk_.get(), static_cast<int>(wait.count())); }

bool BalanceSender::flush(std::chrono::milliseconds timeout) {
  rd_kafka_flush(rk_.get(), static_cast<int>(timeout.count()));
  return rd_kafka_outq_len(rk_.get()) == 0;
}

std::size_t BalanceSender::in_flight() const {
  return static_cast<std::size_t>(rd_kafka_outq_len(rk_.get()));
}

SendStats BalanceSender::stats() const { return {sent_.load(), delivered_.load(), failed_.load()}; }

std::optional<std::string> BalanceSender::fatal_error() const {
  if (!fatal_.load()) return std::nullopt;
  char errstr[512];
  rd_kafka_resp_err_t err = rd_kafka_fatal_error(rk_.get(), errstr, sizeof errstr);
  return std::string(rd_kafka_err2name(err)) + ": " + errstr;
}

void BalanceSender::close(std::chrono::milliseconds timeout) {
  if (!rk_) return;
  if (!flush(timeout)) {
    spdlog::warn("{} record(s) still unacknowledged after {}; dropping them", in_flight(), seconds_text(timeout));
    rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_flush(rk_.get(), 1000);  // serves the purged records' reports (counted as failed)
  }
  topic_.reset();
  rk_.reset();
}

void BalanceSender::on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  try {
    auto* self = static_cast<BalanceSender*>(opaque);
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      ++self->delivered_;
    } else {
      std::uint64_t n = ++self->failed_;
      // The first failures say why; after that, one line in a thousand is enough.
      if (n <= 5 || n % 1000 == 0) {
        spdlog::warn("delivery failed ({} so far): {}", n, rd_kafka_err2str(msg->err));
      }
    }
    if (msg->_private != nullptr) {
      auto* waiter = static_cast<Waiter*>(msg->_private);
      waiter->delivery.ok = msg->err == RD_KAFKA_RESP_ERR_NO_ERROR;
      waiter->delivery.partition = msg->partition;
      waiter->delivery.offset = msg->offset;
      if (!waiter->delivery.ok) waiter->delivery.error = rd_kafka_err2str(msg->err);
      waiter->done = true;
    }
  } catch (...) {
    // Never let an exception cross librdkafka's C frames.
  }
}

void BalanceSender::on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  try {
    auto* self = static_cast<BalanceSender*>(opaque);
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      self->fatal_.store(true);
      char errstr[512];
      rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, errstr, sizeof errstr);
      spdlog::error("fatal producer error: {}: {}", rd_kafka_err2name(orig), errstr);
      return;
    }
    spdlog::warn("kafka ({}): {}", self->bootstrap_, reason);
  } catch (...) {
  }
}

void BalanceSender::on_log(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  try {
    // Problems already arrive through on_error; librdkafka's own lines are detail for --log-level debug.
    spdlog::log(level <= 4 ? spdlog::level::debug : spdlog::level::trace, "rdkafka {}: {}", fac, buf);
  } catch (...) {
  }
}

std::unique_ptr<BalanceSender> open_sender(KafkaOptions kafka, Preset preset, std::chrono::milliseconds timeout) {
  KeyValues props = preset_properties(preset);
  props.emplace_back("message.timeout.ms", std::to_string(timeout.count()));
  props.insert(props.end(), kafka.properties.begin(), kafka.properties.end());
  kafka.properties = std::move(props);

  auto sender = std::make_unique<BalanceSender>(kafka);
  if (auto problem = sender->check_broker(timeout)) throw KafkaException(*problem);
  return sender;
}

}  // namespace saldo
