#include "consumer_service/table/table_reader.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <malloc.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/kafka_handles.h"
#include "common/shutdown.h"
#include "common/topic_config.h"
#include "consumer_service/topic/consumer_settings.h"
#include "consumer_service/table/dead_letter.h"
#include "consumer_service/topic/fetcher_waker.h"
#include "consumer_service/topic/log_range.h"
#include "consumer_service/status/log_limiter.h"
#include "consumer_service/table/record_applier.h"
#include "consumer_service/snapshot/snapshot.h"
#include "consumer_service/snapshot/snapshot_writer.h"

namespace saldo {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kBatchSize = 10000;
constexpr std::chrono::milliseconds kBatchTimeout{100};
constexpr std::chrono::milliseconds kRetryDelay{1000};
constexpr int kMetadataTimeoutMs = 1500;  // bounds how long stop() can wait on a dead broker
constexpr auto kWatermarkInterval = std::chrono::seconds(1);
constexpr auto kMetadataInterval = std::chrono::seconds(5);  // partitions added are found within this
constexpr auto kPurgeInterval = std::chrono::seconds(10);

// Why the table must be rebuilt from offset 0, or nothing.
using ResetReason = std::optional<std::string>;

}  // namespace

struct TableReader::Impl {
  TableReaderOptions options;
  const std::string& topic = options.kafka.topic;
  BalanceStore& store;
  Readiness& readiness;
  Metrics& metrics;
  RecordApplier applier;

  KafkaHandle rk;
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::condition_variable wake;
  LogLimiter error_log{"Kafka error lines", 10, std::chrono::seconds(10)};  // librdkafka's threads: under `mutex`

  std::vector<TopicRecord> records;  // the batch, as views into librdkafka's messages
  std::vector<std::pair<std::int32_t, std::int64_t>> ends;  // the batch's end-of-partition events
  std::int64_t delete_retention_ms = -1;  // -1: unknown (then no snapshot is trusted)
  std::string cluster;
  bool first_session = true;
  // During a rebuild the reader empties librdkafka's prefetch queue in a fraction of a second and
  // librdkafka 2.0.2 would refill it only a second later (the queue went 500,000 -> 0 -> refilled
  // once a second: bench/notes/2026-11-23-rebuild-speed.md, "The rebuild's peak memory"): below
  // this many queued messages (half of queued.min.messages) the reader asks the FetcherWaker to
  // wake the broker threads, so the queue can stay small, which bounds the rebuild's peak memory.
  int refill_below = 0;

  Impl(TableReaderOptions o, BalanceStore& s, Readiness& r, Metrics& m)
      : options(std::move(o)), store(s), readiness(r), metrics(m), applier(s, r, m) {
    if (options.dead_letter != nullptr) {
      applier.on_invalid([this](const TopicRecord& rec, DecodeError why) {
        options.dead_letter->send(topic, rec.partition, rec.offset, rec.key ? rec.key->data() : nullptr,
                                  rec.key ? rec.key->size() : 0, rec.value ? rec.value->data() : nullptr,
                                  rec.value ? rec.value->size() : 0, why);
      });
    }
    create_consumer();
  }

