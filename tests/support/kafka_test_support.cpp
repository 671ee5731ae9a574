#include "tests/support/kafka_test_support.h"

#include "tests/support/service_process.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <thread>

namespace saldo::test {
namespace {

using Clock = std::chrono::steady_clock;

KafkaHandle make_client(rd_kafka_type_t type, const KeyValues& extra = {}) {
  KafkaOptions options{bootstrap_servers(), "", "", extra};
  KafkaConf conf = make_kafka_conf(options);
  return make_kafka_handle(type, std::move(conf));
}

std::string err_text(rd_kafka_resp_err_t err) { return rd_kafka_err2str(err); }

}  // namespace

std::string bootstrap_servers() {
  const char* v = std::getenv("SALDO_TEST_BOOTSTRAP_SERVERS");
  if (v == nullptr || *v == '\0') {
    throw std::runtime_error(
        "SALDO_TEST_BOOTSTRAP_SERVERS is not set: integration tests need a real broker "
        "(scripts/test.sh starts one and sets it)");
  }
  return v;
}

std::string numbered(std::string_view prefix, std::int64_t n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

std::string unique_topic(std::string_view prefix) {
  static std::atomic<int> counter{0};
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::string(prefix) + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
}

int partition_count(const std::string& topic) {
  KafkaHandle rk = make_client(RD_KAFKA_PRODUCER);
  for (auto deadline = Clock::now() + std::chrono::seconds(30); Clock::now() < deadline;) {
    const rd_kafka_metadata_t* raw = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk.get(), 1, nullptr, &raw, 5000);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      Metadata md(raw);
      for (int i = 0; i < md->topic_cnt; ++i) {
        if (topic == md->topics[i].topic && md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          return md->topics[i].partition_cnt;
        }
      }
      throw std::runtime_error("topic " + topic + " not found");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  throw std::runtime_error("no metadata for " + topic);
}

namespace {

// Waits for one admin result event of `type` and throws on its error or its topic's error.
void admin_result(rd_kafka_queue_t* queue, rd_kafka_event_type_t type, const std::string& what) {
  KafkaEvent ev(rd_kafka_queue_poll(queue, 60000));
  if (!ev) throw std::runtime_error(what + ": no answer within 60 s");
  if (rd_kafka_event_type(ev.get()) != type) throw std::runtime_error(what + ": unexpected event");
  if (rd_kafka_event_error(ev.get())) throw std::runtime_error(what + ": " + rd_kafka_event_error_string(ev.get()));
  size_t n = 0;
  const rd_kafka_topic_result_t** results = nullptr;
  switch (type) {
    case RD_KAFKA_EVENT_CREATETOPICS_RESULT:
      results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.get()), &n);
      break;
    case RD_KAFKA_EVENT_DELETETOPICS_RESULT:
      results = rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev.get()), &n);
      break;
    default:
      results = rd_kafka_CreatePartitions_result_topics(rd_kafka_event_CreatePartitions_result(ev.get()), &n);
  }
  for (size_t i = 0; i < n; ++i) {
    if (const auto err = rd_kafka_topic_result_error(results[i])) {
      const char* text = rd_kafka_topic_result_error_string(results[i]);
      throw std::runtime_error(what + ": " + (text ? text : err_text(err)));
    }
  }
}

// The topic's partition count per the metadata when every partition has a leader: 0 when the topic
// is unknown, -1 on an error or while some partition has no leader.
int led_partitions(rd_kafka_t* rk, const std::string& topic) {
  const rd_kafka_metadata_t* raw = nullptr;
  KafkaTopic rkt(rd_kafka_topic_new(rk, topic.c_str(), nullptr));
  if (rd_kafka_metadata(rk, 0, rkt.get(), &raw, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) return -1;
  const Metadata md(raw);
  if (md->topic_cnt != 1 || md->topics[0].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) return 0;
  if (md->topics[0].err) return -1;
  for (int p = 0; p < md->topics[0].partition_cnt; ++p) {
    if (md->topics[0].partitions[p].leader < 0) return -1;
  }
  return md->topics[0].partition_cnt;
}

// Waits until the topic has `partitions` partitions whose leaders serve requests, so a produce right
// after this does not race their creation.
void wait_for_leaders(rd_kafka_t* rk, const std::string& topic, int partitions) {
  if (!wait_until([&] { return led_partitions(rk, topic) == partitions; }, std::chrono::seconds(30),
                  std::chrono::milliseconds(50))) {
    throw std::runtime_error("topic " + topic + " has no leaders after 30 s");
  }
  // Metadata shows a leader before it serves requests: see wait_for_partition_leaders.
  if (const rd_kafka_resp_err_t err = wait_for_partition_leaders(rk, topic, partitions, std::chrono::seconds(30))) {
    throw std::runtime_error("topic " + topic + ": leaders not serving: " + err_text(err));
  }
}

}  // namespace

