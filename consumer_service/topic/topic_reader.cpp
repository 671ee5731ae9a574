#include "consumer_service/topic/topic_reader.h"

#include <algorithm>
#include <charconv>
#include <future>
#include <mutex>
#include <thread>
#include <utility>

#include <spdlog/spdlog.h>

#include "common/topic_config.h"

namespace saldo {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::chrono::milliseconds kRetryDelay{1000};
constexpr int kMetadataTimeoutMs = 1500;  // bounds how long a stop can wait on a dead broker
constexpr auto kWatermarkInterval = std::chrono::seconds(1);
constexpr auto kMetadataInterval = std::chrono::seconds(5);  // partitions added are found within this
constexpr std::chrono::milliseconds kEndOffsetInterval{1000};

}  // namespace

// What librdkafka's callbacks and a close left running may still reach after the reader is gone.
struct CompactedTopicReader::Shared {
  KafkaHandle rk;
  std::mutex mutex;                    // held while a callback calls the listener
  TopicListener* listener = nullptr;  // null once closing: callbacks then do nothing

  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque) noexcept {
    try {
      auto* self = static_cast<Shared*>(opaque);
      std::lock_guard lock(self->mutex);
      if (self->listener != nullptr) self->listener->on_client_error(err, reason);
    } catch (...) {
    }
  }

  static int on_stats(rd_kafka_t*, char* json, std::size_t len, void* opaque) noexcept {
    try {
      auto* self = static_cast<Shared*>(opaque);
      std::lock_guard lock(self->mutex);
      if (self->listener != nullptr) self->listener->on_statistics(std::string_view(json, len));
    } catch (...) {
    }
    return 0;  // librdkafka frees the JSON
  }
};

CompactedTopicReader::CompactedTopicReader(TopicReaderSettings settings, WorkerThread& worker)
    : topic_(settings.kafka.topic),
      settings_(std::move(settings)),
      worker_(worker),
      shared_(std::make_shared<Shared>()),
      messages_(std::max<std::size_t>(settings_.max_batch, 1)) {
  static TopicListener silent;
  if (settings_.listener == nullptr) settings_.listener = &silent;
  KafkaOptions with_defaults = settings_.kafka;
  with_defaults.properties = settings_.defaults;
  with_defaults.properties.insert(with_defaults.properties.end(), settings_.kafka.properties.begin(),
                                  settings_.kafka.properties.end());
  KafkaConf conf = make_kafka_conf(with_defaults);
  shared_->listener = settings_.listener;
  if (settings_.client_callbacks) {
    rd_kafka_conf_set_opaque(conf.get(), shared_.get());
    rd_kafka_conf_set_error_cb(conf.get(), &Shared::on_error);
    rd_kafka_conf_set_stats_cb(conf.get(), &Shared::on_stats);
  }
  shared_->rk = make_kafka_handle(RD_KAFKA_CONSUMER, std::move(conf));
  queue_.reset(rd_kafka_queue_get_consumer(shared_->rk.get()));
  probe_ = std::make_unique<EndOffsetProbe>(shared_->rk.get(), std::move(with_defaults), kEndOffsetInterval);
  last_watermarks_ = last_metadata_ = Clock::now();
}

CompactedTopicReader::~CompactedTopicReader() {
  try {
    close();
  } catch (...) {
  }
}

rd_kafka_t* CompactedTopicReader::handle() const noexcept { return shared_ ? shared_->rk.get() : nullptr; }

std::optional<std::string> CompactedTopicReader::setting(std::string_view name) const {
  std::optional<std::string> out;
  for (const KeyValues* list : {&settings_.defaults, &settings_.kafka.properties}) {
    for (const auto& [key, value] : *list) {
      if (key == name) out = value;
    }
  }
  return out;
}

std::string CompactedTopicReader::cluster_id() {
  char* id = rd_kafka_clusterid(handle(), kMetadataTimeoutMs);
  std::string out = id != nullptr ? id : "";
  if (id != nullptr) rd_kafka_mem_free(handle(), id);
  return out;
}

