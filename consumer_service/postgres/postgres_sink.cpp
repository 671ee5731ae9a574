#include "consumer_service/postgres/postgres_sink.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include "common/codec.h"
#include "common/customer_id.h"
#include "common/kafka_handles.h"
#include "common/postgres.h"
#include "common/record_order.h"
#include "common/topic_config.h"
#include "consumer_service/topic/log_range.h"
#include "consumer_service/postgres/postgres_batch.h"
#include "consumer_service/postgres/postgres_schema.h"

namespace saldo {
namespace {

using Clock = std::chrono::steady_clock;

// The sink's consumer: plain assign from its own positions, never a group, never a Kafka commit
// (the positions live in PostgreSQL, in the rows' transaction). Before the user's -X properties.
const KeyValues kSinkConsumerDefaults = {
    {"group.id", "saldo-postgres-sink"},  // assign() in librdkafka 2.0.2 wants one; never joined
    {"enable.auto.commit", "false"},
    {"enable.auto.offset.store", "false"},
    {"auto.offset.reset", "earliest"},
    {"fetch.wait.max.ms", "10"},
    {"fetch.error.backoff.ms", "100"},
    {"reconnect.backoff.max.ms", "2000"},
};

// Up to this many records per transaction: large enough that a replay is bulk work for PostgreSQL,
// small enough that one transaction stays well under a second.
constexpr std::size_t kMaxBatch = 20000;
constexpr std::chrono::milliseconds kPollTimeout{100};
constexpr std::chrono::milliseconds kFirstBackoff{250};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
constexpr std::chrono::milliseconds kStandbyRetry{2000};
constexpr int kMetadataTimeoutMs = 1500;
// The same checks, at the same pace, as the table reader's: a recreated or truncated topic, and
// partitions added.
constexpr std::chrono::seconds kWatermarkInterval{1};
constexpr std::chrono::seconds kMetadataInterval{5};

std::string int_array(const std::vector<std::int64_t>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out.push_back(',');
    out.append(std::to_string(values[i]));
  }
  return out.append("}");
}

PgResult exec_params(PGconn* conn, std::string_view sql, const std::vector<std::string>& params,
                     ExecStatusType expected) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  const std::string text(sql);
  PgResult r(PQexecParams(conn, text.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                          nullptr, 0));
  if (!r || PQresultStatus(r.get()) != expected) {
    throw pg_result_error(conn, r.get());
  }
  return r;
}

std::uint64_t affected(const PgResult& r) {
  const char* n = PQcmdTuples(r.get());
  return n && *n ? std::stoull(n) : 0;
}

}  // namespace

struct PostgresSink::Impl {
  KafkaOptions options;
  std::string conninfo;
  std::string where;  // describe_conninfo(): host, port, database, user; never the password
  PostgresSinkStatus& status;

  KafkaHandle rk;
  PgConn conn;
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::condition_variable wake;

  std::int32_t partitions = 0;
  std::vector<std::int64_t> committed;  // per partition: next offset committed in PostgreSQL
  OrderClock clock;                     // per partition: ordering time of the records read
  SinkBatch batch;
  BalanceUpdate update;  // decode buffer, reused
  std::string last_logged_error;
  std::optional<Clock::time_point> down_since;
  Clock::time_point last_consume_error{};
  bool ever_connected = false;

  Impl(KafkaOptions o, std::string c, PostgresSinkStatus& s)
      : options(std::move(o)), conninfo(std::move(c)), where(describe_conninfo(conninfo)), status(s) {}

