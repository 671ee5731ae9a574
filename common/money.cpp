#include "common/money.h"

#include <cstddef>

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

std::optional<Centavos> fail(MoneyError e, MoneyError* why) {
  if (why != nullptr) *why = e;
  return std::nullopt;
}

}  // namespace

// Grammar: [+-]? digits ('.' digits)? ([eE] [+-]? digits)?  — a JSON number, plus a leading '+'
// and leading zeros, which a person may type. The value is digits × 10^shift, evaluated exactly.
std::optional<Centavos> parse_money(std::string_view text, MoneyError* why) {
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
  if (shift < 0) return fail(MoneyError::kTooManyDecimals, why);
  // kMaxAbsCentavos = 10^15 has 16 digits: anything with more cannot be in range.
  if (static_cast<std::int64_t>(last - first) + shift > 16) return fail(MoneyError::kOutOfRange, why);
  std::int64_t value = 0;
  for (std::size_t k = first; k < last; ++k) value = value * 10 + (digit_at(k) - '0');
  for (std::int64_t s = 0; s < shift; ++s) value *= 10;
  if (value > kMaxAbsCentavos) return fail(MoneyError::kOutOfRange, why);
  return negative ? -value : value;
}

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
