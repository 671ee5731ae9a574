#pragma once
// Timestamps as producers write them ("2025-10-14T10:30:45", optionally with a fraction and "Z" or
// "+00:00") packed into 8 bytes plus a format byte, for the store. Packing succeeds only when
// unpacking gives back exactly the same text, so nothing the producer wrote is ever altered.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/timestamp.h"

namespace saldo {

struct PackedTimestamp {
  std::uint64_t bits = 0;   // seconds since 1970 (34 bits) << 30 | fraction digits as a number
  std::uint8_t format = 0;  // never 0: bit 7 set, bit 6 ' ' separator, bits 4-5 suffix, bits 0-3 digits
};

std::optional<PackedTimestamp> pack_timestamp(std::string_view text) noexcept;
// The same from the text's fields as parse_timestamp gave them (the codec parsed it already):
// pack_timestamp(text) == pack_timestamp(*parse_timestamp(text)).
std::optional<PackedTimestamp> pack_timestamp(const TimestampFields& fields) noexcept;
void append_timestamp(std::string& out, PackedTimestamp ts);

}  // namespace saldo
