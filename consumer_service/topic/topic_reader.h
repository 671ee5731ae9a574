#pragma once
// Reading one compacted topic with librdkafka, for every reader of it (the in-memory table and the
// PostgreSQL sink): a consumer from the reader's defaults plus the user's -X properties, waiting for
// the topic, assigning every partition from given positions (no group, no commits), polling a batch
// as views into librdkafka's messages, watching the topic for partitions added or a reset, and a
// bounded close. What a reader does with the records, and where it keeps its positions, is its own.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "common/config.h"
#include "common/kafka_handles.h"
#include "common/watermark_query.h"
#include "common/worker_thread.h"
#include "consumer_service/topic/direct_catch_up.h"
#include "consumer_service/topic/end_offset_probe.h"
#include "consumer_service/topic/record_fingerprint.h"
#include "consumer_service/topic/topic_change.h"
#include "consumer_service/topic/topic_record.h"

namespace saldo {

// How the topic and the broker look to the reader. Called on the reader's thread (what they throw
// comes out of the reader's call), except on_client_error and on_statistics: librdkafka's threads,
// only with client_callbacks, and they must not throw. Every method has a default that does nothing.
class TopicListener {
 public:
  virtual ~TopicListener() = default;
  virtual void on_topic_missing(bool /*missing*/) {}
  virtual void on_broker_unreachable(const std::string& /*why*/) {}
  // Why the broker refuses us, or empty when it answers again.
  virtual void on_access_error(const std::string& /*why*/) {}
  // Whether the broker refuses us for any reason the listener knows of (e.g. failed authentication):
  // then a missing answer is not worth a "retrying" line of its own.
  virtual bool access_refused() const { return false; }
  // A message of the batch that carries an error instead of a record (not an end of partition).
  virtual void on_consume_error(rd_kafka_resp_err_t /*err*/, const char* /*text*/) {}
  // Where a partition ends as the broker said at `asked_at` (end_offset_probe.h): its last stable
  // offset and its high watermark. From the watch, once per new answer (about once a second).
  virtual void on_end_offsets(std::int32_t /*partition*/, std::int64_t /*stable*/, std::int64_t /*high*/,
                              std::chrono::steady_clock::time_point /*asked_at*/) {}
  // librdkafka's error and statistics callbacks.
  virtual void on_client_error(int /*err*/, const char* /*reason*/) noexcept {}
  virtual void on_statistics(std::string_view /*json*/) noexcept {}
};

struct TopicReaderSettings {
  KafkaOptions kafka;            // the topic, the brokers and the user's -X properties (which win)
  KeyValues defaults;            // the reader's consumer properties, before the user's
  TopicListener* listener = nullptr;  // must outlive close()
  bool client_callbacks = false;  // route librdkafka's error and statistics callbacks to the listener
  bool log_waits = true;          // log "topic does not exist yet" and metadata retries
  std::size_t max_batch = 10000;  // messages per poll
  // assign_catching_up() reads with the direct catch-up (direct_catch_up.h) first, where the
  // connection is plaintext; false: always librdkafka.
  bool direct_catch_up = false;
};

class CompactedTopicReader {
 public:
  // The position function of a reader: the next offset of a partition (< 0: nothing read).
  using Positions = std::function<std::int64_t(std::int32_t)>;

  // Creates the consumer (throws ConfigError/KafkaException on a bad configuration). Its waits end
  // when `worker` is asked to stop.
  CompactedTopicReader(TopicReaderSettings settings, WorkerThread& worker);
  ~CompactedTopicReader();
  CompactedTopicReader(const CompactedTopicReader&) = delete;
  CompactedTopicReader& operator=(const CompactedTopicReader&) = delete;

  const std::string& topic() const noexcept { return topic_; }
  rd_kafka_t* handle() const noexcept;
  // The value in force of a consumer property (the last of defaults and -X), or nullopt.
  std::optional<std::string> setting(std::string_view name) const;
  std::string cluster_id();

  // The partition count: > 0, 0 when the topic does not exist, -1 when the broker did not answer
  // (reported to the listener as unreachable or as an access error).
  int partition_count();
  // Waits until the topic exists with its partitions; nullopt when stopping.
  std::optional<int> wait_for_topic();
  // The watermarks of partitions [from, to) (watermark_query.h), retried until they come; nullopt
  // when stopping.
  std::optional<std::vector<PartitionMarks>> read_watermarks(int from, int to);
  // Watermarks librdkafka has from its fetches (nullopt: none yet), or asked of the broker (throws).
  std::optional<PartitionMarks> cached_watermarks(std::int32_t partition) const;
  PartitionMarks query_watermarks(std::int32_t partition, int timeout_ms) const;