void create_topic(const std::string& topic, int partitions, const KeyValues& configs) {
  KafkaHandle rk = make_client(RD_KAFKA_PRODUCER);
  char errstr[512];
  NewTopic nt(rd_kafka_NewTopic_new(topic.c_str(), partitions, 1, errstr, sizeof errstr));
  if (!nt) throw std::runtime_error(std::string("NewTopic: ") + errstr);
  bool has_policy = false;
  for (const auto& [k, v] : configs) {
    has_policy |= (k == "cleanup.policy");
    rd_kafka_NewTopic_set_config(nt.get(), k.c_str(), v.c_str());
  }
  if (!has_policy) rd_kafka_NewTopic_set_config(nt.get(), "cleanup.policy", "compact");

  KafkaQueue queue(rd_kafka_queue_new(rk.get()));
  AdminOptions opts(rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS));
  rd_kafka_AdminOptions_set_operation_timeout(opts.get(), 30000, errstr, sizeof errstr);
  rd_kafka_NewTopic_t* list[] = {nt.get()};
  rd_kafka_CreateTopics(rk.get(), list, 1, opts.get(), queue.get());
  admin_result(queue.get(), RD_KAFKA_EVENT_CREATETOPICS_RESULT, "CreateTopics " + topic);
  wait_for_leaders(rk.get(), topic, partitions);
}


void delete_topic(const std::string& topic) {
  KafkaHandle rk = make_client(RD_KAFKA_PRODUCER);
  KafkaQueue queue(rd_kafka_queue_new(rk.get()));
  rd_kafka_DeleteTopic_t* del = rd_kafka_DeleteTopic_new(topic.c_str());
  rd_kafka_DeleteTopics(rk.get(), &del, 1, nullptr, queue.get());
  rd_kafka_DeleteTopic_destroy(del);
  admin_result(queue.get(), RD_KAFKA_EVENT_DELETETOPICS_RESULT, "DeleteTopics " + topic);
  if (!wait_until([&] { return led_partitions(rk.get(), topic) == 0; }, std::chrono::seconds(30),
                  std::chrono::milliseconds(100))) {
    throw std::runtime_error("DeleteTopics " + topic + ": still in the metadata after 30 s");
  }
}

void add_partitions(const std::string& topic, int total) {
  KafkaHandle rk = make_client(RD_KAFKA_PRODUCER);
  KafkaQueue queue(rd_kafka_queue_new(rk.get()));
  char errstr[512];
  rd_kafka_NewPartitions_t* np = rd_kafka_NewPartitions_new(topic.c_str(), static_cast<size_t>(total), errstr,
                                                            sizeof errstr);
  if (!np) throw std::runtime_error(std::string("NewPartitions: ") + errstr);
  rd_kafka_CreatePartitions(rk.get(), &np, 1, nullptr, queue.get());
  rd_kafka_NewPartitions_destroy(np);
  admin_result(queue.get(), RD_KAFKA_EVENT_CREATEPARTITIONS_RESULT, "CreatePartitions " + topic);
  wait_for_leaders(rk.get(), topic, total);
}

struct RawProducer::Reports {
  std::atomic<long> failed{0};
  std::string last_error;
};

RawProducer::RawProducer(const KeyValues& extra) : reports_(new Reports) {
  KeyValues props = {{"enable.idempotence", "true"}, {"acks", "all"}, {"partitioner", "murmur2_random"},
                     {"linger.ms", "5"}};
  props.insert(props.end(), extra.begin(), extra.end());
  KafkaConf conf = make_kafka_conf(KafkaOptions{bootstrap_servers(), "", "", props});
  rd_kafka_conf_set_opaque(conf.get(), reports_);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* r = static_cast<Reports*>(opaque);
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      r->failed++;
      r->last_error = rd_kafka_err2str(m->err);
    }
  });
  rk_ = make_kafka_handle(RD_KAFKA_PRODUCER, std::move(conf));
}

RawProducer::~RawProducer() {
  if (rk_) rd_kafka_flush(rk_.get(), 10000);
  rk_.reset();
  delete reports_;
}

