#include "common/codec.h"

#include <random>
#include <set>
#include <tuple>
#include <utility>
#include <vector>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace saldo {
namespace {

const std::string kGood = R"({"cliente_id":"1","saldo":150.0,"timestamp":"2025-10-14T10:30:45"})";

DecodeError error_of(std::optional<std::string_view> key, std::string_view value) {
  DecodeResult r = decode_update(key, value);
  EXPECT_TRUE(std::holds_alternative<DecodeError>(r)) << value;
  return std::holds_alternative<DecodeError>(r) ? std::get<DecodeError>(r) : DecodeError::kNullKey;
}

BalanceUpdate update_of(std::string_view key, std::string_view value) {
  DecodeResult r = decode_update(key, value);
  if (auto* e = std::get_if<DecodeError>(&r)) {
    ADD_FAILURE() << value << " -> " << to_string(*e);
    return {};
  }
  return std::get<BalanceUpdate>(r);
}

std::string with_saldo(std::string_view saldo) {
  return std::string(R"({"cliente_id":"1","saldo":)") + std::string(saldo) + R"(,"timestamp":"2025-10-14T10:30:45"})";
}

TEST(Codec, DecodesTheOriginalDemoFormat) {
  BalanceUpdate u = update_of("1", kGood);
  EXPECT_EQ(u.cliente_id, "1");
  EXPECT_EQ(u.saldo, 15000);
  EXPECT_EQ(u.timestamp, "2025-10-14T10:30:45");
}

TEST(Codec, EncodesExactDecimal) {
  BalanceUpdate u{"1", 15000, "2025-10-14T10:30:45"};
  EXPECT_EQ(encode_update(u), R"({"cliente_id":"1","saldo":150.00,"timestamp":"2025-10-14T10:30:45"})");
  EXPECT_EQ(encode_update({"x", -5, "2025-10-14T10:30:45Z"}),
            R"({"cliente_id":"x","saldo":-0.05,"timestamp":"2025-10-14T10:30:45Z"})");
}

TEST(Codec, RoundTrips) {
  for (Centavos c : {Centavos{0}, Centavos{1}, Centavos{-1}, Centavos{10}, Centavos{12345}, kMaxAbsCentavos,
                     -kMaxAbsCentavos}) {
    for (const std::string& id : {std::string("1"), std::string("cliente-42"), std::string(64, 'z')}) {
      BalanceUpdate u{id, c, "2025-01-02T03:04:05.123456+01:00"};
      std::string json = encode_update(u);
      EXPECT_EQ(update_of(id, json), u) << json;
      EXPECT_TRUE(nlohmann::json::accept(json)) << json;
    }
  }
}

TEST(Codec, EncodeEscapesOddTimestamps) {
  std::string json = encode_update({"1", 1, "a\"b\\c\n\x01"});
  EXPECT_TRUE(nlohmann::json::accept(json)) << json;
  EXPECT_EQ(nlohmann::json::parse(json)["timestamp"], "a\"b\\c\n\x01");
}

TEST(Codec, AmountForms) {
  EXPECT_EQ(update_of("1", with_saldo("0")).saldo, 0);
  EXPECT_EQ(update_of("1", with_saldo("-0")).saldo, 0);
  EXPECT_EQ(update_of("1", with_saldo("-12.34")).saldo, -1234);
  EXPECT_EQ(update_of("1", with_saldo("0.1")).saldo, 10);
  EXPECT_EQ(update_of("1", with_saldo("1e2")).saldo, 10000);
  EXPECT_EQ(update_of("1", with_saldo("1.5E1")).saldo, 1500);
  EXPECT_EQ(update_of("1", with_saldo("\"150.25\"")).saldo, 15025);
  EXPECT_EQ(update_of("1", with_saldo("\"+5\"")).saldo, 500);
  EXPECT_EQ(update_of("1", with_saldo("123456789012")).saldo, 12345678901200);
  EXPECT_EQ(error_of("1", with_saldo("1.234")), DecodeError::kInvalidAmount);
  EXPECT_EQ(error_of("1", with_saldo("1e-3")), DecodeError::kInvalidAmount);
  EXPECT_EQ(error_of("1", with_saldo("1e300")), DecodeError::kInvalidAmount);
  EXPECT_EQ(error_of("1", with_saldo("99999999999999999999")), DecodeError::kInvalidAmount);
  EXPECT_EQ(error_of("1", with_saldo("\"abc\"")), DecodeError::kInvalidAmount);
  EXPECT_EQ(error_of("1", with_saldo("\"\"")), DecodeError::kInvalidAmount);
  EXPECT_EQ(error_of("1", with_saldo("\" 1\"")), DecodeError::kInvalidAmount);
  // Not JSON numbers at all.
  EXPECT_EQ(error_of("1", with_saldo("+5")), DecodeError::kInvalidJson);
  EXPECT_EQ(error_of("1", with_saldo(".5")), DecodeError::kInvalidJson);
  EXPECT_EQ(error_of("1", with_saldo("5.")), DecodeError::kInvalidJson);
  EXPECT_EQ(error_of("1", with_saldo("007")), DecodeError::kInvalidJson);
  EXPECT_EQ(error_of("1", with_saldo("NaN")), DecodeError::kInvalidJson);
}

TEST(Codec, FieldOrderWhitespaceUnknownFieldsAndEscapes) {
  BalanceUpdate u = update_of("a.b", R"( { "timestamp" : "2025-10-14 10:30:45" , "extra":{"x":[1,2,{"y":null}]},
      "saldo" : 1 , "cliente_\u0069d" : "a\u002eb", "z": true } )");
  EXPECT_EQ(u.cliente_id, "a.b");
  EXPECT_EQ(u.saldo, 100);
  EXPECT_EQ(u.timestamp, "2025-10-14 10:30:45");
}

