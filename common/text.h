#pragma once
// Small text helpers shared by the configuration parser and the producers' input.
#include <string_view>

namespace saldo {

// `s` without leading and trailing spaces, tabs, carriage returns and newlines.
constexpr std::string_view trim(std::string_view s) noexcept {
  constexpr std::string_view kSpace = " \t\r\n";
  const std::size_t first = s.find_first_not_of(kSpace);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(kSpace) - first + 1);
}

}  // namespace saldo
