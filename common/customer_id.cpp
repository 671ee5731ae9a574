#include "common/customer_id.h"

#include <array>

namespace saldo {
namespace {

constexpr std::array<bool, 256> make_allowed() {
  std::array<bool, 256> t{};
  for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
  for (int c = '0'; c <= '9'; ++c) t[c] = true;
  t['.'] = t['_'] = t['-'] = true;
  return t;
}
constexpr std::array<bool, 256> kAllowed = make_allowed();

}  // namespace

bool is_valid_customer_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > kMaxCustomerIdLength) return false;
  for (unsigned char c : id) {
    if (!kAllowed[c]) return false;
  }
  return true;
}

}  // namespace saldo
