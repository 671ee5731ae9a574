#include "common/money.h"

#include <charconv>
#include <cstddef>
#include <cstring>

namespace saldo {

std::string_view to_string(MoneyError e) {
  switch (e) {
    case MoneyError::kEmpty: return "empty amount";
    case MoneyError::kNotANumber: return "not a decimal number";
    case MoneyError::kTooManyDecimals: return "more than 2 decimal places";
    case MoneyError::kOutOfRange: return "amount out of range";
  }
  return "invalid amount";
}

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Distance in representable doubles (same sign assumed; different signs count as far apart).
std::uint64_t ulp_distance(double a, double b) {
  if ((a < 0) != (b < 0) && a != 0 && b != 0) return UINT64_MAX;
  std::uint64_t x, y;
  a = a < 0 ? -a : a;
  b = b < 0 ? -b : b;
  std::memcpy(&x, &a, sizeof x);
  std::memcpy(&y, &b, sizeof y);
  return x > y ? x - y : y - x;
}

std::optional<Centavos> fail(MoneyError e, MoneyError* why) {
  if (why != nullptr) *why = e;
  return std::nullopt;
}

std::optional<Centavos> parse_decimal(std::string_view text, MoneyError* why, bool* rounded);

}  // namespace

// Grammar: [+-]? digits ('.' digits)? ([eE] [+-]? digits)?  — a JSON number, plus a leading '+'
// and leading zeros, which a person may type. The value is digits × 10^shift, evaluated exactly.
std::optional<Centavos> parse_money(std::string_view text, MoneyError* why) {
  return parse_decimal(text, why, nullptr);
}

std::optional<Centavos> parse_json_amount(std::string_view number, bool* rounded, MoneyError* why) {
  bool candidate = false;
  const std::optional<Centavos> c = parse_decimal(number, why, &candidate);
  *rounded = candidate;
  if (!c || !candidate) return c;
  // The writer's value as the double its JSON library held, next to the double nearest the
  // candidate centavo: within kMaxNoiseUlps of each other, the extra digits are binary noise.
  double written = 0, meant = 0;
  const std::string centavo_text = format_money(*c);
  if (std::from_chars(number.data(), number.data() + number.size(), written).ec != std::errc{} ||
      std::from_chars(centavo_text.data(), centavo_text.data() + centavo_text.size(), meant).ec != std::errc{} ||
      ulp_distance(written, meant) > kMaxNoiseUlps) {
    *rounded = false;
    return fail(MoneyError::kTooManyDecimals, why);
  }
  return c;
}

namespace {
// Digits x 10^exponent, evaluated exactly. With `rounded` null, more than 2 decimals is an error;
// otherwise the nearest centavo is returned and *rounded set.
std::optional<Centavos> parse_decimal(std::string_view text, MoneyError* why, bool* rounded) {
  if (text.empty()) return fail(MoneyError::kEmpty, why);
  std::size_t i = 0;
  const std::size_t n = text.size();
  bool negative = false;
  if (text[i] == '+' || text[i] == '-') {
    negative = text[i] == '-';
    ++i;
  }

  // Significant digits (leading zeros dropped), kept as a view into `text` split by the point.
  std::size_t int_begin = i;
  while (i < n && is_digit(text[i])) ++i;
  std::size_t int_end = i;
  if (int_end == int_begin) return fail(MoneyError::kNotANumber, why);
  std::size_t frac_begin = i, frac_end = i;
  if (i < n && text[i] == '.') {
    frac_begin = ++i;
    while (i < n && is_digit(text[i])) ++i;
    frac_end = i;
    if (frac_end == frac_begin) return fail(MoneyError::kNotANumber, why);
  }
  std::int64_t exponent = 0;
  if (i < n && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < n && (text[i] == '+' || text[i] == '-')) {
      exp_negative = text[i] == '-';
      ++i;
    }
    std::size_t exp_begin = i;
    while (i < n && is_digit(text[i])) {
      // Saturate: any exponent this large already decides the outcome.
      if (exponent < 1'000'000'000) exponent = exponent * 10 + (text[i] - '0');
      ++i;
    }
    if (i == exp_begin) return fail(MoneyError::kNotANumber, why);
    if (exp_negative) exponent = -exponent;
  }
  if (i != n) return fail(MoneyError::kNotANumber, why);

  // The digit sequence D = int digits followed by frac digits; value = D × 10^(exponent - frac_len).
  // In centavos: D × 10^shift with shift = exponent - frac_len + 2.
  auto digit_at = [&](std::size_t k) {  // k-th digit of D
    std::size_t int_len = int_end - int_begin;
    return k < int_len ? text[int_begin + k] : text[frac_begin + (k - int_len)];
  };
  std::size_t first = 0, last = (int_end - int_begin) + (frac_end - frac_begin);  // [first, last)
  while (first < last && digit_at(first) == '0') ++first;
  if (first == last) return Centavos{0};  // zero, whatever the exponent or sign
  std::int64_t shift = exponent - static_cast<std::int64_t>(frac_end - frac_begin) + 2;
  while (digit_at(last - 1) == '0') {
    --last;
    ++shift;
  }
  if (shift < 0) {
    if (rounded == nullptr) return fail(MoneyError::kTooManyDecimals, why);
    // Candidate: the nearest centavo (half away from zero); the caller's tolerance decides.
    const std::int64_t kept = static_cast<std::int64_t>(last - first) + shift;
    const bool round_up = kept >= 0 && digit_at(first + static_cast<std::size_t>(kept)) >= '5';
    if (kept > 16) return fail(MoneyError::kOutOfRange, why);
    std::int64_t value = 0;
    for (std::int64_t k = 0; k < kept; ++k) value = value * 10 + (digit_at(first + static_cast<std::size_t>(k)) - '0');
    value += round_up ? 1 : 0;
    if (value > kMaxAbsCentavos) return fail(MoneyError::kOutOfRange, why);
    *rounded = true;
    return negative ? -value : value;
  }
  // kMaxAbsCentavos = 10^15 has 16 digits: anything with more cannot be in range.
  if (static_cast<std::int64_t>(last - first) + shift > 16) return fail(MoneyError::kOutOfRange, why);
  std::int64_t value = 0;
  for (std::size_t k = first; k < last; ++k) value = value * 10 + (digit_at(k) - '0');
  for (std::int64_t s = 0; s < shift; ++s) value *= 10;
  if (value > kMaxAbsCentavos) return fail(MoneyError::kOutOfRange, why);
  return negative ? -value : value;
}
}  // namespace

void append_money(std::string& out, Centavos amount) {
  // Unsigned magnitude: correct even for INT64_MIN.
  std::uint64_t magnitude = amount < 0 ? 0 - static_cast<std::uint64_t>(amount) : static_cast<std::uint64_t>(amount);
  char buf[24];
  char* end = buf + sizeof buf;
  char* p = end;
  std::uint64_t cents = magnitude % 100;
  std::uint64_t units = magnitude / 100;
  *--p = static_cast<char>('0' + cents % 10);
  *--p = static_cast<char>('0' + cents / 10);
  *--p = '.';
  do {
    *--p = static_cast<char>('0' + units % 10);
    units /= 10;
  } while (units != 0);
  if (amount < 0) *--p = '-';
  out.append(p, static_cast<std::size_t>(end - p));
}

std::string format_money(Centavos amount) {
  std::string out;
  append_money(out, amount);
  return out;
}

}  // namespace saldo
