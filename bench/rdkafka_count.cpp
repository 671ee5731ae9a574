// rdkafka_count: what librdkafka alone costs a cold rebuild (issue 23). It reads every partition of a
// topic from its start to the high watermark it had at the start and counts the records, with the
// table reader's consumer settings (consumer_settings.cpp) and nothing else: no decoding, no table.
// Set beside bench/raw_reader (franz-go) it splits "ours / raw reader" into librdkafka's part and
// ours. Not a strict floor: a polling thread that only counts waits on an empty queue and contends
// for glibc's arena with the broker thread, which the service's busy decode thread mostly does not
// (bench/notes/2026-12-04-librdkafka-floor.md).
//
// --handles N spreads the partitions over N consumers (N librdkafka broker threads), one polling
// thread each: the question it answers is whether more consumers lower librdkafka's cost here.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "common/kafka_handles.h"
#include "consumer_service/topic/consumer_settings.h"

namespace {

struct Options {
  std::string brokers = "127.0.0.1:9092";
  std::string topic;
  int handles = 1;
  bool one_poller = false;  // one thread polls every consumer's queue in turn
  saldo::KeyValues extra;  // -X key=value, after the defaults
};

[[noreturn]] void usage(int code) {
  std::fprintf(code == 0 ? stdout : stderr,
               "usage: rdkafka_count --topic NAME [--brokers HOST:PORT] [--handles N [--one-poller]] [-X key=value]...\n"
               "Reads every partition of NAME from its start to its start high watermark with librdkafka\n"
               "(the table reader's consumer settings, then the -X ones) and counts the records.\n"
               "--handles N: N consumers, the partitions dealt out round-robin, one polling thread each.\n"
               "--one-poller: one thread polls the N consumers' queues in turn (N broker threads, one poller).\n"
               "Prints: RDKAFKA records=N partitions=P handles=H seconds=S rate=R\n");
  std::exit(code);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(2);
      return argv[++i];
    };
    if (a == "--help" || a == "-h") usage(0);
    if (a == "--brokers") {
      o.brokers = value();
    } else if (a == "--topic") {
      o.topic = value();
    } else if (a == "--handles") {
      o.handles = std::atoi(value().c_str());
    } else if (a == "--one-poller") {
      o.one_poller = true;
    } else if (a == "-X") {
      const std::string kv = value();
      const auto eq = kv.find('=');
      if (eq == std::string::npos) usage(2);
      o.extra.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    } else {
      std::fprintf(stderr, "rdkafka_count: unknown argument %s\n", a.c_str());
      usage(2);
    }
  }
  if (o.topic.empty() || o.handles < 1) usage(2);
  return o;
}

// A consumer as the table reader makes it: the project's conf (librdkafka's log to spdlog), its
// defaults without the statistics callback it has no use for here, then the -X properties.
saldo::KafkaHandle make_consumer(const Options& o) {
  saldo::KafkaOptions kafka{.bootstrap_servers = o.brokers, .topic = o.topic, .group = {}, .properties = {}};
  kafka.properties.emplace_back("group.id", "rdkafka-count");  // assign() only; never joined
  for (const auto& [k, v] : saldo::table_consumer_defaults())
    if (k != "statistics.interval.ms") kafka.properties.emplace_back(k, v);
  kafka.properties.insert(kafka.properties.end(), o.extra.begin(), o.extra.end());
  saldo::KafkaHandle rk = saldo::make_kafka_handle(RD_KAFKA_CONSUMER, saldo::make_kafka_conf(kafka));
  rd_kafka_poll_set_consumer(rk.get());
  return rk;
}

