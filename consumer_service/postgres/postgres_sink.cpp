#include "consumer_service/postgres/postgres_sink.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <vector>

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include "common/background_job.h"
#include "common/codec.h"
#include "common/customer_id.h"
#include "common/kafka_handles.h"
#include "common/postgres.h"
#include "common/record_order.h"
#include "common/worker_thread.h"
#include "consumer_service/topic/consumer_settings.h"
#include "consumer_service/topic/topic_reader.h"
#include "consumer_service/postgres/postgres_batch.h"
#include "consumer_service/postgres/postgres_first_load.h"
#include "consumer_service/postgres/postgres_schema.h"
#include "consumer_service/postgres/postgres_tables.h"

namespace saldo {
namespace {

using Clock = std::chrono::steady_clock;

// Up to this many records per transaction: large enough that a replay is bulk work for PostgreSQL,
// small enough that one transaction stays well under a second.
constexpr std::size_t kMaxBatch = 20000;
constexpr std::chrono::milliseconds kPollTimeout{100};
constexpr std::chrono::milliseconds kInFlightPollTimeout{10};
constexpr std::chrono::milliseconds kFirstBackoff{250};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
constexpr std::chrono::milliseconds kLagInterval{500};
constexpr std::chrono::milliseconds kStandbyRetry{2000};
// How long a start waits for the records the stored positions name as read last (one fetch each).
constexpr std::chrono::milliseconds kIdentityTimeout{5000};

std::string int_array(const std::vector<std::int64_t>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out.push_back(',');
    out.append(std::to_string(values[i]));
  }
  return out.append("}");
}

std::uint64_t affected(const PgResult& r) {
  const char* n = PQcmdTuples(r.get());
  return n && *n ? std::stoull(n) : 0;
}

}  // namespace

struct PostgresSink::Impl final : TopicListener {
  KafkaOptions options;
  std::string conninfo;
  std::string where;  // describe_conninfo(): host, port, database, user; never the password
  std::string table;
  pg_schema::TableStatements sql;
  PostgresSinkStatus& status;

  WorkerThread worker;
  std::optional<CompactedTopicReader> reader;
  PgConn conn;

  std::int32_t partitions = 0;
  std::vector<std::int64_t> committed;  // per partition: next offset committed in PostgreSQL
  std::vector<RecordFingerprint> last_read;  // per partition: the record read last, as committed
  std::vector<RecordFingerprint> pending_last;  // per partition: the record read last in the batch being written
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::vector<std::size_t> last_in_batch;  // per partition: index of its last record in the batch
  OrderClock clock;                     // per partition: ordering time of the records read
  SinkBatch batch;
  FirstLoad first_load;
  BalanceUpdate update;  // decode buffer, reused

  // One batch's transaction, made on the sink's thread and written on `writer`'s: while PostgreSQL
  // works on it, the sink reads and decodes the next batch (the two used to take turns, and the first
  // load ran at 0.4-0.5 x COPY with both cores less than half busy).
  struct Transaction {
    FirstLoad::Split split;
    std::vector<SinkBatch::Position> positions;
    std::vector<RecordFingerprint> last;  // per partition: the record read last, once committed
    std::size_t records = 0;
    // Set by the writer.
    std::uint64_t rows = 0;
    double seconds = 0;
  };
  std::optional<Transaction> in_flight;  // handed to `writer`, not waited for yet
  BackgroundJob writer;  // uses `conn` while a transaction is in flight; the sink's thread then does not
  std::string last_logged_error;
  std::optional<Clock::time_point> down_since;
  Clock::time_point last_consume_error{};
  bool ever_connected = false;

  Impl(KafkaOptions o, std::string c, std::string t, PostgresSinkStatus& s)
      : options(std::move(o)),
        conninfo(std::move(c)),
        where(describe_conninfo(conninfo)),
        table(std::move(t)),
        sql(pg_schema::statements_for(table)),
        status(s) {
    if (!pg_schema::valid_table_name(table)) {
      throw ConfigError("--postgres-table '" + table +
                        "': use lower-case letters, digits and '_' (not first a digit), at most 50 characters");
    }
  }

  void create_consumer() {
    TopicReaderSettings settings{.kafka = options, .defaults = sink_consumer_defaults(), .listener = this};
    settings.log_waits = false;  // the table reader says it; the sink's state says it in /ready
    settings.max_batch = kMaxBatch;
    reader.emplace(std::move(settings), worker);
  }

  void on_topic_missing(bool missing) override {
    if (missing) status.set_state(SinkState::kWaitingTopic);
  }

