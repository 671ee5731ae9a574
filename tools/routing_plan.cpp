#include "tools/routing_plan.h"

#include <algorithm>
#include <map>

#include "common/codec.h"
#include "common/partitioner.h"
#include "common/record_order.h"

namespace saldo {
namespace {

struct KeyState {
  std::optional<RecordOrder> latest_order;
  std::optional<std::string> latest;            // value of the latest valid record (nullopt: a delete)
  std::map<std::int32_t, bool> ends_with_value;  // per partition: its last valid record is a value
};

}  // namespace

RoutingPlan plan_routing(const std::vector<ScannedRecord>& records, std::int32_t partitions) {
  std::vector<const ScannedRecord*> sorted;
  sorted.reserve(records.size());
  for (const auto& r : records) sorted.push_back(&r);
  std::stable_sort(sorted.begin(), sorted.end(), [](const ScannedRecord* a, const ScannedRecord* b) {
    return a->partition != b->partition ? a->partition < b->partition : a->offset < b->offset;
  });

  RoutingPlan plan;
  plan.records = records.size();
  OrderClock clock;
  clock.reset(static_cast<std::size_t>(partitions));
  std::map<std::string, KeyState> keys;
  BalanceUpdate scratch;
  for (const ScannedRecord* r : sorted) {
    if (r->partition < 0 || r->partition >= partitions) continue;
    const RecordOrder order{clock.next(r->partition, r->timestamp_ms), r->partition, r->offset};
    const RecordDecode d = decode_record(r->key, r->value, r->timestamp_ms, scratch);
    if (d.kind == RecordKind::kInvalid) continue;
    if (r->partition != murmur2_partition(r->key, partitions)) ++plan.misrouted_records;
    KeyState& k = keys[r->key];
    k.ends_with_value[r->partition] = r->value.has_value();
    if (!k.latest_order || order > *k.latest_order) {
      k.latest_order = order;
      k.latest = r->value;
    }
  }
  plan.customers = keys.size();
  for (auto& [key, k] : keys) {
    if (k.ends_with_value.size() > 1) ++plan.spread_customers;
    RoutingRepair repair{key, murmur2_partition(key, partitions), {}, k.latest, k.latest_order->time};
    for (const auto& [p, value] : k.ends_with_value) {
      if (p != repair.home && value) {
        repair.tombstone_on.push_back(p);
        repair.stamp_at_least = std::max(repair.stamp_at_least, clock.at(p));
      }
    }
    ++repair.stamp_at_least;
    if (repair.tombstone_on.empty() && k.latest_order->partition == repair.home) continue;
    plan.repairs.push_back(std::move(repair));
  }
  return plan;
}

}  // namespace saldo
