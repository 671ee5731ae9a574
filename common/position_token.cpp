#include "common/position_token.h"

#include <algorithm>
#include <charconv>
#include <limits>

namespace saldo {
namespace {

template <typename Int>
std::optional<Int> parse_non_negative(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  for (const char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  Int v{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::string format_position_token(std::int32_t partition, std::int64_t offset) {
  return std::to_string(partition) + ":" + std::to_string(offset);
}

std::optional<std::vector<TopicPosition>> parse_position_tokens(std::string_view text) {
  std::vector<TopicPosition> out;
  while (true) {
    const std::size_t comma = text.find(',');
    const std::string_view token = text.substr(0, comma);
    const std::size_t colon = token.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    const auto partition = parse_non_negative<std::int32_t>(token.substr(0, colon));
    const auto offset = parse_non_negative<std::int64_t>(token.substr(colon + 1));
    if (!partition || !offset) return std::nullopt;
    if (out.size() == kMaxPositionTokens) return std::nullopt;
    out.push_back({*partition, *offset});
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return a.partition != b.partition ? a.partition < b.partition : a.offset > b.offset;
  });
  out.erase(std::unique(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.partition == b.partition; }),
            out.end());
  return out;
}

}  // namespace saldo
