// freshness: how long after a produce() the service answers the new value. A plain librdkafka
// producer (linger.ms=0, acks=all, idempotent, the producers' partitioner) sends one update to a
// random existing customer, then GET /saldo/<id> is polled over one keep-alive connection until the
// new saldo shows. Prints one line of key=value figures (milliseconds) for bench/run.sh.
// With --after (read-your-writes): the producer waits for the broker's acknowledgement, as an
// application does, then asks once GET /saldo/<id>?after=P:O&wait_ms=5000 with the position it got;
// ryw_* is that GET's time (the table catching up included), total_* produce → answer.
//
//   freshness --bootstrap-servers H:P --topic T --port P --customers K [--samples N] [--seed S] [--after]
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <httplib.h>
#include <librdkafka/rdkafka.h>

#include "common/kafka_handles.h"

namespace saldo {
namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string bootstrap = "127.0.0.1:9092";
  std::string topic = "contas";
  int port = 5000;
  std::uint64_t customers = 1000;
  int samples = 10000;
  std::uint64_t seed = 1;
  double timeout_s = 10;  // per sample
  bool after = false;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
    if (flag == "--after") {
      a.after = true;
      continue;
    }
    if (i + 1 >= argc) throw std::invalid_argument(std::string(flag) + " needs a value");
    const char* v = argv[++i];
    if (flag == "--bootstrap-servers") a.bootstrap = v;
    else if (flag == "--topic") a.topic = v;
    else if (flag == "--port") a.port = std::stoi(v);
    else if (flag == "--customers") a.customers = std::stoull(v);
    else if (flag == "--samples") a.samples = std::stoi(v);
    else if (flag == "--seed") a.seed = std::stoull(v);
    else if (flag == "--timeout") a.timeout_s = std::stod(v);
    else throw std::invalid_argument("unknown option " + std::string(flag));
  }
  if (a.customers == 0 || a.samples <= 0) throw std::invalid_argument("--customers and --samples must be positive");
  return a;
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

// The last delivery report: where the broker put the record (offset -1 until it came).
struct Delivered {
  std::int32_t partition = -1;
  std::int64_t offset = -1;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
};

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* d = static_cast<Delivered*>(opaque);
  d->partition = m->partition;
  d->offset = m->offset;
  d->err = m->err;
}

int run(const Args& a) {
  KafkaOptions options;
  options.bootstrap_servers = a.bootstrap;
  options.topic = a.topic;
  options.properties = {{"linger.ms", "0"},        {"acks", "all"},
                        {"enable.idempotence", "true"}, {"partitioner", "murmur2_random"}};
  Delivered delivered;
  KafkaConf conf = make_kafka_conf(options);
  rd_kafka_conf_set_dr_msg_cb(conf.get(), on_delivery);
  rd_kafka_conf_set_opaque(conf.get(), &delivered);
  KafkaHandle rk = make_kafka_handle(RD_KAFKA_PRODUCER, std::move(conf));

  httplib::Client http("127.0.0.1", a.port);
  http.set_keep_alive(true);
  http.set_tcp_nodelay(true);
  http.set_read_timeout(5, 0);

  std::mt19937_64 rng(a.seed);
  std::vector<double> ms, ryw;
  ms.reserve(static_cast<std::size_t>(a.samples));
  ryw.reserve(static_cast<std::size_t>(a.samples));
  std::uint64_t polls = 0;
  for (int i = 0; i < a.samples; ++i) {
    std::string id = std::to_string(rng() % a.customers + 1);
    // A value no earlier sample used, so the answer cannot show it by chance.
    const std::string saldo = std::to_string(900000000 + i) + "." + std::to_string(10 + i % 90);
    std::string value = "{\"cliente_id\":\"" + id + "\",\"saldo\":" + saldo + ",\"timestamp\":\"2025-10-14T10:30:45\"}";
    const std::string expect = "\"saldo\":" + saldo + ",";
    const std::string path = "/saldo/" + id;

    delivered = Delivered{};
    const auto t0 = Clock::now();
    const rd_kafka_resp_err_t err =
        rd_kafka_producev(rk.get(), RD_KAFKA_V_TOPIC(a.topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_KEY(id.data(), id.size()), RD_KAFKA_V_VALUE(value.data(), value.size()),
                          RD_KAFKA_V_END);
    if (err) throw std::runtime_error(std::string("produce failed: ") + rd_kafka_err2str(err));
    const auto deadline = t0 + std::chrono::duration<double>(a.timeout_s);
    if (a.after) {
      while (delivered.offset < 0 && delivered.err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        rd_kafka_poll(rk.get(), 100);
        if (Clock::now() > deadline) throw std::runtime_error("no delivery report within the timeout");
      }
      if (delivered.err) throw std::runtime_error(std::string("delivery failed: ") + rd_kafka_err2str(delivered.err));
      const std::string ask = path + "?after=" + std::to_string(delivered.partition) + ":" +
                              std::to_string(delivered.offset) + "&wait_ms=5000";
      const auto t1 = Clock::now();
      auto res = http.Get(ask.c_str());
      const auto t2 = Clock::now();
      ++polls;
      if (!res || res->status != 200 || res->body.find(expect) == std::string::npos) {
        std::fprintf(stderr, "freshness: sample %d (%s): GET %s answered %d %s\n", i, id.c_str(), ask.c_str(),
                     res ? res->status : -1, res ? res->body.c_str() : "(no answer)");
        return 1;
      }
      ryw.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
      ms.push_back(std::chrono::duration<double, std::milli>(t2 - t0).count());
      continue;
    }
    for (;;) {
      rd_kafka_poll(rk.get(), 0);  // delivery reports
      ++polls;
      auto res = http.Get(path.c_str());
      if (res && res->status == 200 && res->body.find(expect) != std::string::npos) break;
      if (Clock::now() > deadline) {
        std::fprintf(stderr, "freshness: sample %d (%s) not visible within %.0f s\n", i, id.c_str(), a.timeout_s);
        return 1;
      }
    }
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  rd_kafka_flush(rk.get(), 10000);
  if (a.after) {
    std::printf("samples=%zu ryw_p50_ms=%.3f ryw_p99_ms=%.3f ryw_max_ms=%.3f total_p50_ms=%.3f total_p99_ms=%.3f\n",
                ryw.size(), percentile(ryw, 50), percentile(ryw, 99), *std::max_element(ryw.begin(), ryw.end()),
                percentile(ms, 50), percentile(ms, 99));
    return 0;
  }
  std::printf("samples=%zu p50_ms=%.3f p99_ms=%.3f max_ms=%.3f polls_per_sample=%.1f\n", ms.size(),
              percentile(ms, 50), percentile(ms, 99), *std::max_element(ms.begin(), ms.end()),
              static_cast<double>(polls) / static_cast<double>(ms.size()));
  return 0;
}

}  // namespace
}  // namespace saldo

int main(int argc, char** argv) {
  try {
    return saldo::run(saldo::parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "freshness: %s\n", e.what());
    return 2;
  }
}
