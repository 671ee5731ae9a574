#pragma once
// Exact money: integer centavos. Text in, text out; never through binary floating point.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace saldo {

using Centavos = std::int64_t;

// |saldo| <= 10^15 centavos (10 trillion reais): far above any balance, far below int64 overflow.
inline constexpr Centavos kMaxAbsCentavos = 1'000'000'000'000'000;

enum class MoneyError { kEmpty, kNotANumber, kTooManyDecimals, kOutOfRange };
std::string_view to_string(MoneyError e);

// Parses a decimal amount as written in JSON or typed by a person: "150", "-12.5", "0.07", "1e2"
// (an exponent is accepted when the result has at most 2 decimals). At most 2 decimal places.
// Returns the amount or, through `why`, the reason it is not one.
std::optional<Centavos> parse_money(std::string_view text, MoneyError* why = nullptr);

// A JSON number as another client's library wrote it. As parse_money, except that a number with more
// than 2 decimals whose IEEE-754 double lies within kMaxNoiseUlps representable doubles of the double
// nearest a whole centavo ("150.00000000000003", "0.30000000000000004": what 150.0 - 0.1 - 0.2 + 0.3
// prints in Python) is that centavo, with *rounded set. A real third decimal ("1234.567", "1e-05")
// stays kTooManyDecimals.
inline constexpr std::uint64_t kMaxNoiseUlps = 4;
std::optional<Centavos> parse_json_amount(std::string_view number, bool* rounded, MoneyError* why = nullptr);

// Exact decimal text with two places: 15000 -> "150.00", -5 -> "-0.05". Valid as a JSON number.
std::string format_money(Centavos amount);
// Appends the same text to `out` (no allocation when `out` has room): for hot paths.
void append_money(std::string& out, Centavos amount);

}  // namespace saldo