int CompactedTopicReader::partition_count() {
  TopicListener& listener = *settings_.listener;
  const TopicPartitions t = query_partitions(handle(), topic_, kMetadataTimeoutMs);
  if (t.request_error) {
    listener.on_broker_unreachable(rd_kafka_err2str(t.request_error));
    return -1;
  }
  if (t.topic_error && t.topic_error != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
    // Why the broker refuses us (e.g. no Describe on the topic), once per cause.
    const std::string why = "topic '" + topic_ + "': " + rd_kafka_err2str(t.topic_error);
    if (why != last_access_error_ && settings_.log_waits) spdlog::error("{}; retrying", why);
    last_access_error_ = why;
    listener.on_access_error(why);
    return -1;
  }
  if (t.count() <= 0) return t.count();  // no such topic, or not in the answer
  last_access_error_.clear();
  listener.on_access_error("");
  return t.count();
}

std::optional<int> CompactedTopicReader::wait_for_topic() {
  bool said_missing = false;
  while (!worker_.stopping()) {
    const int n = partition_count();
    if (n > 0) {
      settings_.listener->on_topic_missing(false);
      return n;
    }
    if (n == 0) {
      settings_.listener->on_topic_missing(true);
      if (!said_missing && settings_.log_waits) spdlog::warn("topic '{}' does not exist yet; waiting for it", topic_);
      said_missing = true;
    } else if (last_access_error_.empty() && !settings_.listener->access_refused() && settings_.log_waits) {
      spdlog::warn("no metadata for topic '{}' yet; retrying", topic_);
    }
    rd_kafka_poll(handle(), 0);  // serves the error callback: why the broker refuses us
    if (!worker_.pause(kRetryDelay)) return std::nullopt;
  }
  return std::nullopt;
}

std::optional<std::vector<PartitionMarks>> CompactedTopicReader::read_watermarks(int from, int to) {
  while (!worker_.stopping()) {
    WatermarkAnswer answer = ask_watermarks(handle(), topic_, from, to, kMetadataTimeoutMs);
    if (answer.error.empty()) return std::move(answer.marks);
    spdlog::warn("cannot read the watermarks of '{}': {}; retrying", topic_, answer.error);
    if (!worker_.pause(kRetryDelay)) return std::nullopt;
  }
  return std::nullopt;
}

std::optional<PartitionMarks> CompactedTopicReader::cached_watermarks(std::int32_t partition) const {
  std::int64_t low = -1, high = -1;
  if (rd_kafka_get_watermark_offsets(handle(), topic_.c_str(), partition, &low, &high) || high < 0) {
    return std::nullopt;
  }
  return PartitionMarks{partition, low, high};
}

PartitionMarks CompactedTopicReader::query_watermarks(std::int32_t partition, int timeout_ms) const {
  WatermarkAnswer answer = ask_watermarks(handle(), topic_, partition, partition + 1, timeout_ms);
  if (!answer.error.empty()) throw KafkaException("cannot read the watermarks: " + answer.error);
  return answer.marks.front();
}

namespace {
std::vector<std::int32_t> every_partition(std::int32_t partitions) {
  std::vector<std::int32_t> all(static_cast<std::size_t>(std::max(partitions, 0)));
  for (std::int32_t p = 0; p < partitions; ++p) all[static_cast<std::size_t>(p)] = p;
  return all;
}
}  // namespace

void CompactedTopicReader::assign(std::int32_t partitions, const Positions& position) {
  assign(partitions, every_partition(partitions), position);
}

void CompactedTopicReader::assign_catching_up(std::int32_t partitions, const Positions& position,
                                              std::span<const PartitionMarks> until) {
  assign_catching_up(partitions, every_partition(partitions), position, until);
}

void CompactedTopicReader::assign(std::int32_t partitions, std::span<const std::int32_t> subset,
                                  const Positions& position) {
  drop_catch_up();
  std::vector<std::pair<std::int32_t, std::int64_t>> positions;
  for (const std::int32_t p : subset) positions.emplace_back(p, position(p));
  assign_now(partitions, positions);
}

void CompactedTopicReader::assign_now(std::int32_t partitions,
                                      std::span<const std::pair<std::int32_t, std::int64_t>> positions) {
  const PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(std::max<std::size_t>(positions.size(), 1))));
  for (const auto& [p, next] : positions) {
    rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), p)->offset = next >= 0 ? next : RD_KAFKA_OFFSET_BEGINNING;
  }
  if (const auto err = rd_kafka_assign(handle(), list.get())) {
    throw KafkaException(std::string("cannot assign the partitions: ") + rd_kafka_err2str(err), err);
  }
  probe_->watch(partitions);
}