  // Returns false when stopping.
  bool pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex);
    return !wake.wait_for(lock, d, [&] { return stopping.load(); });
  }

  void create_consumer() {
    KafkaOptions with_defaults = options.kafka;
    with_defaults.properties = table_consumer_defaults();
    // librdkafka 2.0.2's assign() refuses a consumer without group.id ("Unknown group"). The group
    // is never joined (no subscribe) and nothing is committed, so any name does; GROUP is used.
    with_defaults.properties.emplace_back("group.id",
                                          options.kafka.group.empty() ? "saldo-consumer-service" : options.kafka.group);
    with_defaults.properties.insert(with_defaults.properties.end(), options.kafka.properties.begin(),
                                    options.kafka.properties.end());
    for (const auto& [name, value] : with_defaults.properties) {
      // The last one is in force; a value librdkafka refuses is reported by make_kafka_conf below.
      int v = 0;
      if (name == "queued.min.messages" && std::from_chars(value.data(), value.data() + value.size(), v).ec == std::errc{}) {
        refill_below = v / 2;
      }
    }
    KafkaConf conf = make_kafka_conf(with_defaults);
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_error_cb(conf.get(), &Impl::on_error);
    rd_kafka_conf_set_stats_cb(conf.get(), &Impl::on_stats);
    rk = make_kafka_handle(RD_KAFKA_CONSUMER, std::move(conf));
  }

  static void on_error(rd_kafka_t*, int err, const char* reason, void* opaque) noexcept {
    try {
      auto* self = static_cast<Impl*>(opaque);
      self->metrics.broker_errors(1);
      if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) self->readiness.set_broker_reachable(false, reason);
      if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL) {
        self->readiness.set_access_error(reason);
      }
      std::lock_guard lock(self->mutex);
      if (self->error_log.allow()) {
        spdlog::warn("Kafka: {} ({}); still serving what is known and retrying", reason,
                     rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)));
      }
    } catch (...) {
    }
  }

  // librdkafka's statistics: the broker is reachable while any broker connection is UP.
  static int on_stats(rd_kafka_t*, char* json, std::size_t len, void* opaque) noexcept {
    try {
      auto* self = static_cast<Impl*>(opaque);
      const auto stats = nlohmann::json::parse(json, json + len, nullptr, false);
      if (stats.is_discarded() || !stats.contains("brokers")) return 0;
      bool up = false;
      for (const auto& [name, broker] : stats["brokers"].items()) {
        if (broker.value("state", "") == "UP") up = true;
      }
      const bool was = self->readiness.snapshot().broker_reachable;
      self->readiness.set_broker_reachable(up, up ? "" : "no broker connection is up");
      if (up && !was) spdlog::info("Kafka broker reachable again");
    } catch (...) {
    }
    return 0;  // librdkafka frees the JSON
  }

  // The topic's partition count: > 0, 0 when the topic does not exist, -1 when the broker did not answer.
  int partition_count() {
    const TopicPartitions t = query_partitions(rk.get(), topic, kMetadataTimeoutMs);
    if (t.request_error) {
      readiness.set_broker_reachable(false, rd_kafka_err2str(t.request_error));
      return -1;
    }
    if (t.topic_error && t.topic_error != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      // Why the broker refuses us (e.g. no Describe on the topic), once per cause, and in /ready.
      const std::string why = "topic '" + topic + "': " + rd_kafka_err2str(t.topic_error);
      if (why != readiness.snapshot().access_error) spdlog::error("{}; retrying", why);
      readiness.set_access_error(why);
      return -1;
    }
    if (t.count() <= 0) return t.count();  // no such topic, or not in the answer
    readiness.set_access_error("");
    return t.count();
  }

  // Waits until the topic exists with all its partitions; nullopt when stopping.
  std::optional<int> wait_for_topic() {
    bool said_missing = false;
    while (!stopping) {
      const int n = partition_count();
      if (n > 0) {
        readiness.set_topic_missing(false);
        return n;
      }
      if (n == 0) {
        readiness.set_topic_missing(true);
        if (!said_missing) spdlog::warn("topic '{}' does not exist yet; waiting for it", topic);
        said_missing = true;
      } else if (readiness.snapshot().access_error.empty()) {
        spdlog::warn("no metadata for topic '{}' yet; retrying", topic);
      }
      rd_kafka_poll(rk.get(), 0);  // serves the error callback: why the broker refuses us, for /ready
      if (!pause(kRetryDelay)) return std::nullopt;
    }
    return std::nullopt;
  }

  // A table needs a compacted topic: with cleanup.policy=delete, retention drops customers from
  // every future rebuild. Says so (log, /ready, /metrics), or refuses with --require-compacted.
  // Also learns delete.retention.ms, which bounds how old a trusted snapshot may be.
  void check_topic_config() {
    delete_retention_ms = -1;
    try {
      const TopicConfig config = describe_topic(rk.get(), topic, std::chrono::milliseconds(5000));
      const std::string retention = config.get("delete.retention.ms");
      if (!retention.empty()) delete_retention_ms = std::stoll(retention);
      if (config.compacted()) {
        readiness.set_topic_config_warning("");
        return;
      }
      const std::string warning = "topic '" + topic + "' has cleanup.policy=" + config.get("cleanup.policy") +
                                  ", not compact: retention will drop customers from future rebuilds";
      readiness.set_topic_config_warning(warning);
      if (options.require_compacted) throw KafkaException(warning + " (--require-compacted)");
      spdlog::warn("{}", warning);
    } catch (const KafkaException& e) {
      if (options.require_compacted) throw;
      spdlog::warn("cannot check the topic's configuration: {}", e.what());
    }
  }

  // The watermarks of partitions [from, to); nullopt when stopping.
  std::optional<std::vector<Readiness::Watermarks>> read_watermarks(int from, int to) {
    while (!stopping) {
      std::vector<Readiness::Watermarks> out;
      rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
      for (std::int32_t p = from; p < to && !err; ++p) {
        std::int64_t low = 0, high = 0;
        err = rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), p, &low, &high, kMetadataTimeoutMs);
        out.push_back({p, low, high});
      }
      if (!err) return out;
      spdlog::warn("cannot read the watermarks of '{}': {}; retrying", topic, rd_kafka_err2str(err));
      if (!pause(kRetryDelay)) return std::nullopt;
    }
    return std::nullopt;
  }

  // Loads the state directory's snapshot when every check passes; `marks` then start at its offsets.
  // Otherwise the table stays empty for a full replay, and the log and /metrics say why.
  bool warm_start(std::vector<Readiness::Watermarks>& marks) {
    if (options.state_dir.empty()) return false;
    const auto t0 = Clock::now();
    const auto cold = [&](const SnapshotRejected& why) {
      store.clear();
      metrics.snapshot_loaded(why.result);
      readiness.set_start("cold", -1, why.result + ": " + why.reason);
      spdlog::warn("cold start, replaying '{}' from offset 0: the snapshot is not used ({}: {})", topic, why.result,
                   why.reason);
      return false;
    };
    auto loaded = load_snapshot(options.state_dir, store);
    if (const auto* rejected = std::get_if<SnapshotRejected>(&loaded)) return cold(*rejected);
    const LoadedSnapshot& snap = std::get<LoadedSnapshot>(loaded);
    std::vector<std::int64_t> low, high;
    for (const auto& w : marks) {
      low.push_back(w.low);
      high.push_back(w.high);
    }
    const std::int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                    std::chrono::system_clock::now().time_since_epoch()).count();
    if (delete_retention_ms < 0) {
      return cold({"unverifiable", "the topic's delete.retention.ms could not be read"});
    }
    if (const auto why = check_snapshot(snap.meta, topic, cluster_id(), low, high, delete_retention_ms, now_ms)) {
      return cold(*why);
    }
    applier.begin_from(snap.meta.partitions);
    for (std::size_t p = 0; p < marks.size(); ++p) marks[p].low = snap.meta.partitions[p].next_offset;
    const double age = static_cast<double>(now_ms - snap.meta.written_at_ms) / 1000.0;
    metrics.snapshot_loaded("ok");
    readiness.set_start("warm", age, "");
    spdlog::info("warm start: {} entries from {} ({} bytes, {:.0f} s old) loaded in {:.3f} s", snap.stats.entries,
                 snapshot_path(options.state_dir), snap.stats.bytes, age,
                 std::chrono::duration<double>(Clock::now() - t0).count());
    return true;
  }

  std::string cluster_id() {
    char* id = rd_kafka_clusterid(rk.get(), kMetadataTimeoutMs);
    std::string out = id != nullptr ? id : "";
    if (id != nullptr) rd_kafka_mem_free(rk.get(), id);
    return out;
  }

  // Tells the snapshot writer where the table stands (after the batch is in the store).
  void publish_checkpoint() {
    if (options.checkpoints == nullptr) return;
    if (cluster.empty()) cluster = cluster_id();
    options.checkpoints->publish(SnapshotMeta{topic, cluster, 0, applier.checkpoints()});
  }

  // Assigns partitions [0, count): each from the applier's position, or from its beginning.
  void assign(int count) {
    const PartitionList list(rd_kafka_topic_partition_list_new(count));
    for (std::int32_t p = 0; p < count; ++p) {
      const std::int64_t next = applier.position(p);
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset =
          next >= 0 ? next : RD_KAFKA_OFFSET_BEGINNING;
    }
    if (const auto err = rd_kafka_assign(rk.get(), list.get())) {
      throw KafkaException(std::string("cannot assign the partitions: ") + rd_kafka_err2str(err), err);
    }
  }

  void run() {
    while (!stopping) {
      const std::optional<int> partitions = wait_for_topic();
      if (!partitions) return;
      check_topic_config();
      const auto marks = read_watermarks(0, *partitions);
      if (!marks) return;
      std::vector<Readiness::Watermarks> from = *marks;
      const bool warm = first_session && warm_start(from);
      first_session = false;
      if (!warm) applier.begin(*partitions);
      std::int64_t total = 0;
      for (const auto& w : from) total += w.high - w.low;
      spdlog::info("{} topic '{}': {} partitions, {} records up to the start watermarks",
                   warm ? "catching up on" : "rebuilding", topic, *partitions, total);
      readiness.begin_rebuild(from);
      publish_checkpoint();
      assign(*partitions);
      const ResetReason reset = read_until_reset();
      if (!reset) return;  // stopping
      spdlog::warn("{}: rebuilding the table from offset 0; /saldo answers 503 until it is READY again", *reset);
      rd_kafka_assign(rk.get(), nullptr);
      store.clear();
      readiness.restart_rebuild(*reset);
    }
  }

  // The poll loop, until stopping (nullopt) or until the table must be rebuilt (the reason).
  ResetReason read_until_reset() {
    const KafkaQueue queue(rd_kafka_queue_get_consumer(rk.get()));
    std::vector<rd_kafka_message_t*> batch(kBatchSize);
    auto last_watermarks = Clock::now(), last_metadata = Clock::now(), last_purge = Clock::now();
    bool trimmed = false;
    FetcherWaker waker(rk.get(), topic);
    while (!stopping) {
      rd_kafka_poll(rk.get(), 0);  // serves the error and statistics callbacks
      // Block for the first message only, then take what is already queued: the batch call waits
      // out its whole timeout unless the batch fills, which would delay every update while tailing.
      std::size_t n = 0;
      if (rd_kafka_message_t* first = rd_kafka_consume_queue(queue.get(), static_cast<int>(kBatchTimeout.count()))) {
        batch[0] = first;
        const ssize_t more = rd_kafka_consume_batch_queue(queue.get(), 0, batch.data() + 1, batch.size() - 1);
        n = 1 + static_cast<std::size_t>(std::max<ssize_t>(more, 0));
      }
      ResetReason reset = apply(std::span(batch.data(), n));
      for (std::size_t i = 0; i < n; ++i) rd_kafka_message_destroy(batch[i]);
      if (reset) return reset;
      if (n > 0) publish_checkpoint();
      applier.flush_logs();
      if (!readiness.ready() && n > 0 && static_cast<int>(rd_kafka_queue_length(queue.get())) < refill_below) {
        waker.request(applier.partitions());
      }

      if (!trimmed && readiness.ready()) {
        // The rebuild's fetch buffers were freed, but glibc keeps them in its arenas: hand them back,
        // or the service holds the replay's peak for its whole life.
        trimmed = true;
        ::malloc_trim(0);
      }
      const auto now = Clock::now();
      if (now - last_watermarks >= kWatermarkInterval) {
        last_watermarks = now;
        if ((reset = check_watermarks())) return reset;
      }
      if (now - last_metadata >= kMetadataInterval) {
        last_metadata = now;
        if ((reset = check_partitions())) return reset;
      }
      if (now - last_purge >= kPurgeInterval && readiness.ready()) {
        last_purge = now;
        if (const auto settled = applier.settled_time()) store.purge_tombstones(*settled);
      }
    }
    return std::nullopt;
  }

  ResetReason apply(std::span<rd_kafka_message_t*> batch) {
    records.clear();
    ends.clear();
    for (const rd_kafka_message_t* m : batch) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        ends.emplace_back(m->partition, m->offset);
        continue;
      }
      if (m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
          readiness.set_topic_missing(true);
        }
        if (m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
          readiness.set_access_error("topic '" + topic + "': " + rd_kafka_err2str(m->err) +
                                    " (this user needs Read on it)");
        }
        std::lock_guard lock(mutex);
        if (error_log.allow()) spdlog::warn("Kafka consume error: {}", rd_kafka_message_errstr(m));
        continue;
      }
      TopicRecord& r = records.emplace_back();
      r.partition = m->partition;
      r.offset = m->offset;
      r.timestamp_ms = rd_kafka_message_timestamp(m, nullptr);
      if (m->key) r.key.emplace(static_cast<const char*>(m->key), m->key_len);
      if (m->payload) r.value.emplace(static_cast<const char*>(m->payload), m->len);
    }
    applier.apply(records);
    // Ends after the records they follow: an end first would move the position past records of the
    // same batch not applied yet, and the applier would skip them as read already.
    for (const auto& [partition, next] : ends) applier.end_of_partition(partition, next);
    return std::nullopt;
  }

  // The broker's watermarks against what was read: records deleted under us, or a new topic.
  ResetReason check_watermarks() {
    for (std::int32_t p = 0; p < applier.partitions(); ++p) {
      std::int64_t low = -1, high = -1;
      if (rd_kafka_get_watermark_offsets(rk.get(), topic.c_str(), p, &low, &high) || high < 0) continue;
      readiness.set_high_watermark(p, high);
      if (auto why = position_outside_log(topic, p, applier.position(p), low, high)) return why;
    }
    return std::nullopt;
  }

  // Partitions added to the topic are read from their start; a topic that shrank or vanished is new.
  ResetReason check_partitions() {
    const int n = partition_count();
    if (n < 0 || n == applier.partitions()) return std::nullopt;
    if (auto why = partitions_shrank(topic, n, applier.partitions())) return why;
    const int before = applier.partitions();
    const auto marks = read_watermarks(before, n);
    if (!marks) return std::nullopt;
    spdlog::warn("topic '{}' grew from {} to {} partitions: reading the new ones from their start (a key's murmur2 "
                 "partition changes with the count; see saldo_admin fix-routing)",
                 topic, before, n);
    applier.add_partitions(n);
    readiness.add_partitions(*marks);
    assign(n);
    publish_checkpoint();
    return std::nullopt;
  }
};

