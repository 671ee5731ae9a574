// Survive, against the shared real broker: SIGTERM during the rebuild and under HTTP load, SIGTERM to
// the producer under load (what it reported delivered is in the topic), the producer without a
// broker, and hostile HTTP clients (idle connections, slowloris, a 1 MB URL, random-byte ids).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/customer_id.h"
#include "tests/faults/fault_support.h"

namespace saldo::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A topic with `n` records (ids 1..n/2, two updates each), written by the project's producer.
std::string filled_topic(const std::string& prefix, int n, const std::string& preset = "fast") {
  const std::string topic = unique_topic(prefix);
  create_topic(topic, 3);
  const CommandResult r = run_command({binary_path("producer/producer"), "-b", bootstrap_servers(), "-t", topic,
                                       "--customers", std::to_string(n / 2), "--updates", std::to_string(n),
                                       "--preset", preset},
                                      {}, {}, 120s);
  if (r.exit_code != 0) throw std::runtime_error("producer failed: " + r.out + r.err);
  return topic;
}

TEST(Signals, SigtermDuringTheRebuildExitsCleanlyWithinTwoSeconds) {
  const std::string topic = filled_topic("faults-sigterm-rebuild", 6000, "event-by-event");
  // One small record batch per fetch makes the rebuild take seconds, so the signal lands in it.
  ServiceProcess svc(bootstrap_servers(), topic,
                     {"-X", "max.partition.fetch.bytes=1000", "-X", "fetch.max.bytes=1000", "-X",
                      "message.max.bytes=1000"});
  bool mid_rebuild = false;
  ASSERT_TRUE(wait_until([&] {
    if (!svc.running()) return true;
    const auto j = nlohmann::json::parse(svc.get("/ready").body, nullptr, false);
    if (j.is_discarded()) return false;
    mid_rebuild = j["state"] == "REBUILDING" && j["records_replayed"].get<long>() > 0;
    return mid_rebuild || j["state"] == "READY";
  }, 30s)) << svc.log();
  ASSERT_TRUE(mid_rebuild) << "the rebuild ended before the signal could be sent";
  std::chrono::milliseconds took{};
  EXPECT_EQ(svc.stop(SIGTERM, 5s, &took), 0) << svc.log();
  EXPECT_LT(took, 2s);
}

TEST(Signals, SigtermUnderHttpLoadExitsCleanlyWithinTwoSeconds) {
  const std::string topic = filled_topic("faults-sigterm-load", 200);
  ServiceProcess svc(bootstrap_servers(), topic);
  ASSERT_TRUE(svc.wait_ready()) << svc.log();
  std::atomic<bool> stop{false};
  std::atomic<long> answered{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 8; ++t) {
    clients.emplace_back([&, t] {
      int i = t;
      while (!stop) {
        if (http_get(svc.port(), "/saldo/" + std::to_string(1 + i++ % 100), 1s).status == 200) ++answered;
      }
    });
  }
  ASSERT_TRUE(wait_until([&] { return answered > 500; }, 20s));
  std::chrono::milliseconds took{};
  const auto code = svc.stop(SIGTERM, 5s, &took);
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(code, 0) << svc.log();
  EXPECT_LT(took, 2s);
}

long summary_number(const std::string& out, const std::string& word) {
  std::smatch m;
  if (!std::regex_search(out, m, std::regex(word + " ([0-9]+)"))) return -1;
  return std::stol(m[1]);
}