std::optional<std::map<std::int32_t, BrokerAddress>> CompactedTopicReader::leaders() {
  const KafkaTopic rkt(rd_kafka_topic_new(handle(), topic_.c_str(), nullptr));
  const rd_kafka_metadata_t* md = nullptr;
  if (!rkt || rd_kafka_metadata(handle(), 0, rkt.get(), &md, kMetadataTimeoutMs) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return std::nullopt;
  }
  std::map<std::int32_t, BrokerAddress> out;
  for (int t = 0; t < md->topic_cnt; ++t) {
    const rd_kafka_metadata_topic_t& topic = md->topics[t];
    if (topic.err || topic_ != topic.topic) continue;
    for (int i = 0; i < topic.partition_cnt; ++i) {
      const rd_kafka_metadata_partition_t& p = topic.partitions[i];
      for (int b = 0; b < md->broker_cnt && !p.err; ++b) {
        if (md->brokers[b].id == p.leader) out[p.id] = {md->brokers[b].host, md->brokers[b].port};
      }
    }
  }
  rd_kafka_metadata_destroy(md);
  return out;
}

void CompactedTopicReader::assign_catching_up(std::int32_t partitions, std::span<const std::int32_t> subset,
                                              const Positions& position, std::span<const PartitionMarks> until) {
  drop_catch_up();
  const std::string protocol = setting("security.protocol").value_or("plaintext");
  const bool plaintext = protocol == "plaintext" || protocol == "PLAINTEXT";
  std::vector<std::pair<std::int32_t, std::int64_t>> start;
  std::vector<CatchUpPartition> ranges;
  std::int64_t behind = 0;
  for (const std::int32_t p : subset) {
    const std::int64_t next = position(p);
    start.emplace_back(p, next);
    const auto marks = std::find_if(until.begin(), until.end(), [&](const PartitionMarks& m) { return m.partition == p; });
    if (marks == until.end()) continue;
    const std::int64_t from = next >= 0 ? next : marks->low;
    ranges.push_back({p, from, marks->high});
    behind += std::max<std::int64_t>(marks->high - from, 0);
  }
  std::optional<std::map<std::int32_t, BrokerAddress>> found;
  if (settings_.direct_catch_up && plaintext && behind > 0) found = leaders();
  if (!found) {
    if (settings_.direct_catch_up && behind > 0) {
      spdlog::info("'{}': reading with librdkafka only ({})", topic_,
                   plaintext ? "no partition leaders in the metadata" : "security.protocol " + protocol +
                   ": the direct catch-up speaks plaintext only");
    }
    assign_now(partitions, start);
    return;
  }
  // The fetch sizes and wait in force for librdkafka (the reader's defaults, then -X) hold here too.
  const auto number = [&](const char* name, std::int32_t fallback) {
    const std::optional<std::string> text = setting(name);
    std::int32_t v = 0;
    if (!text || std::from_chars(text->data(), text->data() + text->size(), v).ec != std::errc{} || v <= 0) return fallback;
    return v;
  };
  DirectCatchUp::Settings catch_up{.topic = topic_, .client_id = setting("client.id").value_or("saldo") + "-catch-up"};
  catch_up.limits.max_bytes = number("fetch.max.bytes", catch_up.limits.max_bytes);
  catch_up.limits.partition_max_bytes = number("max.partition.fetch.bytes", catch_up.limits.partition_max_bytes);
  catch_up.limits.max_wait_ms = number("fetch.wait.max.ms", catch_up.limits.max_wait_ms);
  catch_up_ = std::make_unique<DirectCatchUp>(std::move(catch_up), std::move(ranges), std::move(*found));
  catch_up_start_ = std::move(start);
  catch_up_partitions_ = partitions;
  catch_up_began_ = Clock::now();
  caught_up_records_ = 0;
  probe_->watch(partitions);
  spdlog::info("'{}': reading up to {} records of partitions {} with Fetch requests of its own (the direct "
               "catch-up); librdkafka from where it ends",
               topic_, behind, [&] {
                 std::string text;
                 for (const auto& [p, next] : catch_up_start_) text += (text.empty() ? "" : ",") + std::to_string(p);
                 return text;
               }());
}

