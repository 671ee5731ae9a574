#include "consumer_service/app/configuration.h"

#include <algorithm>

#include "consumer_service/postgres/postgres_schema.h"

namespace saldo {
namespace {

// The derived defaults of --http-max-waiting and --sse-max-streams (the table gives none: they
// depend on --http-threads).
constexpr int kDefaultMaxWaiting = 64;
constexpr int kDefaultMaxStreams = 32;

}  // namespace

bool valid_advertise_url(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    rest = url.substr(8);
  } else {
    return false;
  }
  const auto colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  const std::string_view host = rest.substr(0, colon), port = rest.substr(colon + 1);
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    return false;
  }
  const int n = std::stoi(std::string(port));
  if (n < 1 || n > 65535) return false;
  return std::all_of(host.begin(), host.end(), [](char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' ||
           ch == '[' || ch == ']' || ch == ':' || ch == '_';
  });
}

ServiceConfig service_config(const po::variables_map& vm) {
  ServiceConfig c;
  c.kafka = kafka_options(vm);
  c.http = http_options(vm);
  c.log = log_options(vm);
  c.http_threads = vm["http-threads"].as<int>();
  const int threads = c.http_threads;

  // Unset: 64, but never more than half the threads, so a smaller pool (--http-threads 64) still starts.
  const bool waiting_given = vm.count("http-max-waiting") != 0;
  c.max_waiting = waiting_given ? vm["http-max-waiting"].as<int>() : std::min(kDefaultMaxWaiting, threads / 2);
  if (c.max_waiting >= threads) {
    throw ConfigError("--http-max-waiting: " + std::to_string(c.max_waiting) + " is not in 0.." +
                      std::to_string(threads - 1) + " (below --http-threads: waiting requests hold a thread each)");
  }
  // Unset: 32, but never more than a quarter of the threads.
  const bool streams_given = vm.count("sse-max-streams") != 0;
  c.max_streams = streams_given ? vm["sse-max-streams"].as<int>() : std::min(kDefaultMaxStreams, threads / 4);
  // Streams and waiting requests both hold a pool thread: together they must leave one for /health,
  // /ready and ordinary lookups.
  if (c.max_streams + c.max_waiting >= threads) {
    throw ConfigError("--sse-max-streams (" + std::to_string(c.max_streams) + ") + --http-max-waiting (" +
                      std::to_string(c.max_waiting) + ") must be less than --http-threads (" +
                      std::to_string(threads) + "): streams and waiting requests hold a thread each");
  }
  // A small pool turns features off through the derived defaults; an explicit 0 says it on purpose.
  if (!streams_given && c.max_streams == 0) {
    c.warnings.push_back("--http-threads " + std::to_string(threads) +
                         " leaves no thread for live streams: GET /saldo/<id>/events answers 503 (4 or more threads "
                         "allow one; --sse-max-streams 0 says it on purpose)");
  }
  if (!waiting_given && c.max_waiting == 0) {
    c.warnings.push_back("--http-threads " + std::to_string(threads) +
                         " leaves no thread for read-your-writes: GET /saldo/<id>?after= answers 503 (2 or more "
                         "threads allow one; --http-max-waiting 0 says it on purpose)");
  }
  c.heartbeat_s = vm["sse-heartbeat"].as<int>();

  c.dead_letter_topic = vm["dead-letter-topic"].as<std::string>();
  if (c.dead_letter_topic == c.kafka.topic) throw ConfigError("--dead-letter-topic must differ from --topic");
  c.postgres_url = vm["postgres-url"].as<std::string>();
  c.postgres_table = vm["postgres-table"].as<std::string>();
  if (!pg_schema::valid_table_name(c.postgres_table)) {
    throw ConfigError("--postgres-table '" + c.postgres_table +
                      "': use lower-case letters, digits and '_' (not first a digit), at most 50 characters");
  }
  c.tokens_file = vm["http-tokens-file"].as<std::string>();
  c.metrics_public = vm["metrics-public"].as<bool>();
  c.tls_cert = vm["tls-cert"].as<std::string>();
  c.tls_key = vm["tls-key"].as<std::string>();
  if (c.tls_cert.empty() != c.tls_key.empty()) throw ConfigError("--tls-cert and --tls-key go together");
  c.require_compacted = vm["require-compacted"].as<bool>();
  c.direct_catch_up = vm["direct-catch-up"].as<bool>();
  c.state_dir = vm["state-dir"].as<std::string>();
  c.snapshot_interval_s = vm["snapshot-interval"].as<int>();
  c.shard_group = vm["shard-group"].as<std::string>();
  c.advertise = vm["advertise"].as<std::string>();
  c.drain_timeout_s = vm["drain-timeout"].as<int>();
  if (!c.shard_group.empty()) {
    if (c.advertise.empty()) {
      throw ConfigError("--shard-group needs --advertise URL: where the other instances reach this one");
    }
    if (!valid_advertise_url(c.advertise)) {
      throw ConfigError("--advertise '" + c.advertise +
                        "': give a base URL such as http://10.0.0.5:5000 (http or https, a host, a port, no path)");
    }
    if (c.shard_group == c.kafka.group) {
      throw ConfigError("--shard-group '" + c.shard_group + "' must differ from --group (the table reader's own consumer uses that one)");
    }
    if (!c.state_dir.empty()) {
      throw ConfigError("--state-dir cannot be used with --shard-group: a sharded instance rebuilds the partitions "
                        "it is assigned from offset 0");
    }
  } else if (!c.advertise.empty()) {
    throw ConfigError("--advertise is for sharded mode: it needs --shard-group");
  }
  return c;
}

}  // namespace saldo
