#include "consumer_service/table_reader.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <malloc.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/codec.h"
#include "common/customer_id.h"
#include "common/kafka_handles.h"
#include "common/shutdown.h"
#include "consumer_service/dead_letter.h"

namespace saldo {
namespace {

// Consumer settings for a fast replay and a fresh tail, all in one place. They go before the
// user's -X properties, so any of them can still be overridden from the command line.
const KeyValues kConsumerDefaults = {
    // The table is rebuilt from offset 0 on every start: nothing to commit, no group to join.
    {"enable.auto.commit", "false"},
    {"enable.auto.offset.store", "false"},
    // If a fetch position is ever out of range (a broker that restarted after kill -9 answers
    // OFFSET_OUT_OF_RANGE for a moment), start the partition over: replaying is harmless, since
    // the store ignores a record older than the one it holds for the key. librdkafka's default,
    // "latest", would silently skip every record up to the end (seen in the broker-kill test).
    {"auto.offset.reset", "earliest"},
    // An end-of-partition event says "caught up" even when the last offsets hold no record for us
    // (compaction gaps, transaction markers).
    {"enable.partition.eof", "true"},
    // A rebuild is a bulk read: large fetches, few round trips.
    {"fetch.max.bytes", "104857600"},           // 100 MB per fetch request (all partitions of a broker)
    {"max.partition.fetch.bytes", "16777216"},  // 16 MB per partition per fetch (default 1 MB)
    // A deep prefetch queue per partition: librdkafka 2.0.2 backs off a whole second once a
    // partition's queue is full, so it must hold more than one drain cycle.
    {"queued.min.messages", "1000000"},
    {"queued.max.messages.kbytes", "262144"},  // 256 MB
    // While tailing, an empty fetch waits at the broker this long before it is re-issued.
    {"fetch.wait.max.ms", "10"},
    // After a fetch error or a lost broker, retry soon so the table catches up soon after.
    {"fetch.error.backoff.ms", "100"},
    {"reconnect.backoff.max.ms", "2000"},
    // Broker states once a second, for the "broker reachable" flag.
    {"statistics.interval.ms", "1000"},
};

constexpr int kBatchSize = 10000;
constexpr std::chrono::milliseconds kBatchTimeout{100};
constexpr std::chrono::milliseconds kRetryDelay{1000};
constexpr int kMetadataTimeoutMs = 1500;  // bounds how long stop() can wait on a dead broker

// At most `burst` lines per `window`; the rest are counted and summarised in the next window.
class RateLimit {
 public:
  RateLimit(int burst, std::chrono::seconds window) : burst_(burst), window_(window) {}
  bool allow() {
    const auto now = std::chrono::steady_clock::now();
    if (now - start_ > window_) {
      if (suppressed_ > 0) spdlog::warn("{} similar log lines suppressed in the last {} s", suppressed_, window_.count());
      start_ = now;
      used_ = 0;
      suppressed_ = 0;
    }
    if (used_ < burst_) {
      ++used_;
      return true;
    }
    ++suppressed_;
    return false;
  }

 private:
  int burst_;
  std::chrono::seconds window_;
  std::chrono::steady_clock::time_point start_{};
  int used_ = 0;
  long suppressed_ = 0;
};

}  // namespace

struct TableReader::Impl {
  KafkaOptions options;
  BalanceStore& store;
  Readiness& readiness;
  Metrics& metrics;

  KafkaHandle rk;
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::condition_variable wake;
  RateLimit invalid_log{10, std::chrono::seconds(10)};
  RateLimit error_log{10, std::chrono::seconds(10)};  // from librdkafka's threads: under `mutex`
  int partitions = 0;
  DeadLetterSink* dead_letter = nullptr;

  std::vector<BalanceUpdate> updates;
  std::vector<StoreEvent> events;
  std::vector<ApplyResult> results;
  std::vector<std::int64_t> next_offsets;
  std::vector<char> replaying;  // per partition: reading below its furthest position (an offset reset)

  Impl(KafkaOptions o, BalanceStore& s, Readiness& r, Metrics& m)
      : options(std::move(o)), store(s), readiness(r), metrics(m) {}

