#include "tools/fix_routing.h"

#include <algorithm>
#include <map>
#include <thread>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "common/kafka_handles.h"
#include "common/partitioner.h"
#include "common/watermark_query.h"
#include "tools/routing_plan.h"

namespace saldo {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::int64_t kClockSlackMs = 1000;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Every record of every partition up to its high watermark when the scan began.
// `log_append_time`: some record carries the broker's LogAppendTime stamp (the topic ignores ours).
std::vector<ScannedRecord> scan(const KafkaOptions& kafka, std::int32_t& partitions, bool& log_append_time,
                                std::chrono::seconds timeout) {
  log_append_time = false;
  KafkaOptions opts = kafka;
  opts.properties = {{"group.id", "saldo-admin-fix-routing"}, {"enable.auto.commit", "false"},
                     {"enable.partition.eof", "true"}, {"auto.offset.reset", "earliest"}};
  opts.properties.insert(opts.properties.end(), kafka.properties.begin(), kafka.properties.end());
  KafkaHandle rk = make_kafka_handle(RD_KAFKA_CONSUMER, make_kafka_conf(opts));
  const int ms = static_cast<int>(std::chrono::milliseconds(timeout).count());

  const KafkaTopic rkt(rd_kafka_topic_new(rk.get(), kafka.topic.c_str(), nullptr));
  const rd_kafka_metadata_t* raw = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk.get(), 0, rkt.get(), &raw, ms);
  const Metadata md(raw);
  if (err || md->topic_cnt != 1 || md->topics[0].err) {
    throw KafkaException("no metadata for topic '" + kafka.topic + "': " +
                         rd_kafka_err2str(err ? err : md->topic_cnt == 1 ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
  }
  partitions = md->topics[0].partition_cnt;

  std::map<std::int32_t, std::int64_t> ends;  // partition -> high watermark, for partitions with records
  const PartitionList list(rd_kafka_topic_partition_list_new(partitions));
  const WatermarkAnswer marks = ask_watermarks(rk.get(), kafka.topic, 0, partitions, ms);
  if (!marks.error.empty()) throw KafkaException("watermarks of '" + kafka.topic + "': " + marks.error);
  for (const PartitionMarks& m : marks.marks) {
    if (m.high > m.low) {
      ends[m.partition] = m.high;
      rd_kafka_topic_partition_list_add(list.get(), kafka.topic.c_str(), m.partition)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
  }
  std::vector<ScannedRecord> records;
  if (ends.empty()) return records;
  if (const auto e = rd_kafka_assign(rk.get(), list.get())) {
    throw KafkaException(std::string("assign: ") + rd_kafka_err2str(e), e);
  }
  const auto deadline = Clock::now() + timeout;
  while (!ends.empty()) {
    if (Clock::now() > deadline) throw KafkaException("the scan did not reach the end of the topic within --timeout");
    const KafkaMessage m(rd_kafka_consumer_poll(rk.get(), 200));
    if (!m) continue;
    const auto end = ends.find(m->partition);
    if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      throw KafkaException(std::string("reading the topic: ") + rd_kafka_message_errstr(m.get()), m->err);
    }
    if (!m->err && m->key != nullptr && end != ends.end() && m->offset < end->second) {
      rd_kafka_timestamp_type_t tstype = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE;
      const std::int64_t ts = rd_kafka_message_timestamp(m.get(), &tstype);
      if (tstype == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME) log_append_time = true;
      ScannedRecord r{m->partition, m->offset, ts,
                      std::string(static_cast<const char*>(m->key), m->key_len), std::nullopt};
      if (m->payload) r.value.emplace(static_cast<const char*>(m->payload), m->len);
      records.push_back(std::move(r));
    }
    const std::int64_t next = m->err ? m->offset : m->offset + 1;
    if (end != ends.end() && next >= end->second) ends.erase(end);
  }
  rd_kafka_consumer_close(rk.get());
  return records;
}

// An idempotent producer that writes to explicit partitions and keeps the broker's timestamps.
class RepairWriter {
 public:
  explicit RepairWriter(const KafkaOptions& kafka) : topic_(kafka.topic) {
    KafkaOptions opts = kafka;
    opts.properties = {{"enable.idempotence", "true"}, {"acks", "all"}};
    opts.properties.insert(opts.properties.end(), kafka.properties.begin(), kafka.properties.end());
    KafkaConf conf = make_kafka_conf(opts);
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &RepairWriter::on_delivery);
    rk_ = make_kafka_handle(RD_KAFKA_PRODUCER, std::move(conf));
  }

  void write(const std::string& key, const std::optional<std::string>& record_value, std::int32_t partition,
             std::int64_t timestamp_ms) {
    void* payload = record_value ? const_cast<char*>(record_value->data()) : nullptr;
    const std::size_t payload_len = record_value ? record_value->size() : 0;
    const auto err = rd_kafka_producev(
        rk_.get(), RD_KAFKA_V_TOPIC(topic_.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key.data(), key.size()),
        RD_KAFKA_V_VALUE(payload, payload_len),
        RD_KAFKA_V_TIMESTAMP(timestamp_ms), RD_KAFKA_V_END);
    if (err) throw KafkaException("queueing a repair record: " + std::string(rd_kafka_err2str(err)), err);
    rd_kafka_poll(rk_.get(), 0);
  }

  // Waits for every delivery; throws if one failed. Returns the latest broker timestamp delivered.
  std::int64_t flush(std::chrono::seconds timeout) {
    rd_kafka_flush(rk_.get(), static_cast<int>(std::chrono::milliseconds(timeout).count()));
    if (rd_kafka_outq_len(rk_.get()) > 0) throw KafkaException("repair records not delivered within --timeout");
    if (failed_ > 0) throw KafkaException(std::to_string(failed_) + " repair records failed: " + last_error_);
    return latest_ts_;
  }

 private:
  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) noexcept {
    auto* self = static_cast<RepairWriter*>(opaque);
    if (m->err) {
      ++self->failed_;
      self->last_error_ = rd_kafka_err2str(m->err);
      return;
    }
    self->latest_ts_ = std::max(self->latest_ts_, rd_kafka_message_timestamp(m, nullptr));
  }

