#include "consumer_service/table/table_reader.h"

#include <algorithm>
#include <atomic>
#include <iterator>
#include <charconv>
#include <chrono>
#include <exception>
#include <thread>
#include <utility>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <malloc.h>
#include <pthread.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/kafka_handles.h"
#include "common/text.h"
#include "common/worker_thread.h"
#include "common/shutdown.h"
#include "common/topic_config.h"
#include "consumer_service/topic/topic_reader.h"
#include "consumer_service/topic/consumer_settings.h"
#include "consumer_service/table/dead_letter.h"
#include "consumer_service/table/decoded_batches.h"
#include "consumer_service/topic/fetcher_waker.h"
#include "consumer_service/status/log_limiter.h"
#include "consumer_service/table/record_applier.h"
#include "consumer_service/snapshot/snapshot.h"
#include "consumer_service/snapshot/snapshot_writer.h"

namespace saldo {
namespace {

using Clock = std::chrono::steady_clock;

// How long a warm start waits for the records its snapshot read last (one fetch each).
constexpr std::chrono::milliseconds kIdentityTimeout{5000};
constexpr std::chrono::milliseconds kBatchTimeout{100};
constexpr int kDescribeTimeoutMs = 5000;
constexpr auto kPurgeInterval = std::chrono::seconds(10);

TopicReaderSettings reader_settings(const KafkaOptions& kafka, bool direct_catch_up, TopicListener& listener) {
  TopicReaderSettings settings{.kafka = kafka, .defaults = table_consumer_defaults(), .listener = &listener};
  // librdkafka 2.0.2's assign() refuses a consumer without group.id ("Unknown group"). The group
  // is never joined (no subscribe) and nothing is committed, so any name does; GROUP is used.
  settings.defaults.emplace_back("group.id", kafka.group.empty() ? "saldo-consumer-service" : kafka.group);
  settings.client_callbacks = true;
  settings.max_batch = 10000;
  settings.direct_catch_up = direct_catch_up;
  return settings;
}

}  // namespace

struct TableReader::Impl final : TopicListener {
  TableReaderOptions options;
  const std::string& topic = options.kafka.topic;
  BalanceStore& store;
  Readiness& readiness;
  Metrics& metrics;
  RecordApplier applier;
  WorkerThread worker;
  std::mutex log_mutex;
  LogLimiter error_log{"Kafka error lines", 10, std::chrono::seconds(10)};  // librdkafka's threads: under log_mutex
  CompactedTopicReader reader;

  // The decoding thread of read_until_reset() and what it hands over.
  DecodedBatches batches;
  std::thread decoding;
  std::atomic<bool> decoding_stop{false};
  std::exception_ptr decoding_error;  // set by the decoding thread, read after joining it
  std::atomic<bool> decoding_failed{false};

  // Sharded mode: what serve() asked for (bumping `wanted_generation`), and what the table holds.
  std::mutex wanted_mutex;
  std::vector<std::int32_t> wanted;
  std::atomic<std::uint64_t> wanted_generation{0};
  std::uint64_t held_generation = 0;
  std::vector<std::int32_t> held;

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
      : options(std::move(o)),
        store(s),
        readiness(r),
        metrics(m),
        applier(s, r, m),
        reader(reader_settings(options.kafka, options.direct_catch_up, *this), worker) {
    if (options.dead_letter != nullptr) {
      applier.on_invalid([this](const TopicRecord& rec, DecodeError why) {
        options.dead_letter->send(topic, rec.partition, rec.offset, rec.key ? rec.key->data() : nullptr,
                                  rec.key ? rec.key->size() : 0, rec.value ? rec.value->data() : nullptr,
                                  rec.value ? rec.value->size() : 0, why);
      });
    }
    // The last one is in force; a value librdkafka refuses was reported when the consumer was made.
    int v = 0;
    if (const auto queued = reader.setting("queued.min.messages");
        queued && std::from_chars(queued->data(), queued->data() + queued->size(), v).ec == std::errc{}) {
      refill_below = v / 2;
    }
  }