TEST(Codec, EveryDecodeError) {
  EXPECT_EQ(error_of(std::nullopt, kGood), DecodeError::kNullKey);
  EXPECT_EQ(error_of("", kGood), DecodeError::kInvalidKey);
  EXPECT_EQ(error_of("a b", kGood), DecodeError::kInvalidKey);
  EXPECT_EQ(error_of(std::string(65, '1'), kGood), DecodeError::kInvalidKey);
  EXPECT_EQ(error_of("\xc3\xa9", kGood), DecodeError::kInvalidKey);
  EXPECT_EQ(error_of("1", std::string(kMaxValueBytes + 1, ' ')), DecodeError::kTooLarge);
  EXPECT_EQ(error_of("1", ""), DecodeError::kInvalidJson);
  EXPECT_EQ(error_of("1", "{"), DecodeError::kInvalidJson);
  EXPECT_EQ(error_of("1", kGood + "x"), DecodeError::kInvalidJson);
  EXPECT_EQ(error_of("1", kGood + kGood), DecodeError::kInvalidJson);
  EXPECT_EQ(error_of("1", R"({"cliente_id":"1","saldo":1,"timestamp":"2025-10-14T10:30:45",})"),
            DecodeError::kInvalidJson);
  EXPECT_EQ(error_of("1", R"({"cliente_id":"1","saldo":1,"saldo":2,"timestamp":"2025-10-14T10:30:45"})"),
            DecodeError::kInvalidJson);
  EXPECT_EQ(error_of("1", "{\"cliente_id\":\"1\xff\",\"saldo\":1,\"timestamp\":\"2025-10-14T10:30:45\"}"),
            DecodeError::kInvalidJson);
  EXPECT_EQ(error_of("1", "{\"cliente_id\":\"1\",\"saldo\":1,\"timestamp\":\"2025-10-14T10:30:45\",\"x\":\"\xed\xa0\x80\"}"),
            DecodeError::kInvalidJson);  // UTF-8-encoded surrogate
  EXPECT_EQ(error_of("1", R"({"cliente_id":"1","saldo":1,"timestamp":"2025-10-14T10:30:45","x":"\ud800"})"),
            DecodeError::kInvalidJson);  // lone surrogate escape
  EXPECT_EQ(error_of("1", std::string(R"({"x":)") + std::string(1000, '[') + std::string(1000, ']') + "}"),
            DecodeError::kInvalidJson);  // nesting deeper than the reader follows
  EXPECT_EQ(error_of("1", "[1,2]"), DecodeError::kNotAnObject);
  EXPECT_EQ(error_of("1", "150.0"), DecodeError::kNotAnObject);
  EXPECT_EQ(error_of("1", "\"x\""), DecodeError::kNotAnObject);
  EXPECT_EQ(error_of("1", "null"), DecodeError::kNotAnObject);
  EXPECT_EQ(error_of("1", "{}"), DecodeError::kMissingField);
  EXPECT_EQ(error_of("1", R"({"cliente_id":"1","timestamp":"2025-10-14T10:30:45"})"), DecodeError::kMissingField);
  EXPECT_EQ(error_of("1", R"({"saldo":1,"timestamp":"2025-10-14T10:30:45"})"), DecodeError::kMissingField);
  EXPECT_EQ(error_of("1", R"({"cliente_id":true,"saldo":1,"timestamp":"2025-10-14T10:30:45"})"), DecodeError::kWrongType);
  EXPECT_EQ(error_of("2", R"({"cliente_id":1,"saldo":1,"timestamp":"2025-10-14T10:30:45"})"), DecodeError::kIdMismatch);
  EXPECT_EQ(error_of("1", R"({"cliente_id":1.0,"saldo":1,"timestamp":"2025-10-14T10:30:45"})"), DecodeError::kIdMismatch);
  EXPECT_EQ(error_of("1", R"({"cliente_id":"1","saldo":null,"timestamp":"2025-10-14T10:30:45"})"),
            DecodeError::kWrongType);
  EXPECT_EQ(error_of("1", R"({"cliente_id":"1","saldo":[1],"timestamp":"2025-10-14T10:30:45"})"),
            DecodeError::kWrongType);
  EXPECT_EQ(error_of("1", R"({"cliente_id":"1","saldo":1,"timestamp":20251014})"), DecodeError::kWrongType);
  EXPECT_EQ(error_of("2", kGood), DecodeError::kIdMismatch);
  EXPECT_EQ(error_of("1", with_saldo("1.001")), DecodeError::kInvalidAmount);
  EXPECT_EQ(error_of("1", R"({"cliente_id":"1","saldo":1,"timestamp":""})"), DecodeError::kInvalidTimestamp);
  EXPECT_EQ(error_of("1", R"({"cliente_id":"1","saldo":1,"timestamp":"yesterday"})"), DecodeError::kInvalidTimestamp);
}