  void on_consume_error(rd_kafka_resp_err_t, const char* text) override {
    try {
      if (Clock::now() - last_consume_error > std::chrono::seconds(10)) {
        last_consume_error = Clock::now();
        spdlog::warn("PostgreSQL sink: Kafka consume error: {}", text);
      }
    } catch (...) {
    }
  }

  void run() {
    auto backoff = kFirstBackoff;
    while (!worker.stopping()) {
      try {
        session(backoff);
      } catch (const PgError& e) {
        failed(e.what());
      } catch (const KafkaException& e) {
        failed(std::string("Kafka: ") + e.what());
      } catch (const TableRefused&) {
        conn.reset();  // rolls back, and lets go of the schema lock for the other sinks
        throw;
      }
      conn.reset();
      reader->unassign();
      if (worker.stopping() || !pause_updating_lag(backoff)) break;
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
    if (ensure_tables(conn.get(), sql, table, options.topic, where)) status.topic_reset();
    pg_exec(conn.get(), std::string(pg_schema::kCreateStaging));
    pg_exec(conn.get(), std::string(pg_schema::kSessionSettings));
    if (!take_writer_lock()) return;
    const std::optional<int> n = reader->wait_for_topic();
    if (!n) return;
    partitions = *n;
    read_positions_and_assign();
    begin_first_load();
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

  bool take_writer_lock() {
    bool said = false;
    while (!worker.stopping()) {
      const PgResult r = pg_exec_params(conn.get(), pg_schema::kTryWriterLock, {options.topic}, PGRES_TUPLES_OK);
      if (std::string_view(PQgetvalue(r.get(), 0, 0)) == "t") return true;
      status.set_state(SinkState::kStandby);
      if (!said) {
        spdlog::info("PostgreSQL sink ({}): another instance writes topic '{}' to this database; standing by",
                     where, options.topic);
        said = true;
      }
      if (!worker.pause(kStandbyRetry)) return false;
    }
    return false;
  }

  std::int64_t position(std::int32_t p) const { return committed[static_cast<std::size_t>(p)]; }

  void read_positions_and_assign() {
    committed.assign(static_cast<std::size_t>(partitions), RD_KAFKA_OFFSET_BEGINNING);
    std::vector<std::int64_t> times(static_cast<std::size_t>(partitions), OrderClock::kUnread);
    last_read.assign(static_cast<std::size_t>(partitions), RecordFingerprint{});
    int read_partitions = 0;
    const PgResult r = pg_exec_params(conn.get(), pg_schema::kReadOffsets, {options.topic}, PGRES_TUPLES_OK);
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      const int p = std::stoi(PQgetvalue(r.get(), i, 0));
      read_partitions = std::max(read_partitions, p + 1);
      if (p < 0 || p >= partitions) continue;
      committed[static_cast<std::size_t>(p)] = std::stoll(PQgetvalue(r.get(), i, 1));
      if (!PQgetisnull(r.get(), i, 2)) times[static_cast<std::size_t>(p)] = std::stoll(PQgetvalue(r.get(), i, 2));
      if (!PQgetisnull(r.get(), i, 3) && !PQgetisnull(r.get(), i, 4) && !PQgetisnull(r.get(), i, 5)) {
        last_read[static_cast<std::size_t>(p)] = {std::stoll(PQgetvalue(r.get(), i, 3)),
                                                  std::stoll(PQgetvalue(r.get(), i, 4)),
                                                  static_cast<std::uint64_t>(std::stoll(PQgetvalue(r.get(), i, 5)))};
      }
    }
    clock.restore(std::move(times));
    // What was written while the service was down may be of a topic since recreated or truncated.
    TopicChange change = partition_count_change(options.topic, partitions, read_partitions);
    if (change.kind != TopicChange::Kind::kReset) {
      change = reader->check(partitions, [this](std::int32_t p) { return position(p); });
    }
    if (change.kind != TopicChange::Kind::kReset) change = identity_change();
    if (change.kind == TopicChange::Kind::kReset) forget(change);
    assign();
    if (!ever_connected) {
      std::string from;
      for (std::int32_t p = 0; p < partitions; ++p) {
        const std::int64_t next = position(p);
        from.append(from.empty() ? "" : " ").append(std::to_string(p)).append(":");
        from.append(next == RD_KAFKA_OFFSET_BEGINNING ? "beginning" : std::to_string(next));
      }
      spdlog::info("PostgreSQL sink ({}): writing topic '{}' to table {}, from partition:offset {}", where,
                   options.topic, table, from);
    }
  }

  // Both tables empty, the writer lock held: the load goes straight in (postgres_first_load.h).
  void begin_first_load() {
    const PgResult r = pg_exec(conn.get(), sql.tables_empty, PGRES_TUPLES_OK);
    first_load.restart(std::string_view(PQgetvalue(r.get(), 0, 0)) == "t");
    if (first_load.active()) {
      spdlog::info("PostgreSQL sink ({}): {} is empty: first load, each customer's first row is copied straight in "
                   "until it catches up", where, table);
    }
  }

  // Offsets that still fit a topic deleted and created again with more records: the record read last
  // in each partition must still be there, the same (topic/record_fingerprint.h), as for the snapshot.
  TopicChange identity_change() {
    std::vector<std::int64_t> offsets;
    for (std::int32_t p = 0; p < partitions; ++p) {
      // Positions written before the fingerprint columns came name no record: nothing to compare.
      offsets.push_back(position(p) >= 0 ? last_read[static_cast<std::size_t>(p)].offset : -1);
    }
    const auto found = reader->fingerprints_at(offsets, kIdentityTimeout);
    for (std::int32_t p = 0; p < partitions; ++p) {
      const auto& stored = offsets[static_cast<std::size_t>(p)] >= 0 ? last_read[static_cast<std::size_t>(p)]
                                                                     : RecordFingerprint{};
      if (auto why = check_fingerprint(options.topic, p, stored, found[static_cast<std::size_t>(p)])) {
        return TopicChange::reset({ResetCause::kRecreated, why->result + ": " + why->reason});
      }
    }
    return TopicChange::none();
  }

  // The tables hold a topic that is gone: empty them and their positions in one transaction, and
  // read the topic from its beginning, as the in-memory table does. Only this topic's tables.
  void forget(const TopicChange& reset) {
    spdlog::warn("PostgreSQL sink ({}): {}: emptying {} and reading '{}' again from its beginning", where, reset.why,
                 table, options.topic);
    pg_exec(conn.get(), "BEGIN");
    pg_exec(conn.get(), sql.forget_rows);
    pg_exec_params(conn.get(), pg_schema::kForgetOffsets, {options.topic}, PGRES_COMMAND_OK);
    pg_exec(conn.get(), "COMMIT");
    committed.assign(static_cast<std::size_t>(partitions), RD_KAFKA_OFFSET_BEGINNING);
    last_read.assign(static_cast<std::size_t>(partitions), RecordFingerprint{});
    clock.reset(static_cast<std::size_t>(partitions));
    status.topic_reset();
  }

  void assign() {
    reader->assign(partitions, [this](std::int32_t p) { return position(p); });
  }

  // Between batches: false when the topic is not the one the tables hold any more (then forgotten,
  // and the session starts over).
  bool topic_unchanged() {
    const TopicChange change = reader->watch(partitions, [this](std::int32_t p) { return position(p); });
    if (change.kind != TopicChange::Kind::kNone) finish_in_flight();  // the connection and positions are ours again
    if (change.kind == TopicChange::Kind::kReset) {
      forget(change);
      return false;
    }
    if (change.kind == TopicChange::Kind::kPartitionsAdded) {
      spdlog::warn("PostgreSQL sink ({}): topic '{}' grew from {} to {} partitions: reading the new ones from their "
                   "start",
                   where, options.topic, partitions, change.partitions);
      partitions = change.partitions;
      committed.resize(static_cast<std::size_t>(partitions), RD_KAFKA_OFFSET_BEGINNING);
      last_read.resize(static_cast<std::size_t>(partitions));
      clock.grow(static_cast<std::size_t>(partitions));
      assign();
    }
    return true;
  }

  void stream(std::chrono::milliseconds& backoff) {
    // However the session ends, the connection is the sink's thread's again before it is closed.
    struct Drain {
      Impl& self;
      ~Drain() {
        try {
          self.writer.wait();
        } catch (...) {
        }
        self.in_flight.reset();
      }
    } drain{*this};
    auto last_lag = Clock::now() - std::chrono::seconds(1);
    while (!worker.stopping()) {
      // While a transaction is in flight, its commit is taken up soon even when no record comes.
      reader->poll(in_flight ? kInFlightPollTimeout : kPollTimeout);
      batch.clear();
      pending_last.resize(static_cast<std::size_t>(partitions));
      last_in_batch.resize(static_cast<std::size_t>(partitions), kNone);
      // The fingerprint of each partition's last record goes with the positions: one hash per
      // partition per batch, taken while the records' views are valid.
      const auto records = reader->records();
      for (std::size_t i = 0; i < records.size(); ++i) {
        if (add(records[i])) last_in_batch[static_cast<std::size_t>(records[i].partition)] = i;
      }
      for (std::size_t p = 0; p < last_in_batch.size(); ++p) {
        if (last_in_batch[p] == kNone) continue;
        pending_last[p] = fingerprint_of(records[last_in_batch[p]]);
        last_in_batch[p] = kNone;
      }
      reader->release();
      std::optional<Transaction> next;
      if (!batch.empty()) next = prepare();
      const bool committed_one = finish_in_flight();
      // A transaction committed, or there was nothing to write (nothing is in flight after the wait
      // above): the sink works.
      if (committed_one || !next) healthy(backoff);
      if (next) {
        in_flight = std::move(next);
        writer.start([this] { write(*in_flight); });
      }
      if (!topic_unchanged()) return;
      if (Clock::now() - last_lag > kLagInterval) {
        last_lag = Clock::now();
        update_lag();
      }
    }
    finish_in_flight();
  }

  // False when the record is not the sink's to write (not assigned, or committed already).
  bool add(const TopicRecord& m) {
    if (m.partition < 0 || m.partition >= partitions) return false;
    // Already committed (a fetch that raced a re-assign): never counted or written twice.
    const std::int64_t done = position(m.partition);
    if (done >= 0 && m.offset < done) return false;
    // Every record read moves its partition's ordering time, as in the table (record_applier.cpp).
    const RecordOrder at{clock.next(m.partition, m.timestamp_ms), m.partition, m.offset};
    SinkChange c;
    c.order = at;
    const RecordDecode d = decode_record(m.key, m.value, m.timestamp_ms, update);
    // Poison moves the position and nothing else; the table reader counts and logs it.
    if (d.kind == RecordKind::kInvalid) {
      batch.skip(at);
      return true;
    }
    if (d.kind == RecordKind::kErase) {
      c.kind = SinkChange::Kind::kErase;
      c.cliente_id = *m.key;
      batch.add(std::move(c));
      return true;
    }
    c.kind = SinkChange::Kind::kSet;
    c.cliente_id = update.cliente_id;
    c.saldo = update.saldo;
    c.timestamp = update.timestamp;
    batch.add(std::move(c));
    return true;
  }

  // The batch as its transaction will write it; what the first load copies straight in is decided
  // here, on the sink's thread, in batch order.
  Transaction prepare() {
    Transaction t;
    t.split = first_load.split(batch.changes());
    t.positions = batch.positions();
    t.last = pending_last;
    t.records = batch.records();
    return t;
  }

  // Waits for the transaction in flight, if any (rethrowing its failure: the session ends, and the
  // next one starts from what was committed), and takes its positions as committed. True when one
  // committed.
  bool finish_in_flight() {
    if (!in_flight) return false;
    writer.wait();
    const Transaction t = std::move(*in_flight);
    in_flight.reset();
    for (const auto& p : t.positions) {
      committed[static_cast<std::size_t>(p.partition)] = p.next_offset;
      last_read[static_cast<std::size_t>(p.partition)] = t.last[static_cast<std::size_t>(p.partition)];
    }
    status.transaction(t.rows, t.records, t.seconds);
    return true;
  }

  // On the writer's thread: one transaction, the rows and the positions together.
  void write(Transaction& t) {
    const auto t0 = Clock::now();
    PGconn* c = conn.get();
    pg_exec(c, "BEGIN");
    std::uint64_t rows = 0;
    const FirstLoad::Split& split = t.split;
    if (!split.rows.empty()) rows += copy_in(sql.copy_rows, split.rows);
    if (!split.deletions.empty()) copy_in(sql.copy_deletions, split.deletions);
    if (!split.staged.empty()) {
      copy_in(pg_schema::kCopyIntoStaging, split.staged);
      if (split.staged_sets > 0) {
        rows += affected(pg_exec(c, sql.upsert_rows));
        pg_exec(c, sql.forget_deletions);
      }
      if (split.staged_erases > 0) {
        pg_exec(c, sql.record_deletions);
        rows += affected(pg_exec(c, sql.delete_rows));
      }
    }
    std::vector<std::int64_t> parts, nexts, counts, times, last_offsets, last_times, last_hashes;
    for (const auto& p : t.positions) {
      const RecordFingerprint& last = t.last[static_cast<std::size_t>(p.partition)];
      parts.push_back(p.partition);
      nexts.push_back(p.next_offset);
      counts.push_back(p.records);
      times.push_back(p.order_ms);
      last_offsets.push_back(last.offset);
      last_times.push_back(last.timestamp_ms);
      last_hashes.push_back(static_cast<std::int64_t>(last.content_hash));  // bigint keeps the 64 bits
    }
    pg_exec_params(c, pg_schema::kWriteOffsets,
                   {options.topic, int_array(parts), int_array(nexts), int_array(counts), int_array(times),
                    int_array(last_offsets), int_array(last_times), int_array(last_hashes)},
                   PGRES_COMMAND_OK);
    pg_exec(c, "COMMIT");
    t.rows = rows;
    t.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  }

  // COPY `text` with `copy` (a COPY ... FROM STDIN); returns the rows it wrote.
  std::uint64_t copy_in(std::string_view copy, const std::string& text) {
    PGconn* c = conn.get();
    {
      const PgResult r(PQexec(c, std::string(copy).c_str()));
      if (!r || PQresultStatus(r.get()) != PGRES_COPY_IN) throw PgError(one_line(PQerrorMessage(c)));
    }
    if (PQputCopyData(c, text.data(), static_cast<int>(text.size())) != 1 || PQputCopyEnd(c, nullptr) != 1) {
      throw PgError(one_line(PQerrorMessage(c)));
    }
    std::optional<PgError> error;
    std::uint64_t rows = 0;
    while (PGresult* raw = PQgetResult(c)) {
      const PgResult r(raw);
      if (PQresultStatus(raw) != PGRES_COMMAND_OK) {
        if (!error) error.emplace(pg_result_error(c, raw));
      } else {
        rows += affected(r);
      }
    }
    if (error) throw *error;
    return rows;
  }

  // The backoff after a failure, cut in steps so the lag keeps moving while PostgreSQL fails: the
  // records written to the topic meanwhile are records the database does not have.
  bool pause_updating_lag(std::chrono::milliseconds backoff) {
    const auto until = Clock::now() + backoff;
    while (true) {
      update_lag();
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
      if (left.count() <= 0) return true;
      if (!worker.pause(std::min(left, kLagInterval))) return false;
    }
  }

  // Records between the positions committed in PostgreSQL and each partition's end as the broker said
  // last (the end-offset probe asks about once a second whatever the sink is doing, so this moves
  // while the sink fails; librdkafka's cached watermarks stop with the fetches). Up to the last stable
  // offset: the sink reads committed records only. -1 while either side is unknown (the positions
  // before the first connection, the ends before the broker's first answer).
  void update_lag() {
    const auto ends = reader->end_offsets().latest();
    if (!ends || committed.empty() || ends->stable.size() < committed.size()) {
      status.set_lag(-1);
      return;
    }
    std::int64_t lag = 0;
    for (std::int32_t p = 0; p < partitions; ++p) {
      std::int64_t from = position(p);
      if (from < 0) {  // nothing committed: from the partition's start
        const auto marks = reader->cached_watermarks(p);
        from = marks ? marks->low : 0;
      }
      lag += std::max<std::int64_t>(0, ends->stable[static_cast<std::size_t>(p)] - from);
    }
    status.set_lag(lag);
    if (lag == 0 && first_load.active()) {
      const std::size_t keys = first_load.keys();
      first_load.finish();
      spdlog::info("PostgreSQL sink ({}): first load done, caught up: {} customers copied straight in; from now on "
                   "each change is compared with the row it replaces", where, keys);
    }
  }
};

PostgresSink::PostgresSink(KafkaOptions kafka, std::string conninfo, std::string table, PostgresSinkStatus& status)
    : impl_(std::make_unique<Impl>(std::move(kafka), std::move(conninfo), std::move(table), status)) {}

PostgresSink::~PostgresSink() {
  try {
    stop();
  } catch (...) {
  }
}

void PostgresSink::start() {
  impl_->create_consumer();
  impl_->worker.start([impl = impl_.get()] {
    try {
      impl->run();
    } catch (const std::exception& e) {
      // Not fatal for the service: the table and HTTP go on; the sink's state says it stopped.
      impl->status.set_state(SinkState::kDown);
      impl->status.set_error(e.what());
      spdlog::critical("PostgreSQL sink stopped: {}", e.what());
    }
  });
}

void PostgresSink::stop() {
  impl_->worker.stop();
  impl_->conn.reset();
  if (impl_->reader) impl_->reader->close();
}

}  // namespace saldo
