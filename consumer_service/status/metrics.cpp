#include "consumer_service/status/metrics.h"

// The Prometheus text by hand, not a client library: a scrape renders a few dozen lines from atomics,
// with no registry, no locks on the request path and no extra dependency (bench/RESULTS.md, "Current figures": GET).


#include <algorithm>
#include <chrono>
#include <cstdio>

namespace saldo {

void Metrics::snapshot_loaded(const std::string& result) {
  std::lock_guard lock(snapshot_mutex_);
  ++snapshot_loads_[result];
}

void Metrics::snapshot_written(bool ok, double seconds, std::size_t bytes) noexcept {
  std::lock_guard lock(snapshot_mutex_);
  if (!ok) {
    ++snapshot_writes_failed_;
    return;
  }
  ++snapshot_writes_ok_;
  snapshot_write_seconds_ = seconds;
  snapshot_bytes_ = bytes;
}

std::size_t Metrics::status_index(int status) noexcept {
  for (std::size_t i = 0; i + 1 < kStatuses.size(); ++i) {
    if (kStatuses[i] == status) return i;
  }
  return kStatuses.size() - 1;
}

void Metrics::http_request(Route route, int status) noexcept {
  http_[static_cast<std::size_t>(route)][status_index(status)].fetch_add(1, std::memory_order_relaxed);
}

std::uint64_t Metrics::http_requests(Route route, int status) const noexcept {
  return http_[static_cast<std::size_t>(route)][status_index(status)].load(std::memory_order_relaxed);
}

void Metrics::request_latency(double seconds) noexcept {
  std::size_t i = 0;
  while (i < kLatencyBuckets.size() && seconds > kLatencyBuckets[i]) ++i;
  latency_[i].fetch_add(1, std::memory_order_relaxed);
  latency_sum_ns_.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

std::uint64_t Metrics::request_latency_count() const noexcept {
  std::uint64_t n = 0;
  for (const auto& c : latency_) n += c.load(std::memory_order_relaxed);
  return n;
}

std::uint64_t Metrics::invalid_total() const noexcept {
  std::uint64_t n = 0;
  for (const auto& c : invalid_) n += c.load(std::memory_order_relaxed);
  return n;
}

namespace {

void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, std::string_view name, std::string_view labels, double value) {
  char buf[64];
  const int n = std::snprintf(buf, sizeof buf, "%.17g", value);
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(buf, static_cast<std::size_t>(n)).append("\n");
}

void sample(std::string& out, std::string_view name, std::string_view labels, std::uint64_t value) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(std::to_string(value)).append("\n");
}

void sample(std::string& out, std::string_view name, std::string_view labels, std::int64_t value) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(std::to_string(value)).append("\n");
}

// A metric with one unlabelled sample: its HELP, TYPE and value.
template <class V>
void single(std::string& out, std::string_view name, std::string_view type, std::string_view help, V value) {
  header(out, name, type, help);
  sample(out, name, "", value);
}

}  // namespace