  bool pause(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex);
    return !wake.wait_for(lock, d, [&] { return stopping.load(); });
  }

  void create_consumer() {
    KafkaOptions with_defaults = options;
    with_defaults.properties = kSinkConsumerDefaults;
    with_defaults.properties.insert(with_defaults.properties.end(), options.properties.begin(),
                                    options.properties.end());
    rk = make_kafka_handle(RD_KAFKA_CONSUMER, make_kafka_conf(with_defaults));
  }

  void run() {
    auto backoff = kFirstBackoff;
    while (!stopping) {
      try {
        session(backoff);
      } catch (const PgError& e) {
        failed(e.what());
      } catch (const KafkaException& e) {
        failed(std::string("Kafka: ") + e.what());
      }
      conn.reset();
      rd_kafka_assign(rk.get(), nullptr);
      if (stopping || !pause(backoff)) break;
      backoff = std::min(backoff * 2, kMaxBackoff);
    }
  }

  // One line per distinct failure: a wrong password retried every 5 s says so once, not every time.
  void failed(const std::string& why) {
    status.error();
    status.set_state(SinkState::kDown);
    status.set_error(why);
    if (!down_since) down_since = Clock::now();
    if (why != last_logged_error) {
      spdlog::error("PostgreSQL sink ({}): {}; retrying with backoff, the service keeps serving from memory", where,
                    why);
      last_logged_error = why;
    } else {
      spdlog::debug("PostgreSQL sink ({}): still failing: {}", where, why);
    }
  }

  void session(std::chrono::milliseconds& backoff) {
    conn = pg_connect(conninfo, 3);
    ensure_schema();
    pg_exec(conn.get(), std::string(pg_schema::kCreateStaging));
    pg_exec(conn.get(), std::string(pg_schema::kSessionSettings));
    if (!take_writer_lock()) return;
    if (!wait_for_topic()) return;
    read_positions_and_assign();
    ever_connected = true;
    stream(backoff);
  }

  // A transaction committed (or there was nothing to write): the sink works. Only now, not at
  // connect, does a failure count as over: a read-only role connects fine and fails at the first write.
  void healthy(std::chrono::milliseconds& backoff) {
    if (status.state() == SinkState::kRunning) return;
    if (down_since) {
      spdlog::info("PostgreSQL sink ({}): connected again after {:.1f} s; catching up", where,
                   std::chrono::duration<double>(Clock::now() - *down_since).count());
    }
    down_since.reset();
    last_logged_error.clear();
    status.set_error({});
    status.set_state(SinkState::kRunning);
    backoff = kFirstBackoff;
  }

  void ensure_schema() {
    const auto version = [&] {
      const PgResult exists = pg_exec(conn.get(), std::string(pg_schema::kSchemaExists), PGRES_TUPLES_OK);
      if (std::string_view(PQgetvalue(exists.get(), 0, 0)) != "t") return 0;
      const PgResult r = pg_exec(conn.get(), std::string(pg_schema::kReadVersion), PGRES_TUPLES_OK);
      return std::stoi(PQgetvalue(r.get(), 0, 0));
    };
    int v = version();
    if (v == pg_schema::kVersion) return;
    if (v > pg_schema::kVersion) {
      throw PgError("the database has saldo schema version " + std::to_string(v) + ", newer than this binary's " +
                    std::to_string(pg_schema::kVersion));
    }
    pg_exec(conn.get(), "BEGIN");
    pg_exec(conn.get(), std::string(pg_schema::kSchemaLock), PGRES_TUPLES_OK);
    if (version() == 0) {
      pg_exec(conn.get(), std::string(pg_schema::kCreate));
      spdlog::info("PostgreSQL sink ({}): created the tables (schema version {})", where, pg_schema::kVersion);
    }
    pg_exec(conn.get(), "COMMIT");
  }

  bool take_writer_lock() {
    bool said = false;
    while (!stopping) {
      const PgResult r = exec_params(conn.get(), pg_schema::kTryWriterLock, {options.topic}, PGRES_TUPLES_OK);
      if (std::string_view(PQgetvalue(r.get(), 0, 0)) == "t") return true;
      status.set_state(SinkState::kStandby);
      if (!said) {
        spdlog::info("PostgreSQL sink ({}): another instance writes topic '{}' to this database; standing by",
                     where, options.topic);
        said = true;
      }
      if (!pause(kStandbyRetry)) return false;
    }
    return false;
  }

  bool wait_for_topic() {
    while (!stopping) {
      if (const int n = query_partitions(rk.get(), options.topic, kMetadataTimeoutMs).count(); n > 0) {
        partitions = n;
        return true;
      }
      status.set_state(SinkState::kWaitingTopic);
      if (!pause(std::chrono::milliseconds(1000))) return false;
    }
    return false;
  }

  void read_positions_and_assign() {
    committed.assign(static_cast<std::size_t>(partitions), RD_KAFKA_OFFSET_BEGINNING);
    std::vector<std::int64_t> times(static_cast<std::size_t>(partitions), OrderClock::kUnread);
    int read_partitions = 0;
    const PgResult r = exec_params(conn.get(), pg_schema::kReadOffsets, {options.topic}, PGRES_TUPLES_OK);
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      const int p = std::stoi(PQgetvalue(r.get(), i, 0));
      read_partitions = std::max(read_partitions, p + 1);
      if (p < 0 || p >= partitions) continue;
      committed[static_cast<std::size_t>(p)] = std::stoll(PQgetvalue(r.get(), i, 1));
      if (!PQgetisnull(r.get(), i, 2)) times[static_cast<std::size_t>(p)] = std::stoll(PQgetvalue(r.get(), i, 2));
    }
    clock.restore(std::move(times));
    // What was written while the service was down may be of a topic since recreated or truncated.
    if (auto why = partitions_shrank(options.topic, partitions, read_partitions)) {
      forget(*why);
    } else if (auto why = stored_positions_outside_log()) {
      forget(*why);
    }
    assign();
    if (!ever_connected) {
      std::string from;
      for (std::int32_t p = 0; p < partitions; ++p) {
        const std::int64_t next = committed[static_cast<std::size_t>(p)];
        from.append(from.empty() ? "" : " ").append(std::to_string(p)).append(":");
        from.append(next == RD_KAFKA_OFFSET_BEGINNING ? "beginning" : std::to_string(next));
      }
      spdlog::info("PostgreSQL sink ({}): writing topic '{}' to table saldos, from partition:offset {}", where,
                   options.topic, from);
    }
  }

  std::optional<std::string> stored_positions_outside_log() {
    for (std::int32_t p = 0; p < partitions; ++p) {
      const std::int64_t next = committed[static_cast<std::size_t>(p)];
      if (next < 0) continue;
      std::int64_t low = -1, high = -1;
      if (const auto err =
              rd_kafka_query_watermark_offsets(rk.get(), options.topic.c_str(), p, &low, &high, kMetadataTimeoutMs)) {
        throw KafkaException(std::string("cannot read the watermarks: ") + rd_kafka_err2str(err), err);
      }
      if (auto why = position_outside_log(options.topic, p, next, low, high)) return why;
    }
    return std::nullopt;
  }

  // The tables hold a topic that is gone: empty them and their positions in one transaction, and
  // read the topic from its beginning, as the in-memory table does.
  void forget(const std::string& why) {
    spdlog::warn("PostgreSQL sink ({}): {}: emptying saldos and reading '{}' again from its beginning", where, why,
                 options.topic);
    pg_exec(conn.get(), "BEGIN");
    pg_exec(conn.get(), std::string(pg_schema::kForgetRows));
    exec_params(conn.get(), pg_schema::kForgetOffsets, {options.topic}, PGRES_COMMAND_OK);
    pg_exec(conn.get(), "COMMIT");
    committed.assign(static_cast<std::size_t>(partitions), RD_KAFKA_OFFSET_BEGINNING);
    clock.reset(static_cast<std::size_t>(partitions));
    status.topic_reset();
  }

  void assign() {
    PartitionList list(rd_kafka_topic_partition_list_new(partitions));
    for (std::int32_t p = 0; p < partitions; ++p) {
      rd_kafka_topic_partition_list_add(list.get(), options.topic.c_str(), p)->offset =
          committed[static_cast<std::size_t>(p)];
    }
    if (const auto err = rd_kafka_assign(rk.get(), list.get())) {
      throw KafkaException(std::string("cannot assign the partitions: ") + rd_kafka_err2str(err), err);
    }
  }

  // Between batches: false when the topic is not the one the tables hold any more (then forgotten,
  // and the session starts over).
  bool topic_unchanged(Clock::time_point& last_watermarks, Clock::time_point& last_metadata) {
    const auto now = Clock::now();
    if (now - last_watermarks >= kWatermarkInterval) {
      last_watermarks = now;
      for (std::int32_t p = 0; p < partitions; ++p) {
        std::int64_t low = -1, high = -1;
        if (rd_kafka_get_watermark_offsets(rk.get(), options.topic.c_str(), p, &low, &high) || high < 0) continue;
        if (auto why = position_outside_log(options.topic, p, committed[static_cast<std::size_t>(p)], low, high)) {
          forget(*why);
          return false;
        }
      }
    }
    if (now - last_metadata >= kMetadataInterval) {
      last_metadata = now;
      const int n = query_partitions(rk.get(), options.topic, kMetadataTimeoutMs).count();
      if (auto why = partitions_shrank(options.topic, n, partitions)) {
        forget(*why);
        return false;
      }
      if (n > partitions) {
        spdlog::warn("PostgreSQL sink ({}): topic '{}' grew from {} to {} partitions: reading the new ones from their "
                     "start",
                     where, options.topic, partitions, n);
        partitions = n;
        committed.resize(static_cast<std::size_t>(n), RD_KAFKA_OFFSET_BEGINNING);
        clock.grow(static_cast<std::size_t>(n));
        assign();
      }
    }
    return true;
  }

  void stream(std::chrono::milliseconds& backoff) {
    const KafkaQueue queue(rd_kafka_queue_get_consumer(rk.get()));
    std::vector<rd_kafka_message_t*> messages(kMaxBatch);
    auto last_lag = Clock::now() - std::chrono::seconds(1);
    auto last_watermarks = Clock::now(), last_metadata = Clock::now();
    while (!stopping) {
      rd_kafka_poll(rk.get(), 0);
      std::size_t n = 0;
      if (rd_kafka_message_t* first = rd_kafka_consume_queue(queue.get(), static_cast<int>(kPollTimeout.count()))) {
        messages[0] = first;
        const ssize_t more = rd_kafka_consume_batch_queue(queue.get(), 0, messages.data() + 1, messages.size() - 1);
        n = 1 + static_cast<std::size_t>(std::max<ssize_t>(more, 0));
      }
      batch.clear();
      for (std::size_t i = 0; i < n; ++i) {
        add(messages[i]);
        rd_kafka_message_destroy(messages[i]);
      }
      if (!batch.empty()) write();
      healthy(backoff);
      if (!topic_unchanged(last_watermarks, last_metadata)) return;
      if (Clock::now() - last_lag > std::chrono::milliseconds(500)) {
        last_lag = Clock::now();
        update_lag();
      }
    }
  }

  void add(const rd_kafka_message_t* m) {
    if (m->err) {
      if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF && Clock::now() - last_consume_error > std::chrono::seconds(10)) {
        last_consume_error = Clock::now();
        spdlog::warn("PostgreSQL sink: Kafka consume error: {}", rd_kafka_message_errstr(m));
      }
      return;
    }
    if (m->partition < 0 || m->partition >= partitions) return;
    // Already committed (a fetch that raced a re-assign): never counted or written twice.
    const std::int64_t done = committed[static_cast<std::size_t>(m->partition)];
    if (done >= 0 && m->offset < done) return;
    // Every record read moves its partition's ordering time, as in the table (record_applier.cpp).
    const std::int64_t ts = rd_kafka_message_timestamp(m, nullptr);
    const RecordOrder at{clock.next(m->partition, ts), m->partition, m->offset};
    std::optional<std::string_view> key;
    if (m->key) key.emplace(static_cast<const char*>(m->key), m->key_len);
    SinkChange c;
    c.order = at;
    std::optional<std::string_view> value;
    if (m->payload) value.emplace(static_cast<const char*>(m->payload), m->len);
    const RecordDecode d = decode_record(key, value, ts, update);
    // Poison moves the position and nothing else; the table reader counts and logs it.
    if (d.kind == RecordKind::kInvalid) return batch.skip(at);
    if (d.kind == RecordKind::kErase) {
      c.kind = SinkChange::Kind::kErase;
      c.cliente_id = *key;
      return batch.add(std::move(c));
    }
    c.kind = SinkChange::Kind::kSet;
    c.cliente_id = update.cliente_id;
    c.saldo = update.saldo;
    c.timestamp = update.timestamp;
    batch.add(std::move(c));
  }

  void write() {
    const auto t0 = Clock::now();
    PGconn* c = conn.get();
    pg_exec(c, "BEGIN");
    std::uint64_t rows = 0;
    if (!batch.changes().empty()) {
      copy_changes();
      const auto& changes = batch.changes();
      const auto erases = static_cast<std::size_t>(std::count_if(
          changes.begin(), changes.end(), [](const SinkChange& x) { return x.kind == SinkChange::Kind::kErase; }));
      if (erases < changes.size()) {
        rows += affected(pg_exec(c, std::string(pg_schema::kUpsertRows)));
        pg_exec(c, std::string(pg_schema::kForgetDeletions));
      }
      if (erases > 0) {
        pg_exec(c, std::string(pg_schema::kRecordDeletions));
        rows += affected(pg_exec(c, std::string(pg_schema::kDeleteRows)));
      }
    }
    std::vector<std::int64_t> parts, nexts, counts, times;
    for (const auto& p : batch.positions()) {
      parts.push_back(p.partition);
      nexts.push_back(p.next_offset);
      counts.push_back(p.records);
      times.push_back(p.order_ms);
    }
    exec_params(c, pg_schema::kWriteOffsets,
                {options.topic, int_array(parts), int_array(nexts), int_array(counts), int_array(times)},
                PGRES_COMMAND_OK);
    pg_exec(c, "COMMIT");
    for (const auto& p : batch.positions()) committed[static_cast<std::size_t>(p.partition)] = p.next_offset;
    status.transaction(rows, batch.records(), std::chrono::duration<double>(Clock::now() - t0).count());
  }

  void copy_changes() {
    PGconn* c = conn.get();
    {
      const PgResult r(PQexec(c, std::string(pg_schema::kCopyIntoStaging).c_str()));
      if (!r || PQresultStatus(r.get()) != PGRES_COPY_IN) throw PgError(one_line(PQerrorMessage(c)));
    }
    const std::string text = batch.copy_text();
    if (PQputCopyData(c, text.data(), static_cast<int>(text.size())) != 1 || PQputCopyEnd(c, nullptr) != 1) {
      throw PgError(one_line(PQerrorMessage(c)));
    }
    std::optional<PgError> error;
    while (PGresult* raw = PQgetResult(c)) {
      const PgResult r(raw);
      if (PQresultStatus(raw) != PGRES_COMMAND_OK && !error) error.emplace(pg_result_error(c, raw));
    }
    if (error) throw *error;
  }

  void update_lag() {
    std::int64_t lag = 0;
    for (std::int32_t p = 0; p < partitions; ++p) {
      std::int64_t low = 0, high = 0;
      if (rd_kafka_get_watermark_offsets(rk.get(), options.topic.c_str(), p, &low, &high) || high < 0) {
        // Not fetched yet: ask the broker (bounded; the sink has nothing else to do meanwhile).
        if (rd_kafka_query_watermark_offsets(rk.get(), options.topic.c_str(), p, &low, &high, 500)) {
          status.set_lag(-1);
          return;
        }
      }
      const std::int64_t done = committed[static_cast<std::size_t>(p)];
      lag += std::max<std::int64_t>(0, high - (done >= 0 ? done : low));
    }
    status.set_lag(lag);
  }
};

PostgresSink::PostgresSink(KafkaOptions kafka, std::string conninfo, PostgresSinkStatus& status)
    : impl_(std::make_unique<Impl>(std::move(kafka), std::move(conninfo), status)) {}

PostgresSink::~PostgresSink() {
  try {
    stop();
  } catch (...) {
  }
}

void PostgresSink::start() {
  impl_->create_consumer();
  thread_ = std::thread([this] {
    try {
      impl_->run();
    } catch (const std::exception& e) {
      // Not fatal for the service: the table and HTTP go on; the sink's state says it stopped.
      impl_->status.set_state(SinkState::kDown);
      impl_->status.set_error(e.what());
      spdlog::critical("PostgreSQL sink stopped: {}", e.what());
    }
  });
}

void PostgresSink::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  thread_.join();
  impl_->conn.reset();
  rd_kafka_consumer_close(impl_->rk.get());
  impl_->rk.reset();
}

}  // namespace saldo