TEST(Signals, SigtermToTheProducerUnderLoadFlushesWhatItReportsDelivered) {
  const std::string topic = unique_topic("faults-sigterm-producer");
  create_topic(topic, 3);
  ChildProcess producer({binary_path("producer/producer"), "-b", bootstrap_servers(), "-t", topic, "--customers",
                         "1000", "--updates", "0", "--duration", "60", "--rate", "3000"});
  ASSERT_TRUE(wait_until([&] {
    std::int64_t lo = 0, hi = 0, sum = 0;
    for (int p = 0; p < 3; ++p) {
      KafkaHandle rk = make_kafka_handle(RD_KAFKA_PRODUCER, make_kafka_conf({bootstrap_servers(), "", "", {}}));
      if (rd_kafka_query_watermark_offsets(rk.get(), topic.c_str(), p, &lo, &hi, 2000) == RD_KAFKA_RESP_ERR_NO_ERROR) sum += hi;
    }
    return sum > 1000;
  }, 30s, 200ms)) << producer.output();
  const auto t0 = Clock::now();
  producer.signal(SIGTERM);
  const auto code = producer.wait(10s);
  EXPECT_LT(Clock::now() - t0, 2s);
  EXPECT_EQ(code, 130) << producer.output();  // documented: 130 when interrupted, after flushing
  const std::string out = producer.output();
  const long sent = summary_number(out, "sent"), delivered = summary_number(out, "delivered"),
             failed = summary_number(out, "failed");
  EXPECT_GT(delivered, 1000) << out;
  EXPECT_EQ(sent, delivered + failed) << out;
  EXPECT_EQ(failed, 0) << out;
  EXPECT_EQ(static_cast<long>(read_all(topic).size()), delivered) << out;
}

TEST(ProducerFaults, NoBrokerIsAClearErrorWithinItsTimeout) {
  const int port = free_port();  // nothing listens there
  const std::string bootstrap = "127.0.0.1:" + std::to_string(port);
  const CommandResult r = run_command({binary_path("producer/producer"), "-b", bootstrap, "-t", "contas",
                                       "--customers", "100", "--updates", "100", "--timeout", "3"},
                                      {}, {}, 30s);
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_LT(r.seconds, 3 + 10);  // its --timeout, and then some for a loaded machine
  EXPECT_NE(r.err.find(bootstrap), std::string::npos) << "names the bootstrap servers: " << r.err;
}

