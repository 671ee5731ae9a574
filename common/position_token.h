#pragma once
// Position tokens: "P:O", a record's partition and offset as a producer learns them from the broker,
// and what GET /saldo/<id>?after= takes back ("2:1534,0:17") to read its own write. Pure.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace saldo {

struct TopicPosition {
  std::int32_t partition = 0;
  std::int64_t offset = 0;  // of the record itself (the table has applied it when it reads past it)
  bool operator==(const TopicPosition&) const = default;
};

// "2:1534".
std::string format_position_token(std::int32_t partition, std::int64_t offset);

// Up to this many tokens in one after= (one per partition is all that is ever needed).
inline constexpr std::size_t kMaxPositionTokens = 1024;

// "P:O[,P:O...]" with P and O non-negative decimal integers. A partition given twice keeps the
// higher offset. Sorted by partition. nullopt on anything else (empty, spaces, signs, overflow,
// more than kMaxPositionTokens).
std::optional<std::vector<TopicPosition>> parse_position_tokens(std::string_view text);

}  // namespace saldo
