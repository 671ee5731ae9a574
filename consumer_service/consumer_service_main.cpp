// consumer_service: rebuilds the balances table from the compacted topic and serves it over HTTP.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <optional>

#include <spdlog/spdlog.h>

#include "common/config.h"
#include "common/kafka_handles.h"
#include "common/logging.h"
#include "common/postgres.h"
#include "common/shutdown.h"
#include "consumer_service/balance_store.h"
#include "consumer_service/dead_letter.h"
#include "consumer_service/http_api.h"
#include "consumer_service/http_server.h"
#include "consumer_service/metrics.h"
#include "consumer_service/postgres_sink.h"
#include "consumer_service/readiness.h"
#include "consumer_service/table_reader.h"

namespace saldo {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "Rebuilds the latest balance of every customer from the compacted topic (from offset 0, no\n"
    "consumer group), then tails it and answers GET /saldo/<id>, /health, /ready and /metrics.\n"
    "Example: consumer_service -b localhost:9092 -t contas --http-port 5000";

void log_config(const KafkaOptions& kafka, const HttpServerOptions& http) {
  spdlog::info("config: bootstrap.servers={} topic={} http={}:{} http-threads={}", kafka.bootstrap_servers,
               kafka.topic, http.host, http.port, http.threads);
  for (const auto& [name, value] : kafka.properties) spdlog::info("config: -X {}={}", name, masked_value(name, value));
}

// Logs the rebuild's progress every few seconds and its total time and rate once READY.
class RebuildReporter {
 public:
  RebuildReporter(const Readiness& readiness, const Metrics& metrics, const BalanceStore& store)
      : readiness_(readiness), metrics_(metrics), store_(store) {}

  void tick() {
    if (done_) return;
    const auto now = Clock::now();
    if (readiness_.ready()) {
      done_ = true;
      const ReadinessSnapshot s = readiness_.snapshot();
      const double total = std::chrono::duration<double>(s.ready_at - start_).count();
      const double replay = std::chrono::duration<double>(s.ready_at - s.rebuild_began).count();
      spdlog::info("READY: {} records replayed in {:.3f} s ({:.0f} records/s; {:.3f} s since start), {} customers, "
                   "{} invalid records",
                   s.records_to_replay(), replay, static_cast<double>(s.records_to_replay()) / std::max(replay, 1e-9),
                   total, store_.size(), metrics_.invalid_total());
      return;
    }
    if (now - last_ < std::chrono::seconds(3)) return;
    last_ = now;
    const ReadinessSnapshot s = readiness_.snapshot();
    if (s.state == ServiceState::kStarting) {
      spdlog::info("waiting for topic '{}'{}{}", s.topic, s.topic_missing ? " (it does not exist yet)" : "",
                   s.broker_reachable ? "" : " (broker unreachable: " + s.broker_error + ")");
      return;
    }
    const auto replayed = s.records_replayed();
    const double rate = static_cast<double>(replayed - last_replayed_) /
                        std::chrono::duration<double>(now - last_rate_at_).count();
    last_replayed_ = replayed;
    last_rate_at_ = now;
    spdlog::info("rebuilding: {}/{} records ({:.1f}%), {:.0f} records/s, {} customers{}", replayed,
                 s.records_to_replay(), 100.0 * s.progress(), rate, store_.size(),
                 s.broker_reachable ? "" : ", broker unreachable");
  }

 private:
  const Readiness& readiness_;
  const Metrics& metrics_;
  const BalanceStore& store_;
  Clock::time_point start_ = Clock::now();
  Clock::time_point last_ = start_;
  Clock::time_point last_rate_at_ = start_;
  std::int64_t last_replayed_ = 0;
  bool done_ = false;
};

int run(int argc, const char* const argv[]) {
  ConfigLoader loader("consumer_service", kUsage);
  loader.add_kafka_options();
  loader.add_http_options();
  loader.add_log_options();
  loader.env_option("http-threads", "HTTP_THREADS", po::value<int>()->default_value(512),
                    "HTTP worker threads; each open keep-alive connection holds one");
  loader.env_option("dead-letter-topic", "DEAD_LETTER_TOPIC", po::value<std::string>()->default_value(""),
                    "copy every invalid record to this (existing) topic, with headers saying why and from where");
  loader.env_option("postgres-url", "POSTGRES_URL", po::value<std::string>()->default_value(""),
                    "also write every balance to PostgreSQL (libpq URI, e.g. postgresql://user@host/db; the "
                    "password better in POSTGRES_URL, PGPASSWORD or ~/.pgpass than on the command line)");
  const po::variables_map vm = loader.parse_or_exit(argc, argv);

  KafkaOptions kafka;
  HttpServerOptions http;
  std::string dead_letter_topic;
  std::string postgres_url;
  try {
    kafka = kafka_options(vm);
    const HttpOptions h = http_options(vm);
    http.host = h.host;
    http.port = h.port;
    http.threads = vm["http-threads"].as<int>();
    if (http.threads < 1 || http.threads > 20000) throw ConfigError("--http-threads must be 1..20000");
    dead_letter_topic = vm["dead-letter-topic"].as<std::string>();
    if (dead_letter_topic == kafka.topic) throw ConfigError("--dead-letter-topic must differ from --topic");
    postgres_url = vm["postgres-url"].as<std::string>();
    setup_logging(log_options(vm), "consumer_service");
  } catch (const ConfigError& e) {
    std::cerr << "consumer_service: " << e.what() << std::endl;
    return 2;
  }
  log_config(kafka, http);
  if (!postgres_url.empty()) spdlog::info("config: postgres {}", describe_conninfo(postgres_url));
  install_shutdown_handlers();

  BalanceStore store;
  Readiness readiness(kafka.topic);
  Metrics metrics;
  PostgresSinkStatus postgres_status;
  std::optional<PostgresSink> postgres;
  if (!postgres_url.empty()) postgres.emplace(kafka, postgres_url, postgres_status);
  const HttpApi api(store, readiness, metrics, postgres ? &postgres_status : nullptr);
  HttpServer server(api, metrics, http);
  TableReader reader(kafka, store, readiness, metrics);
  std::optional<DeadLetterSink> dead_letter;
  try {
    if (!dead_letter_topic.empty()) {
      dead_letter.emplace(kafka, dead_letter_topic, metrics);
      reader.set_dead_letter(&*dead_letter);
      spdlog::info("invalid records are copied to the dead-letter topic '{}'", dead_letter_topic);
    }
    reader.start();
    if (postgres) postgres->start();
    server.start();
  } catch (const ConfigError& e) {
    std::cerr << "consumer_service: " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
  spdlog::info("serving HTTP on {}:{}", http.host, server.port());

  RebuildReporter reporter(readiness, metrics, store);
  while (!wait_for_shutdown(std::chrono::milliseconds(200))) {
    reporter.tick();
    if (dead_letter) dead_letter->poll();  // delivery reports of the copies
  }

  const auto stopping = Clock::now();
  spdlog::info("shutting down");
  server.stop();
  reader.stop();
  if (postgres) postgres->stop();
  // After the reader: it sends no more copies. Bounded so shutdown stays well under 2 s.
  if (dead_letter) dead_letter->close(std::chrono::milliseconds(1000));
  spdlog::info("stopped in {} ms", std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - stopping).count());
  return reader.failed() ? 1 : 0;
}

}  // namespace
}  // namespace saldo

int main(int argc, char* argv[]) { return saldo::run_main("consumer_service", saldo::run, argc, argv); }