  void on_client_error(int err, const char* reason) noexcept override {
    try {
      metrics.broker_errors(1);
      if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) readiness.set_broker_reachable(false, reason);
      if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR__SSL) readiness.set_access_error(reason);
      std::lock_guard lock(log_mutex);
      if (error_log.allow()) {
        spdlog::warn("Kafka: {} ({}); still serving what is known and retrying", reason,
                     rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(err)));
      }
    } catch (...) {
    }
  }

  // librdkafka's statistics: the broker is reachable while any broker connection is UP.
  void on_statistics(std::string_view json) noexcept override {
    try {
      const auto stats = nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
      if (stats.is_discarded() || !stats.contains("brokers")) return;
      bool up = false;
      for (const auto& [name, broker] : stats["brokers"].items()) {
        if (broker.value("state", "") == "UP") up = true;
      }
      const bool was = readiness.snapshot().broker_reachable;
      readiness.set_broker_reachable(up, up ? "" : "no broker connection is up");
      if (up && !was) spdlog::info("Kafka broker reachable again");
    } catch (...) {
    }
  }

  void on_topic_missing(bool missing) override { readiness.set_topic_missing(missing); }
  void on_broker_unreachable(const std::string& why) override { readiness.set_broker_reachable(false, why); }
  void on_access_error(const std::string& why) override { readiness.set_access_error(why); }
  bool access_refused() const override { return !readiness.snapshot().access_error.empty(); }
  void on_end_offsets(std::int32_t partition, std::int64_t stable, std::int64_t high,
                      Clock::time_point asked_at) override {
    readiness.set_end_offsets(partition, stable, high, asked_at);
  }

  void on_consume_error(rd_kafka_resp_err_t err, const char* text) override {
    try {
      if (err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        readiness.set_topic_missing(true);
      }
      if (err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED) {
        readiness.set_access_error("topic '" + topic + "': " + rd_kafka_err2str(err) + " (this user needs Read on it)");
      }
      std::lock_guard lock(log_mutex);
      if (error_log.allow()) spdlog::warn("Kafka consume error: {}", text);
    } catch (...) {
    }
  }

  // A table needs a compacted topic: with cleanup.policy=delete, retention drops customers from
  // every future rebuild. Says so (log, /ready, /metrics), or refuses with --require-compacted.
  // Also learns delete.retention.ms, which bounds how old a trusted snapshot may be.
  void check_topic_config() {
    delete_retention_ms = -1;
    try {
      const TopicConfig config = describe_topic(reader.handle(), topic, std::chrono::milliseconds(kDescribeTimeoutMs));
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
    if (const auto why = check_snapshot(snap.meta, topic, reader.cluster_id(), low, high, delete_retention_ms, now_ms)) {
      return cold(*why);
    }
    if (const auto why = check_identity(snap.meta)) return cold(*why);
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

  // Offsets that still fit a topic deleted and created again: the record read last in each partition
  // must still be there, the same (topic/record_fingerprint.h).
  std::optional<SnapshotRejected> check_identity(const SnapshotMeta& meta) {
    std::vector<std::int64_t> offsets;
    for (const auto& p : meta.partitions) offsets.push_back(p.last.offset);
    const auto found = reader.fingerprints_at(offsets, kIdentityTimeout);
    for (std::size_t p = 0; p < meta.partitions.size(); ++p) {
      if (auto why = check_fingerprint(topic, static_cast<std::int32_t>(p), meta.partitions[p].last, found[p])) {
        return SnapshotRejected{why->result, why->reason};
      }
    }
    return std::nullopt;
  }

  // Tells the snapshot writer where the table stands (after the batch is in the store).
  void publish_checkpoint() {
    if (options.checkpoints == nullptr) return;
    if (cluster.empty()) cluster = reader.cluster_id();
    options.checkpoints->publish(SnapshotMeta{topic, cluster, 0, applier.checkpoints()});
  }

  // Partitions [0, count): each from the applier's position, or from its beginning.
  void assign(int count) {
    reader.assign(count, [this](std::int32_t p) { return applier.position(p); });
  }

  // The records between each partition's start and its start high watermark (never negative).
  static std::int64_t records_to_read(const std::vector<Readiness::Watermarks>& from) {
    std::int64_t total = 0;
    for (const auto& w : from) total += std::max<std::int64_t>(w.high - w.low, 0);
    return total;
  }

  static std::vector<Readiness::Watermarks> to_readiness(const std::vector<PartitionMarks>& marks) {
    std::vector<Readiness::Watermarks> out;
    out.reserve(marks.size());
    for (const auto& m : marks) out.push_back({m.partition, m.low, m.high});
    return out;
  }

  void run() {
    while (!worker.stopping()) {
      const std::optional<int> partitions = reader.wait_for_topic();
      if (!partitions) return;
      check_topic_config();
      if (options.sharded) {
        if (!begin_sharded(*partitions)) return;
      } else if (!begin_whole(*partitions)) {
        return;
      }
      const std::optional<TopicChange> reset = read_until_reset();
      if (!reset) return;  // stopping
      spdlog::warn("{}: rebuilding the table from offset 0; /saldo answers 503 until it is READY again", reset->why);
      reader.unassign();
      store.clear();
      readiness.restart_rebuild(reset->why);
    }
  }

  // Every partition, from the snapshot or from offset 0. False when stopping.
  bool begin_whole(int partitions) {
    const auto marks = reader.read_watermarks(0, partitions);
    if (!marks) return false;
    std::vector<Readiness::Watermarks> from = to_readiness(*marks);
    const bool warm = first_session && warm_start(from);
    first_session = false;
    if (!warm) applier.begin(partitions);
    const std::int64_t total = records_to_read(from);
    if (!warm) store.expect_at_most(static_cast<std::size_t>(total));
    spdlog::info("{} topic '{}': {} partitions, {} records up to the start watermarks",
                 warm ? "catching up on" : "rebuilding", topic, partitions, total);
    readiness.begin_rebuild(from);
    publish_checkpoint();
    reader.assign_catching_up(partitions, [this](std::int32_t p) { return applier.position(p); }, *marks);
    return true;
  }

  // Sharded mode: nothing held until the coordinator says what to hold, then those partitions from
  // offset 0. False when stopping.
  bool begin_sharded(int partitions) {
    applier.begin(partitions);
    for (std::int32_t p = 0; p < partitions; ++p) applier.let_go(p);
    held.clear();
    while (wanted_generation.load(std::memory_order_acquire) == 0) {
      if (!worker.pause(std::chrono::milliseconds(50))) return false;
    }
    const auto [generation, want] = take_wanted();
    std::vector<Readiness::Watermarks> from;
    std::vector<PartitionMarks> until;
    for (const std::int32_t p : want) {
      const auto marks = reader.read_watermarks(p, p + 1);
      if (!marks) return false;
      from.push_back(to_readiness(*marks).front());
      until.push_back(marks->front());
      applier.hold(p);
      held.push_back(p);
    }
    held_generation = generation;
    const std::int64_t total = records_to_read(from);
    store.expect_at_most(static_cast<std::size_t>(total));
    spdlog::info("rebuilding partitions {} of topic '{}' ({} partitions): {} records up to the start watermarks",
                 partition_list_text(held), topic, partitions, total);
    readiness.begin_rebuild(from);
    reader.assign_catching_up(applier.partitions(), held, [this](std::int32_t p) { return applier.position(p); }, until);
    return true;
  }

  // serve()'s last request: partitions within the table's count, sorted, with its generation.
  std::pair<std::uint64_t, std::vector<std::int32_t>> take_wanted() {
    std::lock_guard lock(wanted_mutex);
    std::vector<std::int32_t> out;
    for (const std::int32_t p : wanted) {
      if (p >= 0 && p < applier.partitions()) out.push_back(p);
    }
    return {wanted_generation.load(std::memory_order_acquire), std::move(out)};
  }

  // Sharded mode, between batches (decoding stopped): let go of what is no longer wanted (out of
  // the store at once: the coordinator routes it elsewhere already), read what is newly wanted from
  // its start. False when stopping.
  bool change_held() {
    const auto [generation, want] = take_wanted();
    std::vector<std::int32_t> gone, added;
    std::set_difference(held.begin(), held.end(), want.begin(), want.end(), std::back_inserter(gone));
    std::set_difference(want.begin(), want.end(), held.begin(), held.end(), std::back_inserter(added));
    std::vector<Readiness::Watermarks> from;
    for (const std::int32_t p : added) {
      const auto marks = reader.read_watermarks(p, p + 1);
      if (!marks) return false;
      from.push_back(to_readiness(*marks).front());
    }
    for (const std::int32_t p : gone) applier.let_go(p);
    if (!gone.empty()) readiness.remove_partitions(gone);
    for (const std::int32_t p : added) applier.hold(p);
    if (!from.empty()) readiness.add_partitions(from);
    held = want;
    held_generation = generation;
    if (!gone.empty() || !added.empty()) {
      spdlog::info("holding partitions {}: {} taken (read from their start), {} let go (handed over)", partition_list_text(held),
                   partition_list_text(added), partition_list_text(gone));
    }
    reader.assign(applier.partitions(), held, [this](std::int32_t p) { return applier.position(p); });
    return true;
  }

  // The decoding thread: polls the topic, decodes each batch and gives the messages back at once, so
  // while the writer thread (this reader's own) applies one batch to the store, the next is decoded
  // on the other core. It owns the applier's decoder (and the consumer's poll) while it runs.
  void decode_loop() {
    ::pthread_setname_np(::pthread_self(), "saldo-decode");  // top -H, perf, bench/rebuild_breakdown.sh
    try {
      FetcherWaker waker(reader.handle(), topic);
      RecordDecoder& decoder = applier.decoder();
      while (!decoding_stop.load(std::memory_order_acquire)) {
        DecodedBatch* batch = batches.take_free();
        if (batch == nullptr) break;
        const std::size_t n = reader.poll(kBatchTimeout);
        decoder.decode(reader.records(), reader.ends(), *batch);
        reader.release();
        decoder.flush_logs();
        if (!readiness.ready() && n > 0 && !reader.catching_up() && reader.queue_length() < refill_below) {
          waker.request(decoder.partitions());
        }
        if (batch->empty()) {
          batches.give_back(batch);
        } else {
          batches.push_full(batch);
        }
      }
    } catch (...) {
      decoding_error = std::current_exception();
      decoding_failed.store(true, std::memory_order_release);
      batches.close(true);
    }
  }

  void start_decoding() {
    decoding_stop = false;
    batches.close(false);
    decoding = std::thread([this] { decode_loop(); });
  }

  // Stops the decoding thread and applies what it decoded: the positions then cover every record
  // polled, and the decoder is the writer thread's again (partitions added, a reset, the end).
  void stop_decoding() {
    if (!decoding.joinable()) return;
    decoding_stop = true;
    batches.close(true);
    decoding.join();
    while (DecodedBatch* batch = batches.take_full(std::chrono::milliseconds(0))) apply(batch);
    if (decoding_error) {
      decoding_failed = false;
      std::rethrow_exception(std::exchange(decoding_error, nullptr));
    }
  }

  void apply(DecodedBatch* batch) {
    applier.apply_decoded(*batch);
    batches.give_back(batch);
    publish_checkpoint();
  }

  // The writer loop, until stopping (nullopt) or until the table must be rebuilt (the reset).
  std::optional<TopicChange> read_until_reset() {
    start_decoding();
    struct Stop {
      Impl& self;
      ~Stop() {
        try {
          self.stop_decoding();
        } catch (...) {
        }
      }
    } stop_at_exit{*this};
    auto last_purge = Clock::now();
    bool trimmed = false;
    const auto position = [this](std::int32_t p) { return applier.position(p); };
    while (!worker.stopping()) {
      if (DecodedBatch* batch = batches.take_full(kBatchTimeout)) apply(batch);
      if (decoding_failed.load(std::memory_order_acquire)) stop_decoding();  // rethrows it on the reader's thread

      if (!trimmed && readiness.ready()) {
        // The rebuild's fetch buffers were freed, but glibc keeps them in its arenas: hand them back,
        // or the service holds the replay's peak for its whole life.
        trimmed = true;
        if (const std::size_t freed = store.fit(); freed > 0) {
          spdlog::info("the index was sized for more customers than the topic holds: {:.1f} MB given back",
                       static_cast<double>(freed) / (1 << 20));
        }
        ::malloc_trim(0);
      }
      if (options.sharded && wanted_generation.load(std::memory_order_acquire) != held_generation) {
        stop_decoding();
        if (!change_held()) return std::nullopt;
        start_decoding();
      }
      TopicChange change = reader.watch(applier.partitions(), position);
      if (change.kind == TopicChange::Kind::kReset) {
        stop_decoding();
        return change;
      }
      if (change.kind == TopicChange::Kind::kPartitionsAdded) {
        stop_decoding();
        if (!add_partitions(change.partitions)) return std::nullopt;
        start_decoding();
      }
      const auto now = Clock::now();
      if (now - last_purge >= kPurgeInterval && readiness.ready()) {
        last_purge = now;
        if (const auto settled = applier.settled_time()) store.purge_tombstones(*settled);
      }
    }
    stop_decoding();
    return std::nullopt;
  }

  // Partitions added to the topic are read from their start. False when stopping.
  bool add_partitions(int n) {
    const int before = applier.partitions();
    const auto marks = reader.read_watermarks(before, n);
    if (!marks) return false;
    spdlog::warn("topic '{}' grew from {} to {} partitions: reading the new ones from their start (a key's murmur2 "
                 "partition changes with the count; see saldo_admin fix-routing)",
                 topic, before, n);
    applier.add_partitions(n);
    if (options.sharded) {
      // The group assigns them; the coordinator's next serve() (or the one it made already) says.
      for (std::int32_t p = before; p < n; ++p) applier.let_go(p);
      held_generation = 0;
      return true;
    }
    readiness.add_partitions(to_readiness(*marks));
    assign(n);
    publish_checkpoint();
    return true;
  }
};

TableReader::TableReader(TableReaderOptions options, BalanceStore& store, Readiness& readiness, Metrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(options), store, readiness, metrics)) {}

TableReader::~TableReader() {
  try {
    stop();
  } catch (...) {
  }
}

void TableReader::start() {
  impl_->worker.start([this] {
    ::pthread_setname_np(::pthread_self(), "saldo-apply");  // the store's writer: applies what saldo-decode decoded
    try {
      impl_->run();
    } catch (const std::exception& e) {
      spdlog::critical("table reader stopped: {}", e.what());
      failed_ = true;
      request_shutdown();
    }
  });
}

void TableReader::serve(std::vector<std::int32_t> partitions) {
  std::sort(partitions.begin(), partitions.end());
  partitions.erase(std::unique(partitions.begin(), partitions.end()), partitions.end());
  std::lock_guard lock(impl_->wanted_mutex);
  impl_->wanted = std::move(partitions);
  impl_->wanted_generation.fetch_add(1, std::memory_order_acq_rel);
}

void TableReader::stop() {
  impl_->worker.stop();
  impl_->reader.close();
}

}  // namespace saldo
