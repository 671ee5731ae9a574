#include "common/money.h"

#include <gtest/gtest.h>

namespace saldo {
namespace {

std::optional<Centavos> parse(std::string_view s) { return parse_money(s); }
MoneyError why(std::string_view s) {
  MoneyError e = MoneyError::kEmpty;
  EXPECT_FALSE(parse_money(s, &e).has_value()) << s;
  return e;
}

TEST(Money, PlainDecimals) {
  EXPECT_EQ(parse("0"), 0);
  EXPECT_EQ(parse("150"), 15000);
  EXPECT_EQ(parse("150.0"), 15000);
  EXPECT_EQ(parse("150.00"), 15000);
  EXPECT_EQ(parse("123.45"), 12345);
  EXPECT_EQ(parse("0.07"), 7);
  EXPECT_EQ(parse("-12.5"), -1250);
  EXPECT_EQ(parse("-0.05"), -5);
}

TEST(Money, DecimalsThatBinaryFloatingPointGetsWrong) {
  EXPECT_EQ(parse("0.1"), 10);
  EXPECT_EQ(parse("0.2"), 20);
  EXPECT_EQ(*parse("0.1") + *parse("0.2"), *parse("0.3"));
  EXPECT_EQ(parse("1.15"), 115);  // 1.15 as a double is 1.149999...
  EXPECT_EQ(parse("4.35"), 435);
  EXPECT_EQ(parse("9007199254740.99"), 900719925474099);  // a double has no exact value for this
}

TEST(Money, TwoVersusThreeDecimals) {
  EXPECT_EQ(parse("1.23"), 123);
  EXPECT_EQ(why("1.234"), MoneyError::kTooManyDecimals);
  EXPECT_EQ(why("0.001"), MoneyError::kTooManyDecimals);
  // Extra zeros do not change the value: the amount still has at most 2 decimals.
  EXPECT_EQ(parse("1.230"), 123);
  EXPECT_EQ(parse("1.2300000"), 123);
}

TEST(Money, Exponents) {
  EXPECT_EQ(parse("1e2"), 10000);
  EXPECT_EQ(parse("1E2"), 10000);
  EXPECT_EQ(parse("1e+2"), 10000);
  EXPECT_EQ(parse("1.5e1"), 1500);
  EXPECT_EQ(parse("1.5e-1"), 15);
  EXPECT_EQ(parse("125e-2"), 125);
  EXPECT_EQ(parse("-2.5e0"), -250);
  EXPECT_EQ(parse("1e0"), 100);
  EXPECT_EQ(why("1e-3"), MoneyError::kTooManyDecimals);
  EXPECT_EQ(parse("1.234e1"), 1234);  // 12.34
  EXPECT_EQ(why("1.2345e1"), MoneyError::kTooManyDecimals);
}

TEST(Money, ExponentResultIsWhatCounts) {
  EXPECT_EQ(parse("1.234e2"), 12340);
  EXPECT_EQ(parse("1234e-2"), 1234);
  EXPECT_EQ(why("1234e-3"), MoneyError::kTooManyDecimals);
  EXPECT_EQ(parse("0e999999999999"), 0);
  EXPECT_EQ(parse("0.000e-99"), 0);
  EXPECT_EQ(why("1e999999999999999999999"), MoneyError::kOutOfRange);
  EXPECT_EQ(why("1e-999999999999999999999"), MoneyError::kTooManyDecimals);
  EXPECT_EQ(why("1e"), MoneyError::kNotANumber);
  EXPECT_EQ(why("1e+"), MoneyError::kNotANumber);
}

TEST(Money, Bounds) {
  EXPECT_EQ(parse("10000000000000"), kMaxAbsCentavos);
  EXPECT_EQ(parse("-10000000000000.00"), -kMaxAbsCentavos);
  EXPECT_EQ(why("10000000000000.01"), MoneyError::kOutOfRange);
  EXPECT_EQ(why("99999999999999999999999999999"), MoneyError::kOutOfRange);
  EXPECT_EQ(why("-1e14"), MoneyError::kOutOfRange);
  EXPECT_EQ(parse("1e13"), kMaxAbsCentavos);
  // Long but small: leading zeros do not count against the range.
  EXPECT_EQ(parse(std::string(1000, '0') + "1.5"), 150);
}

TEST(Money, SignsAndShapes) {
  EXPECT_EQ(parse("-0"), 0);
  EXPECT_EQ(parse("-0.00"), 0);
  EXPECT_EQ(parse("+5"), 500);
  EXPECT_EQ(parse("007"), 700);
  EXPECT_EQ(why(""), MoneyError::kEmpty);
  EXPECT_EQ(why("+"), MoneyError::kNotANumber);
  EXPECT_EQ(why("-"), MoneyError::kNotANumber);
  EXPECT_EQ(why(".5"), MoneyError::kNotANumber);
  EXPECT_EQ(why("5."), MoneyError::kNotANumber);
  EXPECT_EQ(why("1,50"), MoneyError::kNotANumber);
  EXPECT_EQ(why(" 1"), MoneyError::kNotANumber);
  EXPECT_EQ(why("1 "), MoneyError::kNotANumber);
  EXPECT_EQ(why("--1"), MoneyError::kNotANumber);
  EXPECT_EQ(why("NaN"), MoneyError::kNotANumber);
  EXPECT_EQ(why("Infinity"), MoneyError::kNotANumber);
  EXPECT_EQ(why("0x10"), MoneyError::kNotANumber);
  EXPECT_EQ(why("1.2.3"), MoneyError::kNotANumber);
}

TEST(Money, Format) {
  EXPECT_EQ(format_money(0), "0.00");
  EXPECT_EQ(format_money(15000), "150.00");
  EXPECT_EQ(format_money(5), "0.05");
  EXPECT_EQ(format_money(-5), "-0.05");
  EXPECT_EQ(format_money(-12345), "-123.45");
  EXPECT_EQ(format_money(kMaxAbsCentavos), "10000000000000.00");
  EXPECT_EQ(format_money(INT64_MIN), "-92233720368547758.08");
  std::string out = "saldo=";
  append_money(out, 100);
  EXPECT_EQ(out, "saldo=1.00");
}

TEST(Money, FormatThenParseRoundTrips) {
  for (Centavos c : {Centavos{0}, Centavos{1}, Centavos{-1}, Centavos{99}, Centavos{100}, Centavos{123456789},
                     kMaxAbsCentavos, -kMaxAbsCentavos}) {
    EXPECT_EQ(parse_money(format_money(c)), c) << c;
  }
}

}  // namespace
}  // namespace saldo