// One consumer assigned some partitions (partition, start, end), counting what it reads.
class Reader {
 public:
  Reader(const Options& o, const std::vector<std::array<int64_t, 3>>& parts) : rk_(make_consumer(o)), parts_(parts) {
    rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(static_cast<int>(parts.size()));
    for (const auto& p : parts) {
      rd_kafka_topic_partition_list_add(list, o.topic.c_str(), static_cast<int32_t>(p[0]))->offset = p[1];
      if (p[2] > p[1]) ++left_;
      else finished_[static_cast<std::size_t>(&p - parts.data())] = true;
    }
    rd_kafka_assign(rk_.get(), list);
    rd_kafka_topic_partition_list_destroy(list);
    queue_ = rd_kafka_queue_get_consumer(rk_.get());
  }
  ~Reader() {
    rd_kafka_queue_destroy(queue_);
    rd_kafka_consumer_close(rk_.get());
  }
  bool done() const { return left_ == 0; }
  // When the last partition reached its end (the consumer's close is not part of a rebuild).
  std::chrono::steady_clock::time_point finished_at() const { return finished_at_; }
  long long count() const { return count_; }
  // Takes what the queue holds (waiting up to timeout_ms for the first); returns the messages taken.
  ssize_t drain(int timeout_ms) {
    const ssize_t n = rd_kafka_consume_batch_queue(queue_, timeout_ms, batch_.data(), batch_.size());
    for (ssize_t i = 0; i < n; ++i) {
      rd_kafka_message_t* m = batch_[i];
      if (!m->err) {
        ++count_;
        reached(m->partition, m->offset + 1);
      } else if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        reached(m->partition, m->offset);  // the end, even when the last offsets hold no record
      } else {
        std::fprintf(stderr, "rdkafka_count: %s\n", rd_kafka_message_errstr(m));
      }
      rd_kafka_message_destroy(m);
    }
    return n;
  }

 private:
  // The partition's next offset is `next`: done once it reaches the start high watermark.
  void reached(int32_t partition, int64_t next) {
    for (std::size_t i = 0; i < parts_.size(); ++i) {
      if (parts_[i][0] == partition && !finished_[i] && next >= parts_[i][2]) {
        finished_[i] = true;
        if (--left_ == 0) finished_at_ = std::chrono::steady_clock::now();
      }
    }
  }

  saldo::KafkaHandle rk_;
  std::vector<std::array<int64_t, 3>> parts_;
  std::vector<bool> finished_ = std::vector<bool>(parts_.size());
  rd_kafka_queue_t* queue_ = nullptr;
  int left_ = 0;
  std::chrono::steady_clock::time_point finished_at_ = std::chrono::steady_clock::now();
  long long count_ = 0;
  std::vector<rd_kafka_message_t*> batch_ = std::vector<rd_kafka_message_t*>(10000);
};

// Every partition of the topic with its watermarks at the start: (partition, low, high). The
// consumer that asks is gone before the reading starts.
std::vector<std::array<int64_t, 3>> partition_marks(const Options& o) {
  const saldo::KafkaHandle rk = make_consumer(o);
  const saldo::KafkaTopic t(rd_kafka_topic_new(rk.get(), o.topic.c_str(), nullptr));
  const rd_kafka_metadata_t* raw = nullptr;
  const rd_kafka_resp_err_t err = rd_kafka_metadata(rk.get(), 0, t.get(), &raw, 10000);
  const saldo::Metadata md(raw);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR || md->topic_cnt != 1 || md->topics[0].err)
    throw std::runtime_error("no metadata for topic " + o.topic);
  std::vector<std::array<int64_t, 3>> out;
  for (int p = 0; p < md->topics[0].partition_cnt; ++p) {
    int64_t lo = 0, hi = 0;
    if (rd_kafka_query_watermark_offsets(rk.get(), o.topic.c_str(), p, &lo, &hi, 10000))
      throw std::runtime_error("watermarks of partition " + std::to_string(p));
    out.push_back({p, lo, hi});
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const auto t0 = std::chrono::steady_clock::now();
  try {
    const std::vector<std::array<int64_t, 3>> marks = partition_marks(o);
    std::vector<std::vector<std::array<int64_t, 3>>> per_handle(o.handles);
    for (const auto& m : marks) per_handle[static_cast<std::size_t>(m[0] % o.handles)].push_back(m);
    std::vector<std::unique_ptr<Reader>> readers;
    for (const auto& parts : per_handle)
      if (!parts.empty()) readers.push_back(std::make_unique<Reader>(o, parts));
    if (o.one_poller) {
      for (bool all = false; !all;) {
        all = true;
        ssize_t taken = 0;
        for (auto& r : readers) {
          if (r->done()) continue;
          taken += r->drain(0);
          all = all && r->done();
        }
        if (!all && taken == 0)  // nothing anywhere: wait a little on the first still reading
          for (auto& r : readers)
            if (!r->done()) {
              r->drain(1);
              break;
            }
      }
    } else {
      std::vector<std::thread> threads;
      for (std::size_t h = 0; h < readers.size(); ++h)
        threads.emplace_back([&, h] {
          while (!readers[h]->done()) readers[h]->drain(100);
        });
      for (auto& th : threads) th.join();
    }
    long long total = 0;
    auto last = t0;
    for (const auto& r : readers) {
      total += r->count();
      last = std::max(last, r->finished_at());
    }
    const double s = std::chrono::duration<double>(last - t0).count();
    std::printf("RDKAFKA records=%lld partitions=%zu handles=%d seconds=%.3f rate=%.0f\n", total, marks.size(),
                o.handles, s, total / s);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "rdkafka_count: %s\n", e.what());
    return 1;
  }
  return 0;
}