TEST(Codec, ErrorNamesAreDistinct) {
  std::set<std::string_view> names;
  for (std::size_t i = 0; i < kDecodeErrorCount; ++i) names.insert(to_string(static_cast<DecodeError>(i)));
  EXPECT_EQ(names.size(), kDecodeErrorCount);
  EXPECT_EQ(names.count("unknown"), 0u);
}

TEST(Codec, Timestamps) {
  for (const char* ok : {"2025-10-14T10:30:45", "2025-10-14 10:30:45", "2025-10-14T10:30:45.1", "2025-10-14T10:30:45.123456789",
                         "2025-10-14T10:30:45Z", "2025-10-14T10:30:45.5+01:00", "2025-10-14T10:30:45-0300",
                         "2025-10-14T10:30:45+05", "2025-12-31T23:59:60Z", "2024-02-29T10:30:45", "2025-10-14T10:30:45,5"}) {
    EXPECT_TRUE(is_valid_timestamp(ok)) << ok;
  }
  for (const char* bad : {"", "2025-10-14", "2025-10-14T10:30", "2025-13-14T10:30:45", "2025-10-00T10:30:45",
                          "2025-10-14T24:00:00", "2025-10-14T10:60:45", "2025-10-14X10:30:45", "2025-10-14T10:30:45.",
                          "2025-10-14T10:30:45.1234567890", "2025-10-14T10:30:45Zx", "2025-10-14T10:30:45+1",
                          "2025-10-14T10:30:45+01:", "25-10-14T10:30:45", "2025/10/14T10:30:45", "2025-10-14T10:30:45 ",
                          "2025-02-29T10:30:45", "2025-04-31T10:30:45"}) {
    EXPECT_FALSE(is_valid_timestamp(bad)) << bad;
  }
  EXPECT_TRUE(is_valid_timestamp(now_timestamp())) << now_timestamp();
  EXPECT_EQ(now_timestamp().size(), 19u);
}

RecordDecode decode(std::optional<std::string_view> key, std::optional<std::string_view> value, BalanceUpdate& u,
                    std::int64_t record_ms = 1760437845123) {
  return decode_record(key, value, record_ms, u);
}

