#pragma once
// What the micro benchmarks put in a store: n customers with 9-character ids (as in the demo),
// applied in batches of 1000 as the table reader applies them. `packed`: each event carries its
// timestamp packed already, as the table's decoder hands it over (the store then parses no text).
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "consumer_service/store/balance_store.h"
#include "consumer_service/store/compact_timestamp.h"

namespace saldo::bench {

inline constexpr std::string_view kTimestamp = "2025-10-14T10:30:45";

inline std::string id_of(std::int64_t i) { return std::to_string(100000000 + i); }

inline void fill(BalanceStore& store, std::int64_t n, bool packed = false) {
  const PackedTimestamp ts = *pack_timestamp(kTimestamp);
  std::vector<std::string> ids;
  std::vector<StoreEvent> events;
  ids.reserve(1000);
  events.reserve(1000);
  for (std::int64_t i = 0; i < n; i += 1000) {
    ids.clear();
    events.clear();
    for (std::int64_t j = i; j < std::min(n, i + 1000); ++j) ids.push_back(id_of(j));
    for (std::size_t k = 0; k < ids.size(); ++k) {
      StoreEvent& ev = events.emplace_back(StoreEvent{StoreEvent::Kind::kSet, ids[k], static_cast<Centavos>(k * 101),
                                                      kTimestamp, static_cast<std::int32_t>(k % 3),
                                                      i + static_cast<std::int64_t>(k)});
      if (packed) {
        ev.ts_bits = ts.bits;
        ev.ts_format = ts.format;
      }
    }
    store.apply(events);
  }
}

}  // namespace saldo::bench
