// libFuzzer target: decode_update on arbitrary key/value bytes never crashes, never throws, and
// whatever it accepts survives an encode/decode round trip unchanged.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/codec.h"
#include "common/customer_id.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // First byte: key length (0xFF = no key); then the key; the rest is the value.
  const std::size_t key_len = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::optional<std::string_view> key;
  if (key_len != 0xFF) {
    key = rest.substr(0, std::min(key_len, rest.size()));
    rest.remove_prefix(key->size());
  }
  saldo::DecodeResult r = saldo::decode_update(key, rest);
  if (const auto* u = std::get_if<saldo::BalanceUpdate>(&r)) {
    if (!saldo::is_valid_customer_id(u->cliente_id)) std::abort();
    if (u->saldo > saldo::kMaxAbsCentavos || u->saldo < -saldo::kMaxAbsCentavos) std::abort();
    saldo::DecodeResult again = saldo::decode_update(u->cliente_id, saldo::encode_update(*u));
    const auto* v = std::get_if<saldo::BalanceUpdate>(&again);
    if (v == nullptr || !(*v == *u)) std::abort();
  }
  return 0;
}
