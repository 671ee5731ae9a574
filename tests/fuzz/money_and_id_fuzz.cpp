// libFuzzer target: the id rule and the money parser on arbitrary text. An accepted amount formats
// back to text that parses to the same centavos; an accepted id has only allowed characters.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/customer_id.h"
#include "common/money.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (saldo::is_valid_customer_id(text)) {
    if (text.empty() || text.size() > saldo::kMaxCustomerIdLength) std::abort();
    for (char c : text) {
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                      c == '_' || c == '-';
      if (!ok) std::abort();
    }
  }
  if (auto cents = saldo::parse_money(text)) {
    if (*cents > saldo::kMaxAbsCentavos || *cents < -saldo::kMaxAbsCentavos) std::abort();
    auto again = saldo::parse_money(saldo::format_money(*cents));
    if (!again || *again != *cents) std::abort();
  }
  return 0;
}