  std::string topic_;
  KafkaHandle rk_;
  int failed_ = 0;
  std::string last_error_;
  std::int64_t latest_ts_ = 0;
};

}  // namespace

// Safety (ARCHITECTURE.md, "Consistency"; the table's rule is the greatest (ordering time, partition,
// offset), a partition's ordering time being the greatest timestamp read in it so far):
// - On a CreateTime topic the latest is re-written home FIRST, stamped S = max(now, stamp_at_least):
//   S is past the winner's ordering time and past every stray partition's, so the copy wins
//   whatever the winner's timestamp (also one stamped in the future) and its partition number. Only
//   once it is delivered are the tombstones written, stamped S - 1: a tombstone's ordering time is
//   then max(that partition's time, S - 1) = S - 1 < S, so it orders before the copy at every moment
//   and no reader ever sees a 404 or an older value. A later client write on the home partition
//   orders after the copy (same partition, later offset), even if S is still ahead of the clock.
//   If the broker refuses S (beyond message.timestamp.after.max.ms) nothing is tombstoned.
// - On a LogAppendTime topic the broker stamps both with its clock, so the copy cannot be written
//   first (every tombstone after it would be as late); tombstones go first and the copy after the
//   broker's clock has passed them (a reader may see the key missing for those milliseconds). A key
//   whose copy would need a stamp ahead of now (its winner or a stray partition stamped in the
//   future, more than a second ahead) cannot be repaired there: it is refused with a line, counted,
//   and the exit status is 2.
int fix_routing(const KafkaOptions& kafka, bool apply, std::chrono::seconds timeout, std::ostream& out) {
  std::int32_t partitions = 0;
  bool log_append_time = false;
  const std::vector<ScannedRecord> records = scan(kafka, partitions, log_append_time, timeout);
  const RoutingPlan plan = plan_routing(records, partitions);
  const std::int64_t scanned_at = now_ms();
  std::vector<const RoutingRepair*> doable;
  std::vector<const RoutingRepair*> refused;
  for (const RoutingRepair& r : plan.repairs) {
    // A second of slack for the broker's clock running a little ahead of ours: the copy waits for it.
    (log_append_time && r.stamp_at_least > scanned_at + kClockSlackMs ? refused : doable).push_back(&r);
  }
  out << "topic " << kafka.topic << ": " << plan.records << " records, " << partitions << " partitions, "
      << plan.customers << " customers, " << plan.misrouted_records << " records off their murmur2 partition, "
      << plan.spread_customers << " customers on several partitions, " << plan.repairs.size()
      << " customers to repair, " << refused.size() << " refused\n";
  for (const RoutingRepair* r : doable) {
    out << "  " << r->key << ": belongs on partition " << r->home << "; its latest "
        << (r->latest ? "value" : "delete") << " again on " << r->home << " stamped at least " << r->stamp_at_least
        << ", then tombstone on [";
    for (std::size_t i = 0; i < r->tombstone_on.size(); ++i) out << (i ? "," : "") << r->tombstone_on[i];
    out << "]\n";
  }
  for (const RoutingRepair* r : refused) {
    out << "  " << r->key << ": REFUSED: its repair must be stamped " << r->stamp_at_least << ", "
        << (r->stamp_at_least - scanned_at) << " ms ahead of now, and this LogAppendTime topic stamps "
        << "records itself; run again once that time has passed\n";
  }
  if (plan.repairs.empty()) return 0;
  if (!apply) {
    out << "dry run: nothing written; run again with --apply to write the repair\n";
    return 1;
  }
  RepairWriter writer(kafka);
  if (log_append_time) {
    for (const RoutingRepair* r : doable) {
      for (const std::int32_t p : r->tombstone_on) writer.write(r->key, std::nullopt, p, now_ms());
    }
    std::int64_t copies_from = writer.flush(timeout) + 1;
    for (const RoutingRepair* r : doable) copies_from = std::max(copies_from, r->stamp_at_least);
    while (now_ms() < copies_from) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    for (const RoutingRepair* r : doable) writer.write(r->key, r->latest, r->home, now_ms());
    writer.flush(timeout);
  } else {
    std::vector<std::int64_t> stamps;
    const std::int64_t now = now_ms();
    for (const RoutingRepair* r : doable) {
      stamps.push_back(std::max(now, r->stamp_at_least));
      writer.write(r->key, r->latest, r->home, stamps.back());
    }
    writer.flush(timeout);
    for (std::size_t i = 0; i < doable.size(); ++i) {
      for (const std::int32_t p : doable[i]->tombstone_on) writer.write(doable[i]->key, std::nullopt, p, stamps[i] - 1);
    }
    writer.flush(timeout);
  }
  out << "wrote the repair of " << doable.size() << " customers; compaction removes the stray records\n";
  if (!refused.empty()) {
    out << refused.size() << " customers refused (see above)\n";
    return 2;
  }
  return 0;
}

}  // namespace saldo