TableReader::TableReader(TableReaderOptions options, BalanceStore& store, Readiness& readiness, Metrics& metrics)
    : impl_(std::make_shared<Impl>(std::move(options), store, readiness, metrics)) {}

TableReader::~TableReader() {
  try {
    stop();
  } catch (...) {
  }
}

void TableReader::start() {
  thread_ = std::thread([this] {
    try {
      impl_->run();
    } catch (const std::exception& e) {
      spdlog::critical("table reader stopped: {}", e.what());
      failed_ = true;
      request_shutdown();
    }
  });
}

void TableReader::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  thread_.join();
  // No group and no commits: closing only stops the fetchers. librdkafka 2.0.2 can hang in
  // rd_kafka_destroy() after a topic was deleted and recreated under the consumer (its broker thread
  // never lets go of the vanished partitions): bounded here, the process exits anyway. The closing
  // thread keeps Impl alive, since librdkafka's threads may still call its callbacks.
  auto closed = std::make_shared<std::promise<void>>();
  std::future<void> done = closed->get_future();
  std::thread([impl = impl_, closed] {
    rd_kafka_consumer_close(impl->rk.get());
    impl->rk.reset();
    closed->set_value();
  }).detach();
  if (done.wait_for(std::chrono::seconds(2)) == std::future_status::timeout) {
    spdlog::warn("the Kafka consumer did not close within 2 s (librdkafka 2.0.2 after a recreated topic); exiting "
                 "without waiting for it");
  }
}

}  // namespace saldo
