#pragma once
// Small text helpers shared by the configuration parser, the producers' input and the logs.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace saldo {

// `s` without leading and trailing spaces, tabs, carriage returns and newlines.
constexpr std::string_view trim(std::string_view s) noexcept {
  constexpr std::string_view kSpace = " \t\r\n";
  const std::size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

// Partitions as the logs name them: "[0,2,5]", "[]" for none.
inline std::string partition_list_text(const std::vector<std::int32_t>& partitions) {
  std::string s = "[";
  for (const std::int32_t p : partitions) {
    if (s.size() > 1) s += ',';
    s += std::to_string(p);
  }
  return s + "]";
}

}  // namespace saldo