std::string percent_decoded(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() + 0 && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Latencies of GET /health on fresh connections, one every 20 ms, while `attack` runs.
std::vector<double> health_latencies(int port, const std::atomic<bool>& done, std::atomic<std::size_t>& count) {
  std::vector<double> ms;
  while (!done && ms.size() < 2000) {
    const auto t0 = Clock::now();
    const HttpReply r = http_get(port, "/health", 2s);
    ms.push_back(r.status == 200 ? std::chrono::duration<double, std::milli>(Clock::now() - t0).count() : 1e9);
    count = ms.size();
    std::this_thread::sleep_for(10ms);  // pacing of the probe, not synchronisation
  }
  return ms;
}

TEST(HostileClients, HealthStaysFastMemoryBoundedEveryBadRequestA4xx) {
  const std::string topic = filled_topic("faults-hostile", 200);
  ServiceProcess svc(bootstrap_servers(), topic);
  ASSERT_TRUE(svc.wait_ready()) << svc.log();
  for (int i = 0; i < 50; ++i) http_get(svc.port(), "/saldo/1");  // warm
  const long rss_before = svc.rss_kib();

  std::atomic<bool> done{false};
  std::atomic<std::size_t> samples{0};
  std::vector<double> latencies;
  std::thread probe([&] { latencies = health_latencies(svc.port(), done, samples); });

  // 1,000 idle connections, held open for the whole attack.
  std::vector<int> idle;
  for (int i = 0; i < 1000; ++i) {
    const int fd = connect_loopback(svc.port());
    if (fd >= 0) idle.push_back(fd);
  }
  EXPECT_EQ(idle.size(), 1000u);

  // A slowloris client: a request line and headers a few bytes at a time, never finished.
  std::thread slowloris([&] {
    RawHttp slow(svc.port());
    const std::string head = "GET /saldo/1 HTTP/1.1\r\nHost: 127.0.0.1\r\nX-a: ";
    slow.send_all(head);
    for (int i = 0; i < 400 && !done; ++i) {
      if (!slow.send_all("a")) slow.reconnect(), slow.send_all(head);
      std::this_thread::sleep_for(50ms);  // the attack's pacing
    }
  });

  // A 1 MB URL.
  {
    RawHttp big(svc.port());
    const int status = big.get("/saldo/" + std::string(1024 * 1024, '1'), 10s);
    EXPECT_GE(status, 400) << status;
    EXPECT_LT(status, 500) << status;
  }

  // 10,000 requests with random bytes as ids (percent-encoded, or raw where HTTP allows a byte).
  std::mt19937 rng(6);
  int bad = 0, wrong = 0, requests = 0;
  RawHttp client(svc.port());
  for (int i = 0; requests < 10000 && i < 20000; ++i) {
    std::string id;
    const int len = 1 + static_cast<int>(rng() % 100);
    const bool raw = i % 2 == 1;
    for (int k = 0; k < len; ++k) {
      const auto b = static_cast<unsigned char>(rng() % 256);
      if (raw) {
        // Not the bytes that end a request target (space, controls) or start a query or fragment.
        id.push_back(b <= ' ' || b == 0x7f || b == '?' || b == '#' ? '!' : static_cast<char>(b));
      } else {
        char hex[4];
        std::snprintf(hex, sizeof hex, "%%%02X", b);
        id += hex;
      }
    }
    if (is_valid_customer_id(percent_decoded(id))) continue;  // a real id may exist: not a bad request
    ++requests;
    const int status = client.get("/saldo/" + id, 5s);
    if (status >= 400 && status < 500) {
      ++bad;
    } else {
      ++wrong;
      ADD_FAILURE() << "status " << status << " for /saldo/" << testing::PrintToString(id);
      if (wrong > 5) break;
    }
  }
  EXPECT_EQ(bad, 10000);
  // Keep the idle connections and the slowloris client on until /health was sampled enough.
  EXPECT_TRUE(wait_until([&] { return samples >= 200; }, 20s));

  done = true;
  slowloris.join();
  probe.join();
  for (const int fd : idle) ::close(fd);

  ASSERT_FALSE(latencies.empty());
  std::sort(latencies.begin(), latencies.end());
  const double worst = latencies.back();
  // Every probe is answered within its own timeout. How fast is a figure, not a verdict: on a shared
  // 2-core machine the scheduler alone can stall a sample, so the latencies are printed (and the
  // proxy's edge benchmark measures them), never asserted here.
  const double p99 = latencies[latencies.size() * 99 / 100];
  EXPECT_LT(worst, 5000.0) << latencies.size() << " samples, median " << latencies[latencies.size() / 2] << " ms";
  EXPECT_TRUE(svc.running());
  EXPECT_EQ(svc.get("/saldo/1").status, 200);
  const long rss_after = svc.rss_kib();
#if defined(__SANITIZE_ADDRESS__)
  // Under ASan (scripts/test.sh reruns this label so) freed memory sits in the allocator's quarantine
  // (256 MB by default): the service's RSS says nothing about what it holds. The plain build checks it.
  std::printf("RSS not compared under AddressSanitizer (quarantine)\n");
#else
  EXPECT_LT(rss_after, rss_before + 64 * 1024) << "RSS " << rss_before << " -> " << rss_after << " KiB";
#endif
  RecordProperty("health_samples", static_cast<int>(latencies.size()));
  RecordProperty("health_worst_ms", std::to_string(worst));
  RecordProperty("rss_kib", std::to_string(rss_before) + " -> " + std::to_string(rss_after));
  std::printf("hostile: %zu /health samples, median %.2f ms, p99 %.2f ms, worst %.2f ms; RSS %ld -> %ld KiB\n",
              latencies.size(), latencies[latencies.size() / 2], p99, worst, rss_before, rss_after);
  EXPECT_EQ(svc.stop(SIGTERM, 5s), 0);
}

}  // namespace
}  // namespace saldo::test
