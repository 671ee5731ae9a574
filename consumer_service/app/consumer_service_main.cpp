// consumer_service: rebuilds the balances table from the compacted topic and serves it over HTTP.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <optional>

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include "common/config.h"
#include "consumer_service/app/configuration.h"
#include "consumer_service/app/service_options.h"
#include "common/kafka_handles.h"
#include "common/logging.h"
#include "common/reload_signal.h"
#include "common/postgres.h"
#include "common/shutdown.h"
#include "consumer_service/store/balance_store.h"
#include "consumer_service/table/dead_letter.h"
#include "consumer_service/http/http_api.h"
#include "consumer_service/http/http_auth.h"
#include "consumer_service/http/http_peer_forwarder.h"
#include "consumer_service/http/http_server.h"
#include "consumer_service/status/metrics.h"
#include "consumer_service/postgres/postgres_sink.h"
#include "consumer_service/status/readiness.h"
#include "consumer_service/shard/group_membership.h"
#include "consumer_service/shard/shard_coordinator.h"
#include "consumer_service/shard/shard_map.h"
#include "consumer_service/snapshot/snapshot_writer.h"
#include "consumer_service/table/table_reader.h"
#include "consumer_service/http/tls_credentials.h"

namespace saldo {
namespace {

using Clock = std::chrono::steady_clock;

// How long the shard coordinator waits for another member's /shard/status (a member that does not
// answer in time is not routed to until it does).
constexpr std::chrono::milliseconds kShardStatusTimeout{300};

bool is_wildcard(const std::string& host) { return host == "0.0.0.0" || host == "::" || host == "[::]"; }

void log_config(const ServiceConfig& c) {
  spdlog::info("config: bootstrap.servers={} topic={} http={}://{}:{} http-threads={} tokens={} metrics={}",
               c.kafka.bootstrap_servers, c.kafka.topic, c.tls_cert.empty() ? "http" : "https", c.http.host,
               c.http.port, c.http_threads, c.tokens_file.empty() ? "off" : c.tokens_file,
               c.tokens_file.empty() || c.metrics_public ? "public" : "token");
  for (const auto& [name, value] : c.kafka.properties) spdlog::info("config: -X {}={}", name, masked_value(name, value));
}

// The files the settings name, read now so that a bad one ends here, before anything starts, for a
// start and for --print-config alike (run_main: one line, exit 2).
struct HttpFiles {
  std::optional<HttpAuth> auth;
  std::optional<TlsCredentials> tls;
};

void load_http_files(const ServiceConfig& c, HttpFiles& files) {
  if (!c.tokens_file.empty()) files.auth.emplace(c.tokens_file, c.metrics_public);
  if (!c.tls_cert.empty()) files.tls.emplace(c.tls_cert, c.tls_key);
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
  ConfigLoader loader("consumer_service", kServiceUsage);
  add_service_options(loader);
  loader.defer_print_config();
  const std::optional<po::variables_map> parsed = loader.parse(argc, argv);
  if (!parsed) return 0;
  const ServiceConfig config = service_config(*parsed);
  HttpFiles files;
  load_http_files(config, files);
  if (!config.state_dir.empty()) {
    const bool starting = !ConfigLoader::print_config_requested(*parsed);
    if (auto why = state_dir_problem(config.state_dir, starting)) throw ConfigError(*why);
  }
  if (ConfigLoader::print_config_requested(*parsed)) {
    // stderr: start.sh evaluates stdout.
    for (const std::string& w : config.warnings) std::cerr << "consumer_service: warning: " << w << '\n';
    loader.print_config(*parsed);
    return 0;
  }
  setup_logging(config.log, "consumer_service");
  std::optional<HttpAuth>& auth = files.auth;
  std::optional<TlsCredentials>& tls = files.tls;
  const KafkaOptions& kafka = config.kafka;
  HttpServerOptions http;
  http.host = config.http.host;
  http.port = config.http.port;
  http.threads = config.http_threads;
  log_config(config);
  for (const std::string& w : config.warnings) spdlog::warn("{}", w);
  if (!config.postgres_url.empty()) spdlog::info("config: postgres {}", describe_conninfo(config.postgres_url));
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
  if (!config.postgres_url.empty()) {
    postgres.emplace(kafka, config.postgres_url, config.postgres_table, postgres_status);
  }
  HttpApi api(store, readiness, metrics, postgres ? &postgres_status : nullptr);
  if (auth) api.set_auth(&*auth);
  if (tls) api.set_certificate_check([&tls] { return tls->validity_problem(); });
  api.set_max_waiting(config.max_waiting);
  EventStreamTiming stream_timing;
  stream_timing.heartbeat = std::chrono::seconds(config.heartbeat_s);
  api.set_streams(config.max_streams, stream_timing);
  std::optional<DeadLetterSink> dead_letter;
  if (!config.dead_letter_topic.empty()) {
    dead_letter.emplace(kafka, config.dead_letter_topic, metrics);
    spdlog::info("invalid records are copied to the dead-letter topic '{}'", config.dead_letter_topic);
  }
  const bool sharded = !config.shard_group.empty();
  std::optional<ShardMap> shard_map;
  std::optional<HttpPeerForwarder> forwarder;
  if (sharded) {
    shard_map.emplace(config.advertise);
    forwarder.emplace(config.advertise);
    api.set_shards(&*shard_map, &*forwarder);
  }
  HttpServer server(api, metrics, http, tls ? &*tls : nullptr);
  TableReaderOptions table_options{kafka, config.require_compacted, dead_letter ? &*dead_letter : nullptr,
                                   config.state_dir, &checkpoints};
  table_options.sharded = sharded;
  table_options.direct_catch_up = config.direct_catch_up;
  TableReader reader(std::move(table_options), store, readiness, metrics);
  std::optional<GroupMembership> membership;
  std::optional<ShardCoordinator> coordinator;
  if (sharded) {
    membership.emplace(GroupMembershipSettings{kafka, config.shard_group, config.advertise});
    ShardCoordinatorHooks hooks;
    hooks.serve = [&reader](std::vector<std::int32_t> partitions) { reader.serve(std::move(partitions)); };
    hooks.fetch_status = [](const std::string& url) { return fetch_shard_status(url, kShardStatusTimeout); };
    hooks.on_counts = [&metrics](std::size_t owned, std::size_t held) {
      metrics.shard_owned_partitions(static_cast<std::int64_t>(owned));
      metrics.shard_partitions_held(static_cast<std::int64_t>(held));
    };
    hooks.on_handovers = [&metrics](std::size_t n) {
      for (std::size_t i = 0; i < n; ++i) metrics.shard_handover();
    };
    coordinator.emplace(*membership, *shard_map, readiness, std::move(hooks));
  }
  std::optional<SnapshotWriter> snapshots;
  if (!config.state_dir.empty()) {
    snapshots.emplace(config.state_dir, std::chrono::seconds(config.snapshot_interval_s), store, readiness, metrics,
                      checkpoints);
  }
  // The port first: when it is taken, nothing has started reading yet.
  server.start();
  reader.start();
  if (membership) membership->start();
  if (coordinator) coordinator->start();
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
  // Sharded: still answering while the partitions held move to their new owners (a rolling restart
  // or a scale-in loses no answer), then the rest stops as usual.
  if (coordinator) {
    coordinator->drain(std::chrono::seconds(config.drain_timeout_s));
    coordinator->stop();
  }
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