  // Assigns partitions [0, partitions) at `position(p)`, or at the beginning when negative (throws).
  // The end-offset probe asks about the same partitions from then on, until close().
  void assign(std::int32_t partitions, const Positions& position);
  // Only `subset` of the topic's `partitions` (sharded mode: what this instance holds); replaces the
  // assignment, so a partition left out stops being fetched.
  void assign(std::int32_t partitions, std::span<const std::int32_t> subset, const Positions& position);
  // Each partition's end as the broker said last (asked about once a second from the first assign(),
  // whatever the reader is doing, failing included).
  const EndOffsetProbe& end_offsets() const noexcept { return *probe_; }
  // assign(), but each partition of `subset` behind its `until` mark is first read up to it by the
  // direct catch-up (settings.direct_catch_up, plaintext only), whose records poll() hands over
  // like librdkafka's; librdkafka is assigned where the catch-up ends. Any later assign(),
  // unassign() or close() drops a catch-up still running (the caller's positions then say where to
  // read from).
  void assign_catching_up(std::int32_t partitions, std::span<const std::int32_t> subset, const Positions& position,
                          std::span<const PartitionMarks> until);
  // Partitions [0, partitions).
  void assign_catching_up(std::int32_t partitions, const Positions& position, std::span<const PartitionMarks> until);
  bool catching_up() const noexcept { return catch_up_ != nullptr; }
  void unassign();

  // The first record at or after `offsets[p]` of each partition p with offsets[p] >= 0, as a
  // fingerprint (nullopt: none came within `timeout`, or the partition ended before one). Assigns
  // those partitions for the question and unassigns them after: call it before assign().
  std::vector<std::optional<RecordFingerprint>> fingerprints_at(const std::vector<std::int64_t>& offsets,
                                                                std::chrono::milliseconds timeout);

  // Waits up to `timeout` for the first message, then takes what is already queued, up to
  // max_batch; the previous batch's messages are released first. Returns how many messages came
  // (records, ends and errors).
  std::size_t poll(std::chrono::milliseconds timeout);
  std::span<const TopicRecord> records() const noexcept { return current_; }
  std::span<const PartitionEnd> ends() const noexcept { return ends_; }
  // Gives the batch's messages back to librdkafka; records() views are invalid after.
  void release() noexcept;
  int queue_length() const;

  // Between batches: each new answer of the end-offset probe to the listener; once a second the
  // watermarks librdkafka knows against `position` (a reset); once every five seconds the partition
  // count against `partitions`.
  TopicChange watch(std::int32_t partitions, const Positions& position);
  // The same questions asked of the broker now, for positions kept elsewhere (throws when unanswered).
  TopicChange check(std::int32_t partitions, const Positions& position);

  // Closes the consumer, waiting at most `bound`: librdkafka 2.0.2 can hang in close/destroy after a
  // topic was deleted and recreated under the consumer; it is then left to finish on its own thread.
  void close(std::chrono::milliseconds bound = std::chrono::seconds(2));

  struct Shared;

 private:
  std::string topic_;
  TopicReaderSettings settings_;
  WorkerThread& worker_;
  std::shared_ptr<Shared> shared_;  // with librdkafka's callbacks and a close that outlives us
  KafkaQueue queue_;  // the consumer queue, before close
  std::vector<rd_kafka_message_t*> messages_;
  std::size_t held_ = 0;
  std::vector<TopicRecord> records_;
  std::span<const TopicRecord> current_;  // the batch: records_, or a slice of the catch-up's chunk
  std::vector<PartitionEnd> ends_;
  // The direct catch-up while it runs: its chunk being handed over, how far, and each partition's
  // position before it (where a partition it could not start reads from).
  std::unique_ptr<DirectCatchUp> catch_up_;
  CatchUpChunk* chunk_ = nullptr;
  std::size_t chunk_at_ = 0;
  std::vector<std::pair<std::int32_t, std::int64_t>> catch_up_start_;
  std::int32_t catch_up_partitions_ = 0;
  std::chrono::steady_clock::time_point catch_up_began_;
  std::uint64_t caught_up_records_ = 0;
  std::string last_access_error_;
  std::chrono::steady_clock::time_point last_watermarks_, last_metadata_;
  std::unique_ptr<EndOffsetProbe> probe_;
  std::uint64_t probe_generation_ = 0;  // the probe's last answer handed to the listener

  std::size_t poll_catch_up(std::chrono::milliseconds timeout);
  void hand_over();  // the catch-up ended: librdkafka from where it stopped
  void drop_catch_up() noexcept;
  void assign_now(std::int32_t partitions, std::span<const std::pair<std::int32_t, std::int64_t>> positions);
  std::optional<std::map<std::int32_t, BrokerAddress>> leaders();
};

}  // namespace saldo
