#include "consumer_service/app/service_options.h"

namespace saldo {

const char* const kServiceUsage =
    "Rebuilds the latest balance of every customer from the compacted topic (from offset 0, no\n"
    "consumer group), then tails it and answers GET /saldo/<id>, /saldo/<id>/events, /health, /ready and\n"
    "/metrics.\n"
    "Example: consumer_service -b localhost:9092 -t contas --http-port 5000";

const std::vector<OptionSpec>& service_option_specs() {
  static const std::vector<OptionSpec> specs = {
      {.name = "print-options-markdown",
       .type = OptionType::kSwitch,
       .help = "print this list of options as Markdown (docs/configuration.md) and exit"},
      {.name = "http-threads",
       .env = "HTTP_THREADS",
       .type = OptionType::kInt,
       .default_value = "512",
       .range = IntRange{1, 20000},
       .help = "HTTP worker threads; each open keep-alive connection holds one. Below 4 the default "
               "--sse-max-streams is 0 (live streams answer 503), below 2 the default --http-max-waiting too; "
               "the service warns when that happens"},
      {.name = "http-max-waiting",
       .env = "HTTP_MAX_WAITING",
       .type = OptionType::kInt,
       .range = IntRange{0, 19999},
       .help = "at most this many requests wait at once for a position (GET /saldo/<id>?after=); more get 503 "
               "(default 64, and at most half of --http-threads; must be below --http-threads)"},
      {.name = "sse-max-streams",
       .env = "SSE_MAX_STREAMS",
       .type = OptionType::kInt,
       .range = IntRange{0, 19999},
       .help = "at most this many live streams (GET /saldo/<id>/events) open at once, each holding an HTTP "
               "thread; more get 503 (default 32, and at most a quarter of --http-threads; with "
               "--http-max-waiting it must stay below --http-threads)"},
      {.name = "sse-heartbeat",
       .env = "SSE_HEARTBEAT",
       .type = OptionType::kInt,
       .default_value = "15",
       // Proxies cut a connection idle for 30 s or more (the repository's HAProxy: timeout client 30s).
       .range = IntRange{1, 25},
       .help = "seconds between heartbeats (a comment line) on an idle live stream, so proxies keep it open"},
      {.name = "dead-letter-topic",
       .env = "DEAD_LETTER_TOPIC",
       .default_value = "",
       .help = "copy every invalid record to this (existing) topic, with headers saying why and from where; "
               "must differ from --topic"},
      {.name = "postgres-url",
       .env = "POSTGRES_URL",
       .default_value = "",
       .help = "also write every balance to PostgreSQL (libpq URI, e.g. postgresql://user@host/db); a URL with "
               "a password is refused on the command line: put it in POSTGRES_URL, PGPASSWORD or ~/.pgpass",
       .exposure = Exposure::kPasswordMasked},
      {.name = "postgres-table",
       .env = "POSTGRES_TABLE",
       .default_value = "saldos",
       .help = "the topic's PostgreSQL table (and <table>_excluidos beside it): lower-case letters, digits and "
               "'_', at most 50 characters; one table per topic, refused when it holds another topic"},
      {.name = "http-tokens-file",
       .env = "HTTP_TOKENS_FILE",
       .default_value = "",
       .help = "name:token lines; when set, /saldo/... and /ready need 'Authorization: Bearer <token>' "
               "(re-read on SIGHUP)",
       .exposure = Exposure::kOmitted,
       .value_name = "PATH"},
      {.name = "metrics-public",
       .env = "METRICS_PUBLIC",
       .type = OptionType::kBool,
       .default_value = "false",
       .help = "with --http-tokens-file, leave /metrics open (for a scraper without a token)",
       .implicit = true},
      {.name = "tls-cert",
       .env = "TLS_CERT",
       .default_value = "",
       .help = "PEM certificate (chain, leaf first): serve HTTPS only, TLS 1.2+ (re-read on SIGHUP); with --tls-key",
       .value_name = "PATH"},
      {.name = "tls-key",
       .env = "TLS_KEY",
       .default_value = "",
       .help = "PEM private key of --tls-cert (unencrypted; keep the file readable by the service only)",
       .exposure = Exposure::kOmitted,
       .value_name = "PATH"},
      {.name = "require-compacted",
       .env = "REQUIRE_COMPACTED",
       .type = OptionType::kBool,
       .default_value = "false",
       .help = "refuse a topic whose cleanup.policy is not compact (else a warning in the log and /ready)"},
      {.name = "direct-catch-up",
       .env = "DIRECT_CATCH_UP",
       .type = OptionType::kBool,
       .default_value = "true",
       .help = "read a rebuild up to the start watermarks with Fetch requests of the service's own, then "
               "librdkafka (plaintext only; any batch it does not read is left to librdkafka: "
               "docs/operations.md, \"Direct catch-up\"); false: librdkafka only"},
      {.name = "state-dir",
       .env = "STATE_DIR",
       .default_value = "",
       .help = "keep a snapshot of the table here and start warm from it when it may be trusted "
               "(docs/operations.md, \"State directory\"); empty: every start replays the topic",
       .value_name = "PATH"},
      {.name = "shard-group",
       .env = "SHARD_GROUP",
       .default_value = "",
       .help = "sharded mode: join this Kafka consumer group and hold only the partitions it assigns this "
               "instance (cooperative-sticky); any instance still answers any customer, forwarding to its "
               "partition's holder (README, \"Sharded mode\"). Needs --advertise; no --state-dir"},
      {.name = "advertise",
       .env = "ADVERTISE_URL",
       .default_value = "",
       .help = "sharded mode: this instance's base URL as the other instances and clients reach it, e.g. "
               "http://10.0.0.5:5000 (carried in the group member's client.id)",
       .value_name = "URL"},
      {.name = "drain-timeout",
       .env = "DRAIN_TIMEOUT",
       .type = OptionType::kInt,
       .default_value = "60",
       .range = IntRange{0, 3600},
       .help = "sharded mode: at shutdown, seconds to keep answering the partitions held until their new "
               "owners are ready"},
      {.name = "snapshot-interval",
       .env = "SNAPSHOT_INTERVAL",
       .type = OptionType::kInt,
       .default_value = "60",
       .range = IntRange{1, 86400},
       .help = "seconds between snapshots (written only when something changed, and at shutdown)"},
  };
  return specs;
}

void add_service_options(ConfigLoader& loader) {
  loader.add_kafka_options();
  loader.add_http_options();
  loader.add_log_options();
  loader.add(service_option_specs());
}

}  // namespace saldo