TEST(DecodeRecord, SetEraseOrInvalid) {
  BalanceUpdate u;
  EXPECT_EQ(decode("1", kGood, u).kind, RecordKind::kSet);
  EXPECT_EQ(u.saldo, 15000);
  EXPECT_EQ(decode("1", std::nullopt, u).kind, RecordKind::kErase);
  const RecordDecode no_key = decode(std::nullopt, std::nullopt, u);
  EXPECT_EQ(no_key.kind, RecordKind::kInvalid);
  EXPECT_EQ(no_key.error, DecodeError::kNullKey);
  EXPECT_EQ(decode("a b", std::nullopt, u).error, DecodeError::kInvalidKey);
  EXPECT_EQ(decode("1", std::string_view(), u).error, DecodeError::kInvalidJson);  // empty, not null: no delete
}

// What other clients write, accepted and noted (each note is a metric).
TEST(DecodeRecord, OtherClientsForms) {
  BalanceUpdate u;
  RecordDecode d = decode("3", R"({"cliente_id":3,"saldo":10,"timestamp":"2025-10-14T10:30:45"})", u);
  ASSERT_EQ(d.kind, RecordKind::kSet);
  EXPECT_TRUE(d.notes.id_was_number);
  EXPECT_EQ(u.cliente_id, "3");

  d = decode("1", R"({"cliente_id":"1","saldo":1})", u);
  ASSERT_EQ(d.kind, RecordKind::kSet);
  EXPECT_TRUE(d.notes.timestamp_from_record);
  EXPECT_EQ(u.timestamp, "2025-10-14T10:30:45.123Z");  // the record's timestamp, UTC

  d = decode("1", with_saldo("150.00000000000003"), u);
  ASSERT_EQ(d.kind, RecordKind::kSet);
  EXPECT_TRUE(d.notes.amount_rounded);
  EXPECT_EQ(u.saldo, 15000);
  EXPECT_FALSE(decode("1", kGood, u).notes.amount_rounded);
  // The same digits in a string are a person's decimal, not a float's noise: rejected.
  EXPECT_EQ(decode("1", with_saldo("\"150.00000000000003\""), u).error, DecodeError::kInvalidAmount);
}

// The tolerance rule (money.h): within kMaxNoiseUlps doubles of a whole centavo.
TEST(Money, FloatNoiseIsRoundedARealThirdDecimalIsNot) {
  const auto amount = [](std::string_view text) {
    bool rounded = false;
    const auto c = parse_json_amount(text, &rounded);
    return c ? std::optional<std::pair<Centavos, bool>>({*c, rounded}) : std::nullopt;
  };
  EXPECT_EQ(amount("150.00000000000003"), (std::pair<Centavos, bool>{15000, true}));  // 150.0-0.1-0.2+0.3
  EXPECT_EQ(amount("0.30000000000000004"), (std::pair<Centavos, bool>{30, true}));    // 0.1+0.2
  EXPECT_EQ(amount("-0.30000000000000004"), (std::pair<Centavos, bool>{-30, true}));
  EXPECT_EQ(amount("2.6799999999999997"), (std::pair<Centavos, bool>{268, true}));   // 2.68 one ulp below
  EXPECT_EQ(amount("1.15"), (std::pair<Centavos, bool>{115, false}));
  EXPECT_EQ(amount("1.150"), (std::pair<Centavos, bool>{115, false}));  // a zero third decimal is exact
  EXPECT_FALSE(amount("1234.567"));
  EXPECT_FALSE(amount("1e-05"));
  EXPECT_FALSE(amount("0.005"));
  EXPECT_FALSE(amount("150.0000000001"));   // far more than a few ulps from 150 at this magnitude
  EXPECT_FALSE(amount("1e300"));
  // Edges of the tolerance: 0.3 is 5404319552844595 x 2^-54; 4 ulps away is accepted, 5 is not.
  EXPECT_EQ(amount("0.30000000000000021"), (std::pair<Centavos, bool>{30, true}));  // +4 ulps
  EXPECT_FALSE(amount("0.30000000000000027"));                                        // +5 ulps
}

