#include "tools/fix_routing.h"

#include <algorithm>
#include <map>
#include <thread>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "common/kafka_handles.h"
#include "common/partitioner.h"
#include "tools/routing_plan.h"

namespace saldo {
namespace {

using Clock = std::chrono::steady_clock;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Every record of every partition up to its high watermark when the scan began.
std::vector<ScannedRecord> scan(const KafkaOptions& kafka, std::int32_t& partitions, std::chrono::seconds timeout) {
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
  for (std::int32_t p = 0; p < partitions; ++p) {
    std::int64_t low = 0, high = 0;
    if (const auto e = rd_kafka_query_watermark_offsets(rk.get(), kafka.topic.c_str(), p, &low, &high, ms)) {
      throw KafkaException("watermarks of partition " + std::to_string(p) + ": " + rd_kafka_err2str(e), e);
    }
    if (high > low) {
      ends[p] = high;
      rd_kafka_topic_partition_list_add(list.get(), kafka.topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
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
      ScannedRecord r{m->partition, m->offset, rd_kafka_message_timestamp(m.get(), nullptr),
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

int fix_routing(const KafkaOptions& kafka, bool apply, std::chrono::seconds timeout, std::ostream& out) {
  std::int32_t partitions = 0;
  const std::vector<ScannedRecord> records = scan(kafka, partitions, timeout);
  const RoutingPlan plan = plan_routing(records, partitions);
  out << "topic " << kafka.topic << ": " << plan.records << " records, " << partitions << " partitions, "
      << plan.customers << " customers, " << plan.misrouted_records << " records off their murmur2 partition, "
      << plan.repairs.size() << " customers to repair\n";
  for (const RoutingRepair& r : plan.repairs) {
    out << "  " << r.key << ": belongs on partition " << r.home << "; tombstone on [";
    for (std::size_t i = 0; i < r.tombstone_on.size(); ++i) out << (i ? "," : "") << r.tombstone_on[i];
    out << "], then its latest " << (r.latest ? "value" : "delete") << " again on " << r.home << "\n";
  }
  if (plan.repairs.empty()) return 0;
  if (!apply) {
    out << "dry run: nothing written; run again with --apply to write the repair\n";
    return 1;
  }
  RepairWriter writer(kafka);
  for (const RoutingRepair& r : plan.repairs) {
    for (const std::int32_t p : r.tombstone_on) writer.write(r.key, std::nullopt, p, now_ms());
  }
  const std::int64_t tombstones_at = writer.flush(timeout);
  // The latest records must order after the tombstones: a later time (a topic with CreateTime takes
  // ours; with LogAppendTime the broker's clock must have moved past its own stamp).
  while (now_ms() <= tombstones_at) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  const std::int64_t stamp = std::max(now_ms(), tombstones_at + 1);
  for (const RoutingRepair& r : plan.repairs) writer.write(r.key, r.latest, r.home, stamp);
  writer.flush(timeout);
  out << "wrote the repair of " << plan.repairs.size() << " customers; compaction removes the stray records\n";
  return 0;
}

}  // namespace saldo
