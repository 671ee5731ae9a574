#pragma once
// The id rule (ARCHITECTURE.md, "Wire format"): 1 to 64 characters of [A-Za-z0-9._-].
#include <cstddef>
#include <string_view>

namespace saldo {

inline constexpr std::size_t kMaxCustomerIdLength = 64;

bool is_valid_customer_id(std::string_view id) noexcept;

}  // namespace saldo
