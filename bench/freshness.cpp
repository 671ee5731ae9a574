// freshness: how long after a produce() the service answers the new value. A plain librdkafka
// producer (linger.ms=0, acks=all, idempotent, the producers' partitioner) sends one update to a
// random existing customer, then GET /saldo/<id> is polled over one keep-alive connection until the
// new saldo shows. Prints one line of key=value figures (milliseconds) for bench/run.sh.
//
//   freshness --bootstrap-servers H:P --topic T --port P --customers K [--samples N] [--seed S]
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
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string_view flag = argv[i];
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

int run(const Args& a) {
  KafkaOptions options;
  options.bootstrap_servers = a.bootstrap;
  options.topic = a.topic;
  options.properties = {{"linger.ms", "0"},        {"acks", "all"},
                        {"enable.idempotence", "true"}, {"partitioner", "murmur2_random"}};
  KafkaHandle rk = make_kafka_handle(RD_KAFKA_PRODUCER, make_kafka_conf(options));

  httplib::Client http("127.0.0.1", a.port);
  http.set_keep_alive(true);
  http.set_tcp_nodelay(true);
  http.set_read_timeout(5, 0);

  std::mt19937_64 rng(a.seed);
  std::vector<double> ms;
  ms.reserve(static_cast<std::size_t>(a.samples));
  std::uint64_t polls = 0;
  for (int i = 0; i < a.samples; ++i) {
    std::string id = std::to_string(rng() % a.customers + 1);
    // A value no earlier sample used, so the answer cannot show it by chance.
    const std::string saldo = std::to_string(900000000 + i) + "." + std::to_string(10 + i % 90);
    std::string value = "{\"cliente_id\":\"" + id + "\",\"saldo\":" + saldo + ",\"timestamp\":\"2025-10-14T10:30:45\"}";
    const std::string expect = "\"saldo\":" + saldo + ",";
    const std::string path = "/saldo/" + id;

    const auto t0 = Clock::now();
    const rd_kafka_resp_err_t err =
        rd_kafka_producev(rk.get(), RD_KAFKA_V_TOPIC(a.topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                          RD_KAFKA_V_KEY(id.data(), id.size()), RD_KAFKA_V_VALUE(value.data(), value.size()),
                          RD_KAFKA_V_END);
    if (err) throw std::runtime_error(std::string("produce failed: ") + rd_kafka_err2str(err));
    const auto deadline = t0 + std::chrono::duration<double>(a.timeout_s);
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
