#include "consumer_service/consumer_settings.h"

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
      // A rebuild is a bulk read: large fetches, few round trips.
      {"fetch.max.bytes", "52428800"},           // 50 MB per fetch request (all partitions of a broker)
      {"max.partition.fetch.bytes", "8388608"},  // 8 MB per partition per fetch (default 1 MB)
      // The prefetch queue bounds the rebuild's peak memory on top of the table: librdkafka 2.0.2
      // backs off a whole second once a partition's queue is full, so it must still hold more than
      // one drain cycle (bench/RESULTS.md).
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

bool is_consumer_only_property(std::string_view name) {
  static constexpr std::array<std::string_view, 6> kOthers = {"group.id", "fetch.min.bytes", "session.timeout.ms",
                                                              "isolation.level", "check.crcs", "group.instance.id"};
  if (name == "statistics.interval.ms" || name == "reconnect.backoff.max.ms") return false;  // both kinds
  const auto& d = table_consumer_defaults();
  return std::any_of(d.begin(), d.end(), [&](const auto& kv) { return kv.first == name; }) ||
         std::find(kOthers.begin(), kOthers.end(), name) != kOthers.end();
}

}  // namespace saldo