// Whatever bytes arrive, the decoder answers (no crash, no exception) and agrees with nlohmann
// on what is JSON at all.
// Values in encode_update's exact layout take a shortcut past the JSON parser. The same value with a
// space after its '{' (the same JSON) goes the general way: both must decide alike, valid or not.
TEST(Codec, TheCanonicalShortcutDecidesAsTheGeneralParser) {
  const std::vector<std::string> amounts = {"0.00", "-0.00", "1.50", "150.00", "-2575.25", "9999999999999.99",
                                            "99999999999999.99", "-99999999999999.99", "0.10", "00.10", "01.00",
                                            "1.5", "1.500", "1", "1e2", ".50", "-", "1.0a", "12345678901234567890.00",
                                            // the range's edges: |amount| <= 10^15 centavos
                                            "10000000000000.00", "-10000000000000.00", "10000000000000.01",
                                            "-10000000000000.01", "9999999999999.99", "100000000000000.00",
                                            "999999999999999.99", "0.01", "-0.01", "0.99", "-00.00", "-.00",
                                            "1.00e2", "1.001", "1.00 "};
  const std::vector<std::string> timestamps = {"2025-10-14T10:30:45", "2025-10-14 10:30:45.123+02:00", "yesterday",
                                               "", "2025-02-30T10:00:00", "2025-10-14T10:30:45\\u0041",
                                               "2025-10-14T10:30:45\xc3\xa9", "\t"};
  int checked = 0;
  for (const std::string& key : {std::string("1"), std::string("a.b-C_9"), std::string(64, 'z')}) {
    for (const std::string& amount : amounts) {
      for (const std::string& ts : timestamps) {
        const std::string body = "\"cliente_id\":\"" + key + "\",\"saldo\":" + amount + ",\"timestamp\":\"" + ts + "\"}";
        // Appended rather than "{" + body: GCC 12 at -O3 sees a false -Wrestrict overlap in the latter.
        std::string canonical = "{", spaced = "{ ";
        canonical += body;
        spaced += body;
        BalanceUpdate fast, general;
        const RecordDecode a = decode_record(key, canonical, 0, fast);
        const RecordDecode b = decode_record(key, spaced, 0, general);
        ASSERT_EQ(a.kind, b.kind) << body;
        ASSERT_EQ(a.error, b.error) << body;
        ASSERT_EQ(a.notes.amount_rounded, b.notes.amount_rounded) << body;
        if (a.kind == RecordKind::kSet) {
          ASSERT_EQ(fast, general) << body;
        }
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 3 * 34 * 8);
  // Another key than the value's id is a mismatch either way.
  BalanceUpdate u;
  EXPECT_EQ(decode_record("10", R"({"cliente_id":"1","saldo":1.00,"timestamp":"2025-10-14T10:30:45"})", 0, u).error,
            DecodeError::kIdMismatch);
  EXPECT_EQ(decode_record("1", R"({"cliente_id":"10","saldo":1.00,"timestamp":"2025-10-14T10:30:45"})", 0, u).error,
            DecodeError::kIdMismatch);
}

// The table's decoder packs the timestamp from the fields the codec validated (no second parse):
// they must be parse_timestamp(out.timestamp)'s, with the zone inside out.timestamp, on either path.
TEST(Codec, HandsBackTheTimestampFieldsItValidated) {
  const std::vector<std::pair<std::string, bool>> values = {
      {R"({"cliente_id":"1","saldo":1.00,"timestamp":"2025-10-14T10:30:45"})", true},
      {R"({ "cliente_id":"1","saldo":1.00,"timestamp":"2025-10-14 10:30:45.5+02:00"})", true},
      {R"({"timestamp":"2025-10-14T10:30:45\u005a","saldo":"1.00","cliente_id":1})", true},  // escaped 'Z'
      {R"({"cliente_id":"1","saldo":1.00,"timestamp":"2025-10-14T10:30:45\u002B03:00"})", true},
      {R"({"cliente_id":"1","saldo":1.00})", false},                            // the record's time stands in
      {R"({"cliente_id":"1","saldo":1.00,"timestamp":"yesterday"})", false},    // invalid
      {R"({"cliente_id":"1","saldo":1.001,"timestamp":"2025-10-14T10:30:45"})", false},  // invalid amount
      {R"({"cliente_id":"2","saldo":1.00,"timestamp":"2025-10-14T10:30:45"})", false},   // id mismatch
  };
  for (const auto& [value, has_fields] : values) {
    BalanceUpdate u;
    std::optional<TimestampFields> fields = TimestampFields{};  // stale: must be reset
    const RecordDecode d = decode_record("1", std::string_view(value), 1760437845123, u, fields);
    ASSERT_EQ(fields.has_value(), has_fields) << value;
    BalanceUpdate plain;
    const RecordDecode p = decode_record("1", std::string_view(value), 1760437845123, plain);
    EXPECT_EQ(d.kind, p.kind) << value;
    EXPECT_EQ(d.error, p.error) << value;
    if (d.kind == RecordKind::kSet) {
      EXPECT_EQ(u, plain) << value;
    }
    if (!fields) continue;
    const auto expected = parse_timestamp(u.timestamp);
    ASSERT_TRUE(expected) << value;
    EXPECT_EQ(std::tie(fields->year, fields->month, fields->day, fields->hour, fields->minute, fields->second,
                       fields->fraction, fields->fraction_digits, fields->separator, fields->fraction_mark, fields->zone),
              std::tie(expected->year, expected->month, expected->day, expected->hour, expected->minute,
                       expected->second, expected->fraction, expected->fraction_digits, expected->separator,
                       expected->fraction_mark, expected->zone))
        << value;
    EXPECT_GE(fields->zone.data(), u.timestamp.data()) << value;
    EXPECT_EQ(fields->zone.data() + fields->zone.size(), u.timestamp.data() + u.timestamp.size()) << value;
  }
  // A kept BalanceUpdate (the decoder's) whose strings are reused: the fields view the new text.
  BalanceUpdate kept;
  std::optional<TimestampFields> fields;
  decode_record("1", std::string_view(R"({"cliente_id":"1","saldo":1.00,"timestamp":"2025-10-14T10:30:45Z"})"), 0,
                kept, fields);
  decode_record("1", std::string_view(R"({"cliente_id":"1","saldo":1.00,"timestamp":"2025-10-14T10:30:45+01"})"), 0,
                kept, fields);
  ASSERT_TRUE(fields);
  EXPECT_EQ(fields->zone, "+01");
}

TEST(Codec, MutationsAgreeWithNlohmannOnValidity) {
  std::mt19937 rng(12345);
  const std::string seeds[] = {
      kGood,
      R"({"cliente_id":"a\u00e9","saldo":"1.5","timestamp":"2025-10-14T10:30:45","n":[true,false,null,-1.5e-3,{}]})",
      "{\"cliente_id\":\"1\",\"saldo\":0,\"timestamp\":\"2025-10-14T10:30:45\",\"s\":\"\xe2\x82\xac\xf0\x9f\x98\x80\"}"};
  const char alphabet[] = "{}[]\":,.-+eE0123456789 \\u\xc3\xa9\xff\x00tfnl";
  int checked = 0;
  for (const std::string& seed : seeds) {
    for (int round = 0; round < 30000; ++round) {
      std::string s = seed;
      int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits && !s.empty(); ++e) {
        std::size_t at = rng() % s.size();
        char c = alphabet[rng() % (sizeof alphabet - 1)];
        switch (rng() % 3) {
          case 0: s[at] = c; break;
          case 1: s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), c); break;
          default: s.erase(at, 1); break;
        }
      }
      DecodeResult r = decode_update("1", s);
      bool ours_json = !(std::holds_alternative<DecodeError>(r) && std::get<DecodeError>(r) == DecodeError::kInvalidJson);
      bool theirs_json = nlohmann::json::accept(s);
      if (ours_json != theirs_json && theirs_json) {
        // The one deliberate difference: a repeated known field.
        auto j = nlohmann::json::parse(s);
        int known = 0;
        for (const char* f : {"\"cliente_id\"", "\"saldo\"", "\"timestamp\""}) {
          std::size_t first = s.find(f);
          if (first != std::string::npos && s.find(f, first + 1) != std::string::npos) ++known;
        }
        if (known > 0) continue;
      }
      ASSERT_EQ(ours_json, theirs_json) << "input: " << s;
      ++checked;
    }
  }
  EXPECT_GT(checked, 80000);
}

}  // namespace
}  // namespace saldo
