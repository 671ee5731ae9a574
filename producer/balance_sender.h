#pragma once
// The Kafka side of both producers: one idempotent librdkafka producer for one topic, records keyed
// by cliente_id, delivery reports counted. Per-record outcomes are values; only setup throws.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/codec.h"
#include "common/config.h"
#include "common/kafka_handles.h"
#include "producer/presets.h"

namespace saldo {

struct Delivery {
  bool ok = false;
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  std::string error;  // when !ok
};

struct SendStats {
  std::uint64_t sent = 0;       // queued in librdkafka
  std::uint64_t delivered = 0;  // acknowledged by the broker
  std::uint64_t failed = 0;     // delivery failed, or could not be queued
};

class BalanceSender {
 public:
  // `kafka.properties` should start with preset_properties(); throws ConfigError/KafkaException.
  explicit BalanceSender(const KafkaOptions& kafka);
  ~BalanceSender();
  BalanceSender(const BalanceSender&) = delete;
  BalanceSender& operator=(const BalanceSender&) = delete;

  // Asks the broker for the topic's metadata. nullopt when it answered and the topic exists;
  // otherwise a message that names the bootstrap servers.
  std::optional<std::string> check_broker(std::chrono::milliseconds timeout);

  // Queue one record, serving delivery reports while librdkafka's queue is full.
  // False when it could not be queued at all (counted as failed).
  bool send(const BalanceUpdate& update);
  bool send_tombstone(std::string_view cliente_id);

  // Sends one record and waits for its delivery report (the interactive prompt shows it).
  Delivery send_and_wait(std::string_view cliente_id, const std::optional<std::string>& value,
                         std::chrono::milliseconds timeout);

  void poll(std::chrono::milliseconds wait = std::chrono::milliseconds(0));
  // Waits until every queued record has a report or `timeout` passes; true when none is left.
  bool flush(std::chrono::milliseconds timeout);
  std::size_t in_flight() const;
  SendStats stats() const;
  // Set when the idempotent producer hit a fatal error: nothing more can be sent.
  std::optional<std::string> fatal_error() const;
  const std::string& bootstrap_servers() const { return bootstrap_; }
  const std::string& topic() const { return topic_name_; }

  // Flushes for up to `timeout`, then drops what is left (counted as failed) and destroys the handle.
  void close(std::chrono::milliseconds timeout);

 private:
  bool produce(std::string_view key, const std::string* value, void* opaque);
  static void on_delivery(rd_kafka_t* rk, const rd_kafka_message_t* msg, void* opaque);
  static void on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  static void on_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf);

  std::string bootstrap_;
  std::string topic_name_;
  KafkaHandle rk_;
  KafkaTopic topic_;
  std::string value_buf_;
  std::atomic<std::uint64_t> sent_{0};
  std::atomic<std::uint64_t> delivered_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<bool> fatal_{false};
};

// The sender both producers start with: `preset`'s properties, then message.timeout.ms = `timeout`,
// then the user's -X (so the user has the last word); then the broker check. Throws ConfigError when
// librdkafka refuses a property, KafkaException when the broker or the topic does not answer in time.
std::unique_ptr<BalanceSender> open_sender(KafkaOptions kafka, Preset preset, std::chrono::milliseconds timeout);

}  // namespace saldo