void RawProducer::send(const std::string& topic, const std::optional<std::string>& key,
                       const std::optional<std::string>& value, std::int32_t partition,
                       std::int64_t timestamp_ms) {
  // librdkafka's V_ macros cast their arguments without parentheses: compute them first.
  void* key_ptr = key ? const_cast<char*>(key->data()) : nullptr;
  const size_t key_len = key ? key->size() : 0;
  void* value_ptr = value ? const_cast<char*>(value->data()) : nullptr;
  const size_t value_len = value ? value->size() : 0;
  for (int attempt = 0;; ++attempt) {
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_.get(), RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_PARTITION(partition),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key_ptr, key_len), RD_KAFKA_V_VALUE(value_ptr, value_len),
        RD_KAFKA_V_TIMESTAMP(timestamp_ms), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || attempt > 1000) {
      throw std::runtime_error("produce to " + topic + ": " + err_text(err));
    }
    rd_kafka_poll(rk_.get(), 10);
  }
  rd_kafka_poll(rk_.get(), 0);
}

void RawProducer::flush(std::chrono::milliseconds timeout) {
  rd_kafka_resp_err_t err = rd_kafka_flush(rk_.get(), static_cast<int>(timeout.count()));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) throw std::runtime_error("flush: " + err_text(err));
  if (reports_->failed > 0) {
    throw std::runtime_error(std::to_string(reports_->failed.load()) + " deliveries failed: " +
                             reports_->last_error);
  }
}

std::vector<Record> read_all(const std::string& topic, std::chrono::milliseconds timeout) {
  const int partitions = partition_count(topic);
  // librdkafka 2.0.2 refuses assign() without a group.id; with assign() the group is never joined
  // and, with auto commit off, nothing is committed.
  KafkaHandle rk = make_client(RD_KAFKA_CONSUMER, {{"group.id", unique_topic("read-all")},
                                                    {"enable.auto.commit", "false"},
                                                    {"enable.partition.eof", "false"}});
  std::map<int, std::int64_t> high;
  PartitionList assignment(rd_kafka_topic_partition_list_new(partitions));
  for (int p = 0; p < partitions; ++p) {
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t err = rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), p, &lo, &hi, 10000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) throw std::runtime_error("watermarks: " + err_text(err));
    if (hi > lo) {
      high[p] = hi;
      rd_kafka_topic_partition_list_add(assignment.get(), topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
  }
  std::vector<Record> out;
  if (high.empty()) return out;
  rd_kafka_poll_set_consumer(rk.get());
  if (rd_kafka_resp_err_t err = rd_kafka_assign(rk.get(), assignment.get()); err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    throw std::runtime_error("assign: " + err_text(err));
  }
  std::map<int, std::int64_t> next;  // next offset expected per partition
  auto deadline = Clock::now() + timeout;
  auto done = [&] {
    for (auto [p, hi] : high) {
      if (next[p] < hi) return false;
    }
    return true;
  };
  while (!done()) {
    if (Clock::now() > deadline) throw std::runtime_error("read_all(" + topic + "): timeout");
    KafkaMessage m(rd_kafka_consumer_poll(rk.get(), 200));
    if (!m) continue;
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
      throw std::runtime_error("consume: " + err_text(m->err));
    }
    if (m->offset >= high[m->partition]) continue;
    Record r;
    r.partition = m->partition;
    r.offset = m->offset;
    r.timestamp = rd_kafka_message_timestamp(m.get(), nullptr);
    if (m->key) r.key = std::string(static_cast<const char*>(m->key), m->key_len);
    if (m->payload) r.value = std::string(static_cast<const char*>(m->payload), m->len);
    out.push_back(std::move(r));
    next[m->partition] = m->offset + 1;
  }
  rd_kafka_consumer_close(rk.get());
  std::stable_sort(out.begin(), out.end(), [](const Record& a, const Record& b) {
    return a.partition != b.partition ? a.partition < b.partition : a.offset < b.offset;
  });
  return out;
}

std::int32_t murmur2_partition(std::string_view key, std::int32_t partitions) {
  const std::uint32_t m = 0x5bd1e995;
  const int r = 24;
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const std::uint32_t length = static_cast<std::uint32_t>(key.size());
  std::uint32_t h = 0x9747b28c ^ length;
  for (std::uint32_t i = 0; i < length / 4; ++i) {
    const unsigned char* p = data + 4 * i;
    std::uint32_t k = p[0] | (p[1] << 8) | (p[2] << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const unsigned char* tail = data + (length & ~3u);
  switch (length % 4) {
    case 3: h ^= static_cast<std::uint32_t>(tail[2]) << 16; [[fallthrough]];
    case 2: h ^= static_cast<std::uint32_t>(tail[1]) << 8; [[fallthrough]];
    case 1: h ^= tail[0]; h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<std::int32_t>((h & 0x7fffffff) % static_cast<std::uint32_t>(partitions));
}

}  // namespace saldo::test