  // Returns false when stopping.
  bool pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex);
    return !wake.wait_for(lock, d, [&] { return stopping.load(); });
  }

  void create_consumer() {
    KafkaOptions with_defaults = options;
    with_defaults.properties = kConsumerDefaults;
    // librdkafka 2.0.2's assign() refuses a consumer without group.id ("Unknown group"). The group
    // is never joined (no subscribe) and nothing is committed, so any name does; GROUP is used.
    with_defaults.properties.emplace_back("group.id", options.group.empty() ? "saldo-consumer-service" : options.group);
    with_defaults.properties.insert(with_defaults.properties.end(), options.properties.begin(),
                                    options.properties.end());
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
        spdlog::warn("Kafka: {} ({}); still serving what is known and retrying",
                     reason, rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)));
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

  // Waits until the topic exists with all its partitions; false when stopping.
  bool wait_for_topic() {
    bool said_missing = false;
    while (!stopping) {
      std::unique_ptr<rd_kafka_topic_t, decltype(&rd_kafka_topic_destroy)> rkt(
          rd_kafka_topic_new(rk.get(), options.topic.c_str(), nullptr), &rd_kafka_topic_destroy);
      const rd_kafka_metadata_t* raw = nullptr;
      const rd_kafka_resp_err_t err = rd_kafka_metadata(rk.get(), 0, rkt.get(), &raw, kMetadataTimeoutMs);
      const Metadata md(raw);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        readiness.set_broker_reachable(false, rd_kafka_err2str(err));
        spdlog::warn("Kafka metadata for topic '{}' failed: {}; retrying", options.topic, rd_kafka_err2str(err));
      } else if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
                 md->topics[0].partition_cnt > 0) {
        readiness.set_topic_missing(false);
        readiness.set_access_error("");
        partitions = md->topics[0].partition_cnt;
        return true;
      } else {
        const rd_kafka_resp_err_t terr = md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
        if (terr == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || terr == RD_KAFKA_RESP_ERR_NO_ERROR) {
          readiness.set_topic_missing(true);
          if (!said_missing) spdlog::warn("topic '{}' does not exist yet; waiting for it", options.topic);
          said_missing = true;
        } else {
          const std::string why = "topic '" + options.topic + "': " + rd_kafka_err2str(terr);
          if (why != readiness.snapshot().access_error) spdlog::error("{}; retrying", why);  // once per cause
          readiness.set_access_error(why);
        }
      }
      rd_kafka_poll(rk.get(), 0);  // serves the error callback: why the broker refuses us, for /ready
      if (!pause(kRetryDelay)) return false;
    }
    return false;
  }

  // The start high watermark of every partition: the rebuild's target.
  bool read_watermarks(std::vector<Readiness::Watermarks>& out) {
    while (!stopping) {
      out.clear();
      rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
      for (std::int32_t p = 0; p < partitions && !err; ++p) {
        std::int64_t low = 0, high = 0;
        err = rd_kafka_query_watermark_offsets(rk.get(), options.topic.c_str(), p, &low, &high, kMetadataTimeoutMs);
        out.push_back({p, low, high});
      }
      if (!err) return true;
      spdlog::warn("cannot read the watermarks of '{}': {}; retrying", options.topic, rd_kafka_err2str(err));
      if (!pause(kRetryDelay)) return false;
    }
    return false;
  }

  void assign_from_beginning() {
    PartitionList list(rd_kafka_topic_partition_list_new(partitions));
    for (std::int32_t p = 0; p < partitions; ++p) {
      rd_kafka_topic_partition_list_add(list.get(), options.topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    if (const auto err = rd_kafka_assign(rk.get(), list.get())) {
      throw KafkaException(std::string("cannot assign the partitions: ") + rd_kafka_err2str(err), err);
    }
  }

  void run() {
    if (!wait_for_topic()) return;
    std::vector<Readiness::Watermarks> marks;
    if (!read_watermarks(marks)) return;
    std::int64_t total = 0;
    for (const auto& w : marks) total += w.high - w.low;
    spdlog::info("rebuilding topic '{}': {} partitions, {} records up to the start watermarks", options.topic,
                 partitions, total);
    readiness.begin_rebuild(marks);
    assign_from_beginning();

    const KafkaQueue queue(rd_kafka_queue_get_consumer(rk.get()));
    std::vector<rd_kafka_message_t*> batch(kBatchSize);
    next_offsets.assign(static_cast<std::size_t>(partitions), -1);
    replaying.assign(static_cast<std::size_t>(partitions), 0);
    auto last_watermarks = std::chrono::steady_clock::now();
    bool trimmed = false;
    while (!stopping) {
      rd_kafka_poll(rk.get(), 0);  // serves the error and statistics callbacks
      // Block for the first message only, then take what is already queued: the batch call waits
      // out its whole timeout unless the batch fills, which would delay every update while tailing.
      ssize_t n = 0;
      if (rd_kafka_message_t* first = rd_kafka_consume_queue(queue.get(), static_cast<int>(kBatchTimeout.count()))) {
        batch[0] = first;
        const ssize_t more = rd_kafka_consume_batch_queue(queue.get(), 0, batch.data() + 1, batch.size() - 1);
        n = 1 + std::max<ssize_t>(more, 0);
      }
      if (n > 0) {
        apply(std::span(batch.data(), static_cast<std::size_t>(n)));
        for (ssize_t i = 0; i < n; ++i) rd_kafka_message_destroy(batch[static_cast<std::size_t>(i)]);
      }
      if (!trimmed && readiness.ready()) {
        // The rebuild's fetch buffers were freed, but glibc keeps them in its arenas: hand them back,
        // or the service holds the replay's peak (~1 GB at 5M customers) for its whole life.
        trimmed = true;
        ::malloc_trim(0);
      }
      const auto now = std::chrono::steady_clock::now();
      if (now - last_watermarks > std::chrono::seconds(1)) {
        last_watermarks = now;
        for (std::int32_t p = 0; p < partitions; ++p) {
          std::int64_t low = 0, high = 0;
          if (!rd_kafka_get_watermark_offsets(rk.get(), options.topic.c_str(), p, &low, &high) && high >= 0) {
            readiness.set_high_watermark(p, high);
          }
        }
      }
    }
  }

  void note_position(std::int32_t partition, std::int64_t next) {
    if (partition >= 0 && partition < partitions) {
      auto& slot = next_offsets[static_cast<std::size_t>(partition)];
      auto& again = replaying[static_cast<std::size_t>(partition)];
      if (next < slot && !again) {
        spdlog::warn("partition {}: reading offset {} again after {} (the broker reset the position); replaying, "
                     "older records leave the table as it is",
                     partition, next - 1, slot - 1);
      }
      again = next < slot;
      slot = std::max(slot, next);
    }
  }

  void invalid(const rd_kafka_message_t* m, DecodeError why) {
    metrics.invalid(why);
    if (dead_letter) {
      dead_letter->send(options.topic, m->partition, m->offset, m->key, m->key_len, m->payload, m->len, why);
    }
    if (invalid_log.allow()) {
      spdlog::warn("skipped record at partition {} offset {}: {}", m->partition, m->offset, to_string(why));
    }
  }

  void apply(std::span<rd_kafka_message_t*> batch) {
    // The updates keep their strings' capacity from batch to batch: decoding into them allocates
    // nothing. Sized before the loop, as the events point into them.
    if (updates.size() < batch.size()) updates.resize(batch.size());
    std::size_t used = 0;
    events.clear();
    std::uint64_t tombstones = 0;
    for (const rd_kafka_message_t* m : batch) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        note_position(m->partition, m->offset);
        continue;
      }
      if (m->err) {
        if (m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
          readiness.set_topic_missing(true);
        }
        if (m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
          readiness.set_access_error("topic '" + options.topic + "': " + rd_kafka_err2str(m->err) +
                                    " (this user needs Read on it)");
        }
        std::lock_guard lock(mutex);
        if (error_log.allow()) spdlog::warn("Kafka consume error: {}", rd_kafka_message_errstr(m));
        continue;
      }
      note_position(m->partition, m->offset + 1);
      std::optional<std::string_view> key;
      if (m->key) key.emplace(static_cast<const char*>(m->key), m->key_len);
      if (m->payload == nullptr) {
        if (!key) {
          invalid(m, DecodeError::kNullKey);
        } else if (!is_valid_customer_id(*key)) {
          invalid(m, DecodeError::kInvalidKey);
        } else {
          events.push_back({StoreEvent::Kind::kErase, *key, 0, {}, m->partition, m->offset});
          ++tombstones;
        }
        continue;
      }
      BalanceUpdate& u = updates[used];
      if (const auto why = decode_update_into(key, {static_cast<const char*>(m->payload), m->len}, u)) {
        invalid(m, *why);
        continue;
      }
      ++used;
      events.push_back({StoreEvent::Kind::kSet, u.cliente_id, u.saldo, u.timestamp, m->partition, m->offset});
    }
    results.resize(events.size());
    store.apply(events, results);
    std::uint64_t stale = 0;
    for (const ApplyResult r : results) stale += r == ApplyResult::kStale || r == ApplyResult::kRejected;
    metrics.records_applied(events.size() - stale);
    metrics.tombstones(tombstones);
    metrics.stale(stale);
    for (std::int32_t p = 0; p < partitions; ++p) {
      auto& next = next_offsets[static_cast<std::size_t>(p)];
      if (next >= 0) readiness.advance(p, next);
      next = -1;
    }
  }
};

TableReader::TableReader(KafkaOptions options, BalanceStore& store, Readiness& readiness, Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), store, readiness, metrics)) {}

TableReader::~TableReader() {
  try {
    stop();
  } catch (...) {
  }
}

void TableReader::set_dead_letter(DeadLetterSink* sink) { impl_->dead_letter = sink; }

void TableReader::start() {
  impl_->create_consumer();
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
  // No group and no commits: closing only stops the fetchers.
  rd_kafka_consumer_close(impl_->rk.get());
  impl_->rk.reset();
}

}  // namespace saldo
