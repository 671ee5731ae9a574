#include "consumer_service/topic/consumer_settings.h"

#include <algorithm>
#include <array>

namespace saldo {

const KeyValues& table_consumer_defaults() {
  static const KeyValues defaults = {
      // The table is rebuilt from the topic: nothing to commit, no group to join.
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      // A fetch position out of range (a broker back from kill -9 may answer OFFSET_OUT_OF_RANGE for
      // a moment) restarts the partition from its start: the reader sees the offsets go back and
      // rebuilds the table, where librdkafka's default, "latest", would silently skip to the end.
      {"auto.offset.reset", "earliest"},
      // An end-of-partition event says "caught up" even when the last offsets hold no record for us
      // (compaction gaps, transaction markers).
      {"enable.partition.eof", "true"},
      // Fetches small enough that one response does not overshoot the prefetch queue by much: the
      // queue is checked before a fetch only, and 8 MB of lz4 per partition were ~370,000 records
      // (~22 bytes each), whose librdkafka messages (~200 bytes each) made most of the rebuild's peak
      // RSS (bench/notes/2026-11-23-rebuild-speed.md, "The rebuild's peak memory"). The reader wakes
      // the fetcher when the queue runs low (table_reader.cpp), so small fetches do not stall.
      {"fetch.max.bytes", "4194304"},            // 4 MB per fetch request (all partitions of a broker)
      {"max.partition.fetch.bytes", "1048576"},  // 1 MB per partition per fetch (the default)
      // The prefetch queue: librdkafka counts it in messages over all partitions of the consumer
      // queue (queued.max.messages.kbytes counts payload bytes only, not the per-message overhead).
      {"queued.min.messages", "500000"},
      {"queued.max.messages.kbytes", "65536"},  // 64 MB
      // While tailing, an empty fetch waits at the broker this long before it is re-issued.
      {"fetch.wait.max.ms", "10"},
      // After a fetch error or a lost broker, retry soon so the table catches up soon after.
      {"fetch.error.backoff.ms", "100"},
      {"reconnect.backoff.max.ms", "2000"},
      // Broker states once a second, for the "broker reachable" flag.
      {"statistics.interval.ms", "1000"},
  };
  return defaults;
}

const KeyValues& sink_consumer_defaults() {
  // Plain assign from its own positions, never a group, never a Kafka commit (the positions live in
  // PostgreSQL, in the rows' transaction).
  static const KeyValues defaults = {
      {"group.id", "saldo-postgres-sink"},  // assign() in librdkafka 2.0.2 wants one; never joined
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      {"auto.offset.reset", "earliest"},
      {"fetch.wait.max.ms", "10"},
      {"fetch.error.backoff.ms", "100"},
      {"reconnect.backoff.max.ms", "2000"},
  };
  return defaults;
}

bool is_consumer_only_property(std::string_view name) {
  static constexpr std::array<std::string_view, 6> kOthers = {"group.id", "fetch.min.bytes", "session.timeout.ms",
                                                              "isolation.level", "check.crcs", "group.instance.id"};
  if (name == "statistics.interval.ms" || name == "reconnect.backoff.max.ms") return false;  // both kinds
  const auto& d = table_consumer_defaults();
  return std::any_of(d.begin(), d.end(), [&](const auto& kv) { return kv.first == name; }) ||
         std::find(kOthers.begin(), kOthers.end(), name) != kOthers.end();
}

}  // namespace saldo
