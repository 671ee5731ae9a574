#include "consumer_service/postgres/postgres_sink_status.h"

#include <cstdio>

#include "common/json_escape.h"

namespace saldo {

std::string_view to_string(SinkState s) {
  switch (s) {
    case SinkState::kConnecting: return "connecting";
    case SinkState::kStandby: return "standby";
    case SinkState::kWaitingTopic: return "waiting_for_topic";
    case SinkState::kRunning: return "running";
    case SinkState::kDown: return "down";
    case SinkState::kCount: break;
  }
  return "unknown";
}

void PostgresSinkStatus::set_state(SinkState s) { state_.store(s, std::memory_order_relaxed); }

void PostgresSinkStatus::set_error(std::string message) {
  std::lock_guard lock(mutex_);
  last_error_ = std::move(message);
}

void PostgresSinkStatus::transaction(std::uint64_t rows, std::uint64_t records, double seconds) noexcept {
  rows_.fetch_add(rows, std::memory_order_relaxed);
  records_.fetch_add(records, std::memory_order_relaxed);
  transactions_.fetch_add(1, std::memory_order_relaxed);
  std::size_t i = 0;
  while (i < kCommitBuckets.size() && seconds > kCommitBuckets[i]) ++i;
  commit_[i].fetch_add(1, std::memory_order_relaxed);
  commit_sum_ns_.fetch_add(static_cast<std::uint64_t>(seconds * 1e9), std::memory_order_relaxed);
}

namespace {

void line(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void value(std::string& out, std::string_view name, std::string_view labels, const std::string& v) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(v).append("\n");
}

}  // namespace

void PostgresSinkStatus::render_metrics(std::string& out) const {
  line(out, "saldo_postgres_sink_rows_written_total", "counter",
       "Rows of saldos inserted, updated or deleted by the PostgreSQL sink.");
  value(out, "saldo_postgres_sink_rows_written_total", "", std::to_string(rows_written()));
  line(out, "saldo_postgres_sink_records_total", "counter", "Topic records the PostgreSQL sink committed past.");
  value(out, "saldo_postgres_sink_records_total", "", std::to_string(records_.load(std::memory_order_relaxed)));
  line(out, "saldo_postgres_sink_transactions_total", "counter", "Transactions the PostgreSQL sink committed.");
  value(out, "saldo_postgres_sink_transactions_total", "", std::to_string(transactions()));
  line(out, "saldo_postgres_sink_errors_total", "counter",
       "Failed connection attempts and transactions of the PostgreSQL sink (each retried).");
  value(out, "saldo_postgres_sink_errors_total", "", std::to_string(errors()));
  line(out, "saldo_postgres_sink_topic_resets_total", "counter",
       "Times the sink emptied its tables because the topic was recreated, truncated or shrunk.");
  value(out, "saldo_postgres_sink_topic_resets_total", "", std::to_string(topic_resets()));
  line(out, "saldo_postgres_sink_lag_records", "gauge",
       "Records between the sink's committed positions and each partition's last stable offset as the broker said last (moves while the sink fails; -1 unknown).");
  value(out, "saldo_postgres_sink_lag_records", "", std::to_string(lag()));
  line(out, "saldo_postgres_sink_up", "gauge", "1 while the sink is connected and writing.");
  value(out, "saldo_postgres_sink_up", "", state() == SinkState::kRunning ? "1" : "0");
  line(out, "saldo_postgres_sink_commit_duration_seconds", "histogram",
       "Time of one batch's transaction, from BEGIN to COMMIT's answer.");
  std::uint64_t cumulative = 0;
  char le[48];
  for (std::size_t i = 0; i < kCommitBuckets.size(); ++i) {
    cumulative += commit_[i].load(std::memory_order_relaxed);
    std::snprintf(le, sizeof le, "le=\"%g\"", kCommitBuckets[i]);
    value(out, "saldo_postgres_sink_commit_duration_seconds_bucket", le, std::to_string(cumulative));
  }
  cumulative += commit_[kCommitBuckets.size()].load(std::memory_order_relaxed);
  value(out, "saldo_postgres_sink_commit_duration_seconds_bucket", "le=\"+Inf\"", std::to_string(cumulative));
  char sum[48];
  std::snprintf(sum, sizeof sum, "%.9f",
                static_cast<double>(commit_sum_ns_.load(std::memory_order_relaxed)) / 1e9);
  value(out, "saldo_postgres_sink_commit_duration_seconds_sum", "", sum);
  value(out, "saldo_postgres_sink_commit_duration_seconds_count", "", std::to_string(cumulative));
}

void PostgresSinkStatus::append_ready_json(std::string& out) const {
  out.append(",\"postgres\":{\"state\":\"").append(to_string(state())).append("\"");
  out.append(",\"lag\":").append(std::to_string(lag()));
  out.append(",\"rows_written\":").append(std::to_string(rows_written()));
  out.append(",\"transactions\":").append(std::to_string(transactions()));
  out.append(",\"errors\":").append(std::to_string(errors()));
  out.append(",\"topic_resets\":").append(std::to_string(topic_resets()));
  std::lock_guard lock(mutex_);
  if (!last_error_.empty()) {
    out.append(",\"last_error\":");
    append_json_string(out, last_error_);
  }
  out.append("}");
}

}  // namespace saldo
