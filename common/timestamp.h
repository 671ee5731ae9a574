#pragma once
// The one timestamp grammar of the project (the codec validates with it, the store packs with it):
// "YYYY-MM-DDTHH:MM:SS" ('T' or a space), an optional fraction of 1 to 9 digits after '.' or ',',
// and an optional zone: "Z", "+HH:MM", "+HHMM" or "+HH" (also '-'). Every field is range-checked,
// the day against its month; a second of 60 (a leap second) is allowed.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace saldo {

struct TimestampFields {
  unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  std::uint32_t fraction = 0;      // the fraction's digits as a number
  unsigned fraction_digits = 0;    // 0: no fraction
  char separator = 'T';            // 'T' or ' '
  char fraction_mark = '.';        // '.' or ','
  std::string_view zone;           // as written: "", "Z", "+00:00", "-0300", ...
};

std::optional<TimestampFields> parse_timestamp(std::string_view text) noexcept;
inline bool is_valid_timestamp(std::string_view text) noexcept { return parse_timestamp(text).has_value(); }

// Current UTC time as the original demo wrote it: "2025-10-14T10:30:45".
std::string now_timestamp();
// A Kafka record timestamp (ms since the epoch) as "2025-10-14T10:30:45.123Z".
std::string format_epoch_ms(std::int64_t ms);

}  // namespace saldo
