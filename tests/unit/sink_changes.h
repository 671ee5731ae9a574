#pragma once
// Sink changes for the PostgreSQL batch and first-load tests: a set or an erase of `id` at ordering
// time `t` (what an OrderClock gave the record), partition `p`, offset `o`.
#include <cstdint>
#include <string>

#include "consumer_service/postgres/postgres_batch.h"

namespace saldo::test_changes {

inline SinkChange set(const std::string& id, Centavos saldo, std::int32_t p, std::int64_t o, std::int64_t t) {
  return {SinkChange::Kind::kSet, id, saldo, "2025-10-14T10:30:45", {t, p, o}};
}
inline SinkChange erase(const std::string& id, std::int32_t p, std::int64_t o, std::int64_t t) {
  return {SinkChange::Kind::kErase, id, 0, "", {t, p, o}};
}

}  // namespace saldo::test_changes