std::string Metrics::render(const ReadinessSnapshot& r, Table table) const {
  std::string out;
  out.reserve(8192);
  header(out, "saldo_build_info", "gauge", "Always 1; the labels name the build.");
  sample(out, "saldo_build_info",
         "version=\"" SALDO_VERSION "\",librdkafka=\"" + kafka_client_version_ + "\"",
         std::uint64_t{1});
  single(out, "saldo_records_applied_total", "counter", "Valid records applied to the table (sets and deletes).", records_applied());
  single(out, "saldo_tombstones_total", "counter", "Tombstones (null values) applied.", tombstones());
  single(out, "saldo_stale_records_total", "counter", "Valid records older than the one held for their key (ARCHITECTURE.md, \"Consistency\"): not applied.", stale_.load(std::memory_order_relaxed));
  header(out, "saldo_invalid_records_total", "counter", "Records skipped because they are not valid updates.");
  for (std::size_t i = 0; i < kDecodeErrorCount; ++i) {
    const auto why = static_cast<DecodeError>(i);
    sample(out, "saldo_invalid_records_total", "reason=\"" + std::string(to_string(why)) + "\"", invalid_count(why));
  }
  single(out, "saldo_amounts_rounded_total", "counter", "Amounts with binary floating-point noise (150.00000000000003) taken as the centavo they denote.", amounts_rounded());
  single(out, "saldo_timestamps_from_record_total", "counter", "Values without a timestamp: the Kafka record's timestamp stands in.", timestamps_from_record());
  single(out, "saldo_ids_as_number_total", "counter", "Values whose cliente_id was a JSON number equal to the key.", ids_as_number());
  single(out, "saldo_misrouted_records_total", "counter", "Records on another partition than murmur2(key) % partitions: some producer uses another partitioner.", misrouted_count());
  single(out, "saldo_records_reread_total", "counter", "Records fetched again below a partition's position (after an offset reset): skipped, not applied twice.", reread_count());
  single(out, "saldo_full_rebuilds_total", "counter", "Rebuilds from offset 0 after the first (the topic was recreated or records deleted under the service).", static_cast<std::uint64_t>(r.full_rebuilds));
  single(out, "saldo_topic_not_compacted", "gauge", "1 when the topic's cleanup.policy does not include compact.", static_cast<std::uint64_t>(!r.topic_config_warning.empty()));
  {
    std::lock_guard lock(snapshot_mutex_);
    header(out, "saldo_snapshot_loads_total", "counter",
           "Snapshot loads at start, by result: ok, or why the table was rebuilt from offset 0 instead.");
    for (const auto& [result, n] : snapshot_loads_) sample(out, "saldo_snapshot_loads_total", "result=\"" + result + "\"", n);
    header(out, "saldo_snapshot_writes_total", "counter", "Snapshots written, by result.");
    sample(out, "saldo_snapshot_writes_total", "result=\"ok\"", snapshot_writes_ok_);
    sample(out, "saldo_snapshot_writes_total", "result=\"failed\"", snapshot_writes_failed_);
    header(out, "saldo_snapshot_write_seconds", "gauge", "Time the last snapshot took to write.");
    sample(out, "saldo_snapshot_write_seconds", "", snapshot_write_seconds_);
    header(out, "saldo_snapshot_bytes", "gauge", "Size of the last snapshot written.");
    sample(out, "saldo_snapshot_bytes", "", static_cast<std::uint64_t>(snapshot_bytes_));
  }
  single(out, "saldo_customers", "gauge", "Customers in the table.", static_cast<std::uint64_t>(table.customers));
  single(out, "saldo_deleted_ids_remembered", "gauge", "Deleted customer ids the table remembers, so an older value on another partition cannot bring them back.", static_cast<std::uint64_t>(table.tombstones));
  single(out, "saldo_table_memory_bytes", "gauge", "Bytes the table holds (entries, index, long ids, deleted ids).", static_cast<std::uint64_t>(table.memory_bytes));

  header(out, "saldo_state", "gauge", "1 for the current state (STARTING, REBUILDING, READY).");
  for (auto s : {ServiceState::kStarting, ServiceState::kRebuilding, ServiceState::kReady}) {
    sample(out, "saldo_state", "state=\"" + std::string(to_string(s)) + "\"",
           static_cast<std::uint64_t>(s == r.state ? 1 : 0));
  }
  // Seconds from the start watermarks to READY (still growing while rebuilding; 0 before it began).
  const auto now = std::chrono::steady_clock::now();
  double rebuild_s = 0;
  if (r.state == ServiceState::kReady) {
    rebuild_s = std::chrono::duration<double>(r.ready_at - r.rebuild_began).count();
  } else if (r.state == ServiceState::kRebuilding) {
    rebuild_s = std::chrono::duration<double>(now - r.rebuild_began).count();
  }
  single(out, "saldo_rebuild_duration_seconds", "gauge", "Time the rebuild took (so far, while rebuilding).", rebuild_s);
  single(out, "saldo_rebuild_records", "gauge", "Records replayed by the rebuild (so far).", r.records_replayed());
  header(out, "saldo_rebuild_records_per_second", "gauge", "Records replayed per second during the rebuild.");
  sample(out, "saldo_rebuild_records_per_second", "",
         rebuild_s > 0 ? static_cast<double>(r.records_replayed()) / rebuild_s : 0.0);
  single(out, "saldo_ready", "gauge", "1 when every partition caught up with its start watermark.", static_cast<std::uint64_t>(r.state == ServiceState::kReady));
  single(out, "saldo_rebuild_progress", "gauge", "Fraction of the start watermarks replayed.", r.progress());
  single(out, "saldo_broker_reachable", "gauge", "0 while the broker cannot be reached.", static_cast<std::uint64_t>(r.broker_reachable));
  single(out, "saldo_broker_errors_total", "counter", "Errors librdkafka reported about the brokers.", broker_errors_.load(std::memory_order_relaxed));
  single(out, "saldo_topic_missing", "gauge", "1 while the topic does not exist.", static_cast<std::uint64_t>(r.topic_missing));

  header(out, "saldo_partition_offset", "gauge", "Next offset the reader will apply, per partition.");
  for (const auto& p : r.partitions) {
    sample(out, "saldo_partition_offset", "partition=\"" + std::to_string(p.partition) + "\"", p.position);
  }
  header(out, "saldo_partition_high_watermark", "gauge", "High watermark as the broker said last, per partition (open transactions included).");
  for (const auto& p : r.partitions) {
    sample(out, "saldo_partition_high_watermark", "partition=\"" + std::to_string(p.partition) + "\"",
           p.high_watermark);
  }
  header(out, "saldo_partition_lag", "gauge",
         "Records up to the last stable offset not applied yet, per partition (open transactions excluded).");
  for (const auto& p : r.partitions) {
    sample(out, "saldo_partition_lag", "partition=\"" + std::to_string(p.partition) + "\"", p.lag());
  }
  header(out, "saldo_partition_uncommitted_records", "gauge",
         "Records of transactions still open (past the last stable offset), per partition.");
  for (const auto& p : r.partitions) {
    sample(out, "saldo_partition_uncommitted_records", "partition=\"" + std::to_string(p.partition) + "\"",
           p.uncommitted());
  }
  {
    const std::int64_t age_ms = r.end_offsets_age_ms(std::chrono::steady_clock::now());
    single(out, "saldo_end_offsets_age_seconds", "gauge",
           "Age of the broker's answer the lags are computed from (-1: none yet; grows while the broker is away).",
           age_ms < 0 ? -1.0 : static_cast<double>(age_ms) / 1000.0);
  }

  header(out, "saldo_dead_letter_records_total", "counter",
         "Invalid records copied to the dead-letter topic, by delivery result.");
  sample(out, "saldo_dead_letter_records_total", "result=\"delivered\"", dead_letter_delivered());
  sample(out, "saldo_dead_letter_records_total", "result=\"failed\"", dead_letter_failed());

  header(out, "saldo_http_request_duration_seconds", "histogram", "Time to answer an HTTP request in the API.");
  std::uint64_t cumulative = 0;
  char le[32];
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    cumulative += latency_[i].load(std::memory_order_relaxed);
    std::snprintf(le, sizeof le, "le=\"%g\"", kLatencyBuckets[i]);
    sample(out, "saldo_http_request_duration_seconds_bucket", le, cumulative);
  }
  cumulative += latency_[kLatencyBuckets.size()].load(std::memory_order_relaxed);
  sample(out, "saldo_http_request_duration_seconds_bucket", "le=\"+Inf\"", cumulative);
  sample(out, "saldo_http_request_duration_seconds_sum", "",
         static_cast<double>(latency_sum_ns_.load(std::memory_order_relaxed)) / 1e9);
  sample(out, "saldo_http_request_duration_seconds_count", "", cumulative);

  header(out, "saldo_http_auth_failures_total", "counter",
         "Requests refused with 401, by reason (missing, malformed or wrong bearer token).");
  for (std::size_t i = 0; i < kAuthFailureCount; ++i) {
    const auto why = static_cast<AuthFailure>(i);
    sample(out, "saldo_http_auth_failures_total", "reason=\"" + std::string(to_string(why)) + "\"", auth_failures(why));
  }

  header(out, "saldo_http_waiting_requests", "gauge",
         "Requests waiting for the table to apply a position (GET /saldo/<id>?after=).");
  sample(out, "saldo_http_waiting_requests", "", std::max<std::int64_t>(0, waiting_requests()));
  header(out, "saldo_read_your_writes_total", "counter",
         "Reads that asked for a position (after=): ok (applied in time), timeout (504), rejected (too many waiting, 503).");
  for (const auto& [r, label] : {std::pair{WaitResult::kOk, "ok"}, std::pair{WaitResult::kTimeout, "timeout"},
                                 std::pair{WaitResult::kRejected, "rejected"}}) {
    sample(out, "saldo_read_your_writes_total", std::string("result=\"") + label + "\"", read_your_writes_count(r));
  }

  header(out, "saldo_sse_streams_open", "gauge", "Live streams open now (GET /saldo/<id>/events).");
  sample(out, "saldo_sse_streams_open", "", std::max<std::int64_t>(0, event_streams()));
  header(out, "saldo_sse_streams_rejected_total", "counter",
         "Live streams refused with 503 because --sse-max-streams were open.");
  sample(out, "saldo_sse_streams_rejected_total", "", event_streams_rejected());

  if (sharded()) {
    header(out, "saldo_shard_forwards_total", "counter",
           "Requests for another instance's customers: forwarded and answered (ok), owner not reached (unreachable), "
           "no instance holding the partition ready (unavailable, 503).");
    for (const auto& [f, label] : {std::pair{ForwardResult::kOk, "ok"}, std::pair{ForwardResult::kUnreachable, "unreachable"},
                                   std::pair{ForwardResult::kUnavailable, "unavailable"}}) {
      sample(out, "saldo_shard_forwards_total", std::string("result=\"") + label + "\"", shard_forwards(f));
    }
    single(out, "saldo_shard_owned_partitions", "gauge", "Partitions the consumer group assigned this instance.",
           owned_partitions_.load(std::memory_order_relaxed));
    single(out, "saldo_shard_partitions_held", "gauge",
           "Partitions this instance reads (assigned or handing over, rebuilding or ready).",
           held_partitions_.load(std::memory_order_relaxed));
    single(out, "saldo_shard_handovers_total", "counter", "Partitions handed over to their new owner once it was ready.",
           shard_handovers());
  }

  header(out, "saldo_http_requests_total", "counter", "HTTP requests answered, by route and status.");
  for (std::size_t route = 0; route < kRouteCount; ++route) {
    for (std::size_t s = 0; s < kStatuses.size(); ++s) {
      const std::uint64_t n = http_[route][s].load(std::memory_order_relaxed);
      if (n == 0) continue;
      const std::string status = kStatuses[s] == 0 ? "other" : std::to_string(kStatuses[s]);
      sample(out, "saldo_http_requests_total",
             "route=\"" + std::string(to_string(static_cast<Route>(route))) + "\",status=\"" + status + "\"", n);
    }
  }
  return out;
}

}  // namespace saldo
