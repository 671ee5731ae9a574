#pragma once
// Sharded mode: an owner's answer to POST /saldos, read back into one entry per id so the instance
// that split a batch can merge the owners' answers in its caller's order. Each entry keeps the
// owner's exact text (a balance is an exact decimal: never re-printed through a double). Pure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace saldo {

// The arrays of a /saldos answer ("unavailable" only in sharded mode).
enum class BatchCategory : std::uint8_t { kFound, kNotFound, kInvalid, kUnavailable };

struct BatchEntry {
  BatchCategory category = BatchCategory::kFound;
  std::string json;  // the element as the owner wrote it: {"cliente_id":"1",...}
};

// cliente_id → its entry. nullopt when `body` is not JSON, not an object, an array holds something
// else than objects with a string "cliente_id", or it has none of the arrays; never throws.
std::optional<std::unordered_map<std::string, BatchEntry>> parse_batch_reply(std::string_view body);

}  // namespace saldo