std::size_t CompactedTopicReader::poll_catch_up(std::chrono::milliseconds timeout) {
  if (chunk_ == nullptr) {
    chunk_ = catch_up_->take(timeout);
    chunk_at_ = 0;
  }
  if (chunk_ == nullptr) {
    if (catch_up_->done()) hand_over();
    return 0;
  }
  const std::size_t n = std::min(settings_.max_batch, chunk_->records.size() - chunk_at_);
  current_ = std::span<const TopicRecord>(chunk_->records).subspan(chunk_at_, n);
  chunk_at_ += n;
  caught_up_records_ += n;
  return n;
}

void CompactedTopicReader::hand_over() {
  const std::vector<DirectCatchUp::Outcome> outcome = catch_up_->outcome();
  const double seconds = std::chrono::duration<double>(Clock::now() - catch_up_began_).count();
  drop_catch_up();
  std::vector<std::pair<std::int32_t, std::int64_t>> positions = std::move(catch_up_start_);
  std::string stops;
  for (auto& [p, next] : positions) {
    const auto o = std::find_if(outcome.begin(), outcome.end(), [&](const auto& x) { return x.partition == p; });
    if (o == outcome.end()) continue;
    // Where the catch-up got to. One it could not start is assigned where it would have started:
    // its position, or for "the beginning" the log start offset the rebuild began from (should that
    // have moved since, librdkafka's auto.offset.reset=earliest takes it to the new start).
    if (o->next > next) next = o->next;
    if (!o->stopped.empty()) stops += fmt::format("; partition {} at offset {}: {}", p, o->next, o->stopped);
  }
  assign_now(catch_up_partitions_, positions);
  spdlog::info("'{}': the direct catch-up read {} records in {:.3f} s; librdkafka reads on from there{}", topic_,
               caught_up_records_, seconds, stops);
}

void CompactedTopicReader::drop_catch_up() noexcept {
  if (!catch_up_) return;
  current_ = {};
  catch_up_->give_back(std::exchange(chunk_, nullptr));
  catch_up_.reset();
}

void CompactedTopicReader::unassign() {
  release();
  drop_catch_up();
  rd_kafka_assign(handle(), nullptr);
  last_watermarks_ = last_metadata_ = Clock::now();
}

std::vector<std::optional<RecordFingerprint>> CompactedTopicReader::fingerprints_at(
    const std::vector<std::int64_t>& offsets, std::chrono::milliseconds timeout) {
  std::vector<std::optional<RecordFingerprint>> out(offsets.size());
  std::vector<char> open(offsets.size(), 0);
  std::size_t wanted = 0;
  const PartitionList list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (std::size_t p = 0; p < offsets.size(); ++p) {
    if (offsets[p] < 0) continue;
    rd_kafka_topic_partition_list_add(list.get(), topic_.c_str(), static_cast<std::int32_t>(p))->offset = offsets[p];
    open[p] = 1;
    ++wanted;
  }
  if (wanted == 0) return out;
  if (const auto err = rd_kafka_assign(handle(), list.get())) {
    throw KafkaException(std::string("cannot assign the partitions: ") + rd_kafka_err2str(err), err);
  }
  const auto deadline = Clock::now() + timeout;
  const auto close_one = [&](std::int32_t p) {
    open[static_cast<std::size_t>(p)] = 0;
    --wanted;
  };
  while (wanted > 0 && !worker_.stopping() && Clock::now() < deadline) {
    poll(std::chrono::milliseconds(100));
    for (const TopicRecord& r : records()) {
      if (r.partition < 0 || static_cast<std::size_t>(r.partition) >= offsets.size() || !open[r.partition]) continue;
      if (r.offset < offsets[static_cast<std::size_t>(r.partition)]) continue;
      out[static_cast<std::size_t>(r.partition)] = fingerprint_of(r);
      close_one(r.partition);
    }
    for (const PartitionEnd& e : ends_) {
      if (e.partition >= 0 && static_cast<std::size_t>(e.partition) < offsets.size() && open[e.partition]) {
        close_one(e.partition);
      }
    }
  }
  unassign();
  return out;
}

