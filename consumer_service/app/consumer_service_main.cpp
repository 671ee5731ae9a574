// consumer_service: rebuilds the balances table from the compacted topic and serves it over HTTP.
#include <algorithm>
#include <chrono>
#include <optional>

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include "common/config.h"
#include "common/kafka_handles.h"
#include "common/logging.h"
#include "common/reload_signal.h"
#include "common/postgres.h"
#include "common/shutdown.h"
#include "consumer_service/store/balance_store.h"
#include "consumer_service/table/dead_letter.h"
#include "consumer_service/http/http_api.h"
#include "consumer_service/http/http_auth.h"
#include "consumer_service/http/http_server.h"
#include "consumer_service/status/metrics.h"
#include "consumer_service/postgres/postgres_sink.h"
#include "consumer_service/status/readiness.h"
#include "consumer_service/snapshot/snapshot_writer.h"
#include "consumer_service/table/table_reader.h"
#include "consumer_service/http/tls_credentials.h"

namespace saldo {
namespace {

using Clock = std::chrono::steady_clock;

constexpr const char* kUsage =
    "Rebuilds the latest balance of every customer from the compacted topic (from offset 0, no\n"
    "consumer group), then tails it and answers GET /saldo/<id>, /saldo/<id>/events, /health, /ready and\n"
    "/metrics.\n"
    "Example: consumer_service -b localhost:9092 -t contas --http-port 5000";

struct HttpSecurity {
  std::string tokens_file;
  bool metrics_public = false;
  std::string tls_cert;
  std::string tls_key;
};

HttpSecurity http_security(const po::variables_map& vm) {
  HttpSecurity s;
  s.tokens_file = vm["http-tokens-file"].as<std::string>();
  s.metrics_public = vm["metrics-public"].as<bool>();
  s.tls_cert = vm["tls-cert"].as<std::string>();
  s.tls_key = vm["tls-key"].as<std::string>();
  if (s.tls_cert.empty() != s.tls_key.empty()) throw ConfigError("--tls-cert and --tls-key go together");
  return s;
}

bool is_wildcard(const std::string& host) { return host == "0.0.0.0" || host == "::" || host == "[::]"; }

void log_config(const KafkaOptions& kafka, const HttpServerOptions& http, const HttpSecurity& sec) {
  spdlog::info("config: bootstrap.servers={} topic={} http={}://{}:{} http-threads={} tokens={} metrics={}",
               kafka.bootstrap_servers, kafka.topic, sec.tls_cert.empty() ? "http" : "https", http.host, http.port,
               http.threads, sec.tokens_file.empty() ? "off" : sec.tokens_file,
               sec.tokens_file.empty() || sec.metrics_public ? "public" : "token");
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

// SIGHUP: the tokens and the certificate are re-read; a bad file keeps the old one in force.
void reload_files(HttpAuth* auth, TlsCredentials* tls) {
  if (auth == nullptr && tls == nullptr) {
    spdlog::info("SIGHUP: no tokens file or certificate to re-read");
    return;
  }
  try {
    if (auth != nullptr) spdlog::info("SIGHUP: {} tokens in force from {}", auth->reload(), auth->path());
  } catch (const ConfigError& e) {
    spdlog::error("SIGHUP: {}; the previous tokens stay in force", e.what());
  }
  try {
    if (tls != nullptr) {
      tls->reload();
      spdlog::info("SIGHUP: certificate re-read from {}", tls->cert_path());
    }
  } catch (const ConfigError& e) {
    spdlog::error("SIGHUP: {}; the previous certificate stays in force", e.what());
  }
}

int run(int argc, const char* const argv[]) {
  ConfigLoader loader("consumer_service", kUsage);
  loader.add_kafka_options();
  loader.add_http_options();
  loader.add_log_options();
  loader.env_option("http-threads", "HTTP_THREADS", po::value<int>()->default_value(512),
                    "HTTP worker threads; each open keep-alive connection holds one");
  loader.env_option("http-max-waiting", "HTTP_MAX_WAITING", po::value<int>(),
                    "at most this many requests wait at once for a position (GET /saldo/<id>?after=); more get 503 "
                    "(default 64, and at most half of --http-threads)");
  loader.env_option("sse-max-streams", "SSE_MAX_STREAMS", po::value<int>(),
                    "at most this many live streams (GET /saldo/<id>/events) open at once, each holding an HTTP "
                    "thread; more get 503 (default 32, and at most a quarter of --http-threads)");
  loader.env_option("sse-heartbeat", "SSE_HEARTBEAT", po::value<int>()->default_value(kDefaultHeartbeatS),
                    "seconds (1..25) between heartbeats (a comment line) on an idle live stream, so proxies keep it open");
  loader.env_option("dead-letter-topic", "DEAD_LETTER_TOPIC", po::value<std::string>()->default_value(""),
                    "copy every invalid record to this (existing) topic, with headers saying why and from where");
  loader.env_option("postgres-url", "POSTGRES_URL", po::value<std::string>()->default_value(""),
                    "also write every balance to PostgreSQL (libpq URI, e.g. postgresql://user@host/db; the "
                    "password better in POSTGRES_URL, PGPASSWORD or ~/.pgpass than on the command line)");
  loader.env_option("postgres-table", "POSTGRES_TABLE", po::value<std::string>()->default_value("saldos"),
                    "the topic's PostgreSQL table (and <table>_excluidos beside it); one per topic, refused when "
                    "it holds another topic");
  loader.env_option("http-tokens-file", "HTTP_TOKENS_FILE", po::value<std::string>()->default_value(""),
                    "name:token lines; when set, /saldo/... and /ready need 'Authorization: Bearer <token>' "
                    "(re-read on SIGHUP)");
  loader.env_option("metrics-public", "METRICS_PUBLIC", po::value<bool>()->default_value(false)->implicit_value(true),
                    "with --http-tokens-file, leave /metrics open (for a scraper without a token)");
  loader.env_option("tls-cert", "TLS_CERT", po::value<std::string>()->default_value(""),
                    "PEM certificate (chain, leaf first): serve HTTPS only, TLS 1.2+ (re-read on SIGHUP)");
  loader.env_option("tls-key", "TLS_KEY", po::value<std::string>()->default_value(""),
                    "PEM private key of --tls-cert (unencrypted; keep the file readable by the service only)");
  loader.env_option("require-compacted", "REQUIRE_COMPACTED", po::value<bool>()->default_value(false),
                    "refuse a topic whose cleanup.policy is not compact (else a warning in the log and /ready)");
  loader.env_option("state-dir", "STATE_DIR", po::value<std::string>()->default_value(""),
                    "keep a snapshot of the table here and start warm from it when it may be trusted "
                    "(README, \"State directory\"); empty: every start replays the topic");
  loader.env_option("snapshot-interval", "SNAPSHOT_INTERVAL", po::value<int>()->default_value(60),
                    "seconds between snapshots (written only when something changed, and at shutdown)");
  const std::optional<po::variables_map> parsed = loader.parse(argc, argv);
  if (!parsed) return 0;
  const po::variables_map& vm = *parsed;

  KafkaOptions kafka;
  HttpServerOptions http;
  HttpSecurity security;
  std::string dead_letter_topic;
  kafka = kafka_options(vm);
  const HttpOptions h = http_options(vm);
  http.host = h.host;
  http.port = h.port;
  http.threads = vm["http-threads"].as<int>();
  if (http.threads < 1 || http.threads > 20000) throw ConfigError("--http-threads must be 1..20000");
  // Unset: 64, but never more than half the threads, so a smaller pool (--http-threads 64) still starts.
  const int max_waiting = vm.count("http-max-waiting") != 0 ? vm["http-max-waiting"].as<int>()
                                                            : std::min(kDefaultMaxWaiting, http.threads / 2);
  if (max_waiting < 0 || max_waiting >= http.threads) {
    throw ConfigError("--http-max-waiting must be 0..--http-threads - 1 (waiting requests hold a thread each)");
  }
  // Unset: 32, but never more than a quarter of the threads.
  const int max_streams = vm.count("sse-max-streams") != 0 ? vm["sse-max-streams"].as<int>()
                                                           : std::min(kDefaultMaxStreams, http.threads / 4);
  if (max_streams < 0) throw ConfigError("--sse-max-streams must be 0 or more");
  // Streams and waiting requests both hold a pool thread: together they must leave one for /health,
  // /ready and ordinary lookups.
  if (max_streams + max_waiting >= http.threads) {
    throw ConfigError("--sse-max-streams (" + std::to_string(max_streams) + ") + --http-max-waiting (" +
                      std::to_string(max_waiting) + ") must be less than --http-threads (" +
                      std::to_string(http.threads) + "): streams and waiting requests hold a thread each");
  }
  const int heartbeat_s = vm["sse-heartbeat"].as<int>();
  // Proxies cut a connection idle for 30 s or more (the repository's HAProxy: timeout client 30s).
  if (heartbeat_s < 1 || heartbeat_s > 25) throw ConfigError("--sse-heartbeat must be 1..25 seconds");
  dead_letter_topic = vm["dead-letter-topic"].as<std::string>();
  if (dead_letter_topic == kafka.topic) throw ConfigError("--dead-letter-topic must differ from --topic");
  const bool require_compacted = vm["require-compacted"].as<bool>();
  const std::string state_dir = vm["state-dir"].as<std::string>();
  const int snapshot_interval = vm["snapshot-interval"].as<int>();
  if (snapshot_interval < 1 || snapshot_interval > 86400) throw ConfigError("--snapshot-interval must be 1..86400 seconds");
  security = http_security(vm);
  setup_logging(log_options(vm), "consumer_service");
  // Bad token or certificate files end here, before anything starts (run_main: one line, exit 2).
  std::optional<HttpAuth> auth;
  if (!security.tokens_file.empty()) auth.emplace(security.tokens_file, security.metrics_public);
  std::optional<TlsCredentials> tls;
  if (!security.tls_cert.empty()) tls.emplace(security.tls_cert, security.tls_key);
  const std::string postgres_url = vm["postgres-url"].as<std::string>();
  log_config(kafka, http, security);
  if (!postgres_url.empty()) spdlog::info("config: postgres {}", describe_conninfo(postgres_url));
  if (is_wildcard(http.host) && !auth) {
    spdlog::warn("listening on {} without --http-tokens-file: anyone who reaches this port reads every balance",
                 http.host);
  }
  install_shutdown_handlers();
  install_reload_handler();

  // Declared in the order they must be built; they die in reverse: the reader (which writes the store
  // and the dead-letter copies) first, then the server, then what both use.
  BalanceStore store;
  Readiness readiness(kafka.topic);
  Metrics metrics;
  metrics.set_kafka_client_version(rd_kafka_version_str());
  CheckpointBoard checkpoints;
  PostgresSinkStatus postgres_status;
  std::optional<PostgresSink> postgres;
  if (!postgres_url.empty()) {
    postgres.emplace(kafka, postgres_url, vm["postgres-table"].as<std::string>(), postgres_status);
  }
  HttpApi api(store, readiness, metrics, postgres ? &postgres_status : nullptr);
  if (auth) api.set_auth(&*auth);
  api.set_max_waiting(max_waiting);
  EventStreamTiming stream_timing;
  stream_timing.heartbeat = std::chrono::seconds(heartbeat_s);
  api.set_streams(max_streams, stream_timing);
  std::optional<DeadLetterSink> dead_letter;
  if (!dead_letter_topic.empty()) {
    dead_letter.emplace(kafka, dead_letter_topic, metrics);
    spdlog::info("invalid records are copied to the dead-letter topic '{}'", dead_letter_topic);
  }
  HttpServer server(api, metrics, http, tls ? &*tls : nullptr);
  TableReader reader({kafka, require_compacted, dead_letter ? &*dead_letter : nullptr, state_dir, &checkpoints}, store,
                     readiness, metrics);
  std::optional<SnapshotWriter> snapshots;
  if (!state_dir.empty()) {
    snapshots.emplace(state_dir, std::chrono::seconds(snapshot_interval), store, readiness, metrics, checkpoints);
  }
  // The port first: when it is taken, nothing has started reading yet.
  server.start();
  reader.start();
  if (snapshots) snapshots->start();
  if (postgres) postgres->start();
  spdlog::info("serving {} on {}:{}", tls ? "HTTPS" : "HTTP", http.host, server.port());

  RebuildReporter reporter(readiness, metrics, store);
  while (!wait_for_shutdown(std::chrono::milliseconds(200))) {
    reporter.tick();
    if (take_reload_request()) reload_files(auth ? &*auth : nullptr, tls ? &*tls : nullptr);
    if (dead_letter) dead_letter->poll();  // delivery reports of the copies
  }

  const auto stopping = Clock::now();
  spdlog::info("shutting down");
  server.stop();
  reader.stop();
  // After the reader: the table no longer changes, so the last snapshot matches its positions.
  if (snapshots) snapshots->stop_and_write();
  if (postgres) postgres->stop();
  // After the reader: it sends no more copies. Bounded so shutdown stays well under 2 s.
  if (dead_letter) dead_letter->close(std::chrono::milliseconds(1000));
  spdlog::info("stopped in {} ms", std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - stopping).count());
  return reader.failed() ? 1 : 0;
}

}  // namespace
}  // namespace saldo

int main(int argc, char* argv[]) { return saldo::run_main("consumer_service", saldo::run, argc, argv); }