std::size_t CompactedTopicReader::poll(std::chrono::milliseconds timeout) {
  release();
  rd_kafka_poll(handle(), 0);  // serves the error and statistics callbacks
  if (catch_up_) return poll_catch_up(timeout);
  // Block for the first message only, then take what is already queued: the batch call waits out
  // its whole timeout unless the batch fills, which would delay every update while tailing.
  if (rd_kafka_message_t* first = rd_kafka_consume_queue(queue_.get(), static_cast<int>(timeout.count()))) {
    messages_[0] = first;
    const ssize_t more = rd_kafka_consume_batch_queue(queue_.get(), 0, messages_.data() + 1, messages_.size() - 1);
    held_ = 1 + static_cast<std::size_t>(std::max<ssize_t>(more, 0));
  }
  for (std::size_t i = 0; i < held_; ++i) {
    const rd_kafka_message_t* m = messages_[i];
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      ends_.push_back({m->partition, m->offset});
      continue;
    }
    if (m->err) {
      settings_.listener->on_consume_error(m->err, rd_kafka_message_errstr(m));
      continue;
    }
    TopicRecord& r = records_.emplace_back();
    r.partition = m->partition;
    r.offset = m->offset;
    r.timestamp_ms = rd_kafka_message_timestamp(m, nullptr);
    if (m->key) r.key.emplace(static_cast<const char*>(m->key), m->key_len);
    if (m->payload) r.value.emplace(static_cast<const char*>(m->payload), m->len);
  }
  current_ = records_;
  return held_;
}

void CompactedTopicReader::release() noexcept {
  for (std::size_t i = 0; i < held_; ++i) rd_kafka_message_destroy(messages_[i]);
  held_ = 0;
  records_.clear();
  ends_.clear();
  current_ = {};
  if (chunk_ != nullptr && chunk_at_ == chunk_->records.size()) catch_up_->give_back(std::exchange(chunk_, nullptr));
}

int CompactedTopicReader::queue_length() const { return static_cast<int>(rd_kafka_queue_length(queue_.get())); }

TopicChange CompactedTopicReader::watch(std::int32_t partitions, const Positions& position) {
  if (probe_->generation() != probe_generation_) {
    if (const auto ends = probe_->latest()) {
      probe_generation_ = ends->generation;
      const auto asked = static_cast<std::int32_t>(ends->stable.size());
      for (std::int32_t p = 0; p < std::min(partitions, asked); ++p) {
        settings_.listener->on_end_offsets(p, ends->stable[static_cast<std::size_t>(p)],
                                           ends->high[static_cast<std::size_t>(p)], ends->asked_at);
      }
    }
  }
  const auto now = Clock::now();
  if (now - last_watermarks_ >= kWatermarkInterval) {
    last_watermarks_ = now;
    for (std::int32_t p = 0; p < partitions; ++p) {
      const auto marks = cached_watermarks(p);
      if (!marks) continue;
      if (auto change = log_change(topic_, p, position(p), marks->low, marks->high)) return change;
    }
  }
  if (now - last_metadata_ >= kMetadataInterval) {
    last_metadata_ = now;
    return partition_count_change(topic_, partition_count(), partitions);
  }
  return TopicChange::none();
}

TopicChange CompactedTopicReader::check(std::int32_t partitions, const Positions& position) {
  for (std::int32_t p = 0; p < partitions; ++p) {
    if (position(p) < 0) continue;
    const PartitionMarks marks = query_watermarks(p, kMetadataTimeoutMs);
    if (auto change = log_change(topic_, p, position(p), marks.low, marks.high)) return change;
  }
  return TopicChange::none();
}

void CompactedTopicReader::close(std::chrono::milliseconds bound) {
  if (!shared_ || !shared_->rk) return;
  probe_->stop();  // it asks with our consumer too
  release();
  drop_catch_up();
  queue_.reset();
  {
    std::lock_guard lock(shared_->mutex);
    shared_->listener = nullptr;
  }
  // No group and no commits: closing only stops the fetchers. librdkafka 2.0.2 can hang in
  // rd_kafka_destroy() after a topic was deleted and recreated under the consumer (its broker thread
  // never lets go of the vanished partitions): bounded here, the process exits anyway. The closing
  // thread keeps the shared state alive, since librdkafka's threads may still call its callbacks.
  auto closed = std::make_shared<std::promise<void>>();
  std::future<void> done = closed->get_future();
  std::thread([shared = shared_, closed] {
    rd_kafka_consumer_close(shared->rk.get());
    shared->rk.reset();
    closed->set_value();
  }).detach();
  if (done.wait_for(bound) == std::future_status::timeout) {
    spdlog::warn("the Kafka consumer did not close within {:g} s (librdkafka 2.0.2 after a recreated topic); exiting "
                 "without waiting for it",
                 std::chrono::duration<double>(bound).count());
  }
  shared_.reset();
}

}  // namespace saldo
