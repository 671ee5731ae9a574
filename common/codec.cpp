#include "common/codec.h"


#include "common/customer_id.h"
#include "common/json_escape.h"
#include "common/timestamp.h"
#include "common/utf8.h"

// A small strict JSON reader instead of a DOM or SAX library: the decoder is on the rebuild hot
// path (every record of the topic), and this one borrows views into the value and allocates only
// for the two strings it returns.

namespace saldo {

std::string_view to_string(DecodeError e) {
  switch (e) {
    case DecodeError::kNullKey: return "null_key";
    case DecodeError::kInvalidKey: return "invalid_key";
    case DecodeError::kTooLarge: return "too_large";
    case DecodeError::kInvalidJson: return "invalid_json";
    case DecodeError::kNotAnObject: return "not_an_object";
    case DecodeError::kMissingField: return "missing_field";
    case DecodeError::kWrongType: return "wrong_type";
    case DecodeError::kIdMismatch: return "id_mismatch";
    case DecodeError::kInvalidAmount: return "invalid_amount";
    case DecodeError::kInvalidTimestamp: return "invalid_timestamp";
    case DecodeError::kCount: break;
  }
  return "unknown";
}

namespace {

constexpr int kMaxDepth = 128;

enum class Kind { kNone, kString, kNumber, kOther };

struct Field {
  Kind kind = Kind::kNone;
  std::string_view text;  // string contents (decoded) or the number's own text
  int count = 0;
};

class Reader {
 public:
  explicit Reader(std::string_view s) : p_(s.data()), end_(s.data() + s.size()) {}

  void skip_ws() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }
  bool at_end() const { return p_ == end_; }
  bool peek(char c) const { return p_ != end_ && *p_ == c; }
  bool consume(char c) {
    if (p_ != end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }

  // Reads a string literal. Without escapes `out` views the input; otherwise it views `scratch`.
  bool string(std::string_view* out, std::string* scratch) {
    if (!consume('"')) return false;
    const char* begin = p_;
    while (p_ != end_) {
      unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        *out = std::string_view(begin, static_cast<std::size_t>(p_ - begin));
        ++p_;
        return true;
      }
      if (c == '\\') return escaped_string(begin, out, scratch);
      if (c < 0x20) return false;
      if (c < 0x80) {
        ++p_;
      } else if (!utf8()) {
        return false;
      }
    }
    return false;
  }

  bool number(std::string_view* out) {
    const char* begin = p_;
    consume('-');
    if (consume('0')) {
    } else if (p_ != end_ && *p_ >= '1' && *p_ <= '9') {
      digits();
    } else {
      return false;
    }
    if (consume('.') && !digits()) return false;
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (!consume('+')) consume('-');
      if (!digits()) return false;
    }
    *out = std::string_view(begin, static_cast<std::size_t>(p_ - begin));
    return true;
  }

  // Any JSON value, validated and discarded. `kind` says what it was.
  bool value(int depth, Kind* kind, std::string_view* text, std::string* scratch) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '"': *kind = Kind::kString; return string(text, scratch);
      case '{': *kind = Kind::kOther; return container(depth, '}');
      case '[': *kind = Kind::kOther; return container(depth, ']');
      case 't': *kind = Kind::kOther; return literal("true");
      case 'f': *kind = Kind::kOther; return literal("false");
      case 'n': *kind = Kind::kOther; return literal("null");
      default: *kind = Kind::kNumber; return number(text);
    }
  }

 private:
  bool digits() {
    const char* begin = p_;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    return p_ != begin;
  }

  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }

  bool container(int depth, char close) {
    if (depth >= kMaxDepth) return false;
    ++p_;
    skip_ws();
    if (consume(close)) return true;
    std::string scratch;
    for (;;) {
      std::string_view text;
      Kind kind;
      if (close == '}') {
        if (!string(&text, &scratch)) return false;
        skip_ws();
        if (!consume(':')) return false;
        skip_ws();
      }
      if (!value(depth + 1, &kind, &text, &scratch)) return false;
      skip_ws();
      if (consume(close)) return true;
      if (!consume(',')) return false;
      skip_ws();
    }
  }

  // One multi-byte UTF-8 sequence at p_ (common/utf8.h's rule).
  bool utf8() {
    const std::size_t len = utf8_sequence_length(std::string_view(p_, static_cast<std::size_t>(end_ - p_)), 0);
    p_ += len;
    return len != 0;
  }

  bool hex4(std::uint32_t* v) {
    if (end_ - p_ < 4) return false;
    std::uint32_t r = 0;
    for (int k = 0; k < 4; ++k) {
      char c = p_[k];
      r <<= 4;
      if (c >= '0' && c <= '9') r |= static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') r |= static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') r |= static_cast<std::uint32_t>(c - 'A' + 10);
      else return false;
    }
    p_ += 4;
    *v = r;
    return true;
  }

  static void put_utf8(std::string& s, std::uint32_t cp) {
    if (cp < 0x80) {
      s.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      s.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      s.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // The slow path of string(): p_ is at the first backslash.
  bool escaped_string(const char* begin, std::string_view* out, std::string* scratch) {
    scratch->assign(begin, p_);
    while (p_ != end_) {
      unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        *out = *scratch;
        return true;
      }
      if (c < 0x20) return false;
      if (c >= 0x80) {
        const char* start = p_;
        if (!utf8()) return false;
        scratch->append(start, p_);
        continue;
      }
      ++p_;
      if (c != '\\') {
        scratch->push_back(static_cast<char>(c));
        continue;
      }
      if (p_ == end_) return false;
      char e = *p_++;
      switch (e) {
        case '"': scratch->push_back('"'); break;
        case '\\': scratch->push_back('\\'); break;
        case '/': scratch->push_back('/'); break;
        case 'b': scratch->push_back('\b'); break;
        case 'f': scratch->push_back('\f'); break;
        case 'n': scratch->push_back('\n'); break;
        case 'r': scratch->push_back('\r'); break;
        case 't': scratch->push_back('\t'); break;
        case 'u': {
          std::uint32_t cp;
          if (!hex4(&cp)) return false;
          if (cp >= 0xDC00 && cp <= 0xDFFF) return false;  // lone low surrogate
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t low;
            if (!consume('\\') || !consume('u') || !hex4(&low) || low < 0xDC00 || low > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          put_utf8(*scratch, cp);
          break;
        }
        default: return false;
      }
    }
    return false;
  }

  const char* p_;
  const char* end_;
};

}  // namespace

namespace {

// The timestamp's fields as validated, with the zone viewing `kept` (the caller's copy of the text,
// which outlives the value's scratch buffers): the zone is always the text's tail.
void keep_fields(const TimestampFields& parsed, const std::string& kept, std::optional<TimestampFields>& fields) {
  fields = parsed;
  fields->zone = std::string_view(kept).substr(kept.size() - parsed.zone.size());
}

// The exact layout encode_update writes (what saldo's producers send, so nearly every record):
// {"cliente_id":"<key>","saldo":<-?digits.dd>,"timestamp":"<plain ASCII>"}, read by comparing
// fixed texts instead of parsing JSON. nullopt when the value is laid out any other way; the general
// parser then decides. For a value it takes, the result is the general parser's (the same timestamp
// function decides; the amount, always D.dd here, is read as integer centavos with money.h's range
// rule; codec_test and the codec fuzz target check the two agree).
std::optional<RecordDecode> decode_canonical(std::string_view key, std::string_view value, BalanceUpdate& out,
                                             std::optional<TimestampFields>& fields) {
  constexpr std::string_view kId = "{\"cliente_id\":\"", kSaldo = "\",\"saldo\":", kTimestamp = ",\"timestamp\":\"";
  std::string_view rest = value;
  const auto take = [&rest](std::string_view text) {
    if (!rest.starts_with(text)) return false;
    rest.remove_prefix(text.size());
    return true;
  };
  // The key is a valid id (no quote or backslash), so the id's text is the key itself.
  if (!take(kId) || !take(key) || !take(kSaldo)) return std::nullopt;
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  std::size_t n = rest.starts_with('-') ? 1 : 0;
  const std::size_t int_begin = n;
  while (n < rest.size() && digit(rest[n])) ++n;
  const std::size_t int_digits = n - int_begin;
  if (int_digits == 0 || (int_digits > 1 && rest[int_begin] == '0')) return std::nullopt;
  if (rest.size() < n + 3 || rest[n] != '.' || !digit(rest[n + 1]) || !digit(rest[n + 2])) return std::nullopt;
  const std::string_view amount_text = rest.substr(0, n + 3);
  rest.remove_prefix(n + 3);
  if (!take(kTimestamp)) return std::nullopt;
  std::size_t end = 0;
  while (end < rest.size()) {
    const auto c = static_cast<unsigned char>(rest[end]);
    if (c == '"') break;
    if (c < 0x20 || c >= 0x80 || c == '\\') return std::nullopt;
    ++end;
  }
  if (rest.substr(end) != "\"}") return std::nullopt;
  const std::string_view ts = rest.substr(0, end);

  // The amount is exactly D.dd: D x 100 + dd centavos, never rounded, so parse_json_amount's
  // general work (exponents, trailing zeros, float noise) has nothing to do. Its range rule
  // (|amount| <= kMaxAbsCentavos) decides: at most 14 integer digits fit an int64 here, and more
  // than 14 is at least 10^16 centavos, out of range either way. "-0.00" is 0, as there.
  if (int_digits > 14) return RecordDecode{RecordKind::kInvalid, DecodeError::kInvalidAmount, {}};
  const auto digit_at = [&amount_text](std::size_t k) { return static_cast<std::int64_t>(amount_text[k] - '0'); };
  std::int64_t cents = 0;
  for (std::size_t k = int_begin; k < n; ++k) cents = cents * 10 + digit_at(k);
  cents = cents * 100 + digit_at(n + 1) * 10 + digit_at(n + 2);
  if (cents > kMaxAbsCentavos) return RecordDecode{RecordKind::kInvalid, DecodeError::kInvalidAmount, {}};
  const std::optional<TimestampFields> parsed = parse_timestamp(ts);
  if (!parsed) return RecordDecode{RecordKind::kInvalid, DecodeError::kInvalidTimestamp, {}};
  out.timestamp.assign(ts);
  keep_fields(*parsed, out.timestamp, fields);
  out.cliente_id.assign(key);
  out.saldo = int_begin == 1 ? -cents : cents;
  return RecordDecode{RecordKind::kSet, DecodeError::kCount, {}};
}

// The value of a non-null record into `out`; `record_timestamp_ms` stands in for a missing timestamp.
RecordDecode decode_value(std::string_view key, std::string_view value, std::int64_t record_timestamp_ms,
                          BalanceUpdate& out, std::optional<TimestampFields>& fields) {
  const auto invalid = [](DecodeError e) { return RecordDecode{RecordKind::kInvalid, e, {}}; };
  if (value.size() > kMaxValueBytes) return invalid(DecodeError::kTooLarge);
  if (auto canonical = decode_canonical(key, value, out, fields)) return *canonical;

  Reader r(value);
  r.skip_ws();
  if (!r.peek('{')) {
    Kind kind;
    std::string_view text;
    std::string scratch;
    if (!r.value(0, &kind, &text, &scratch)) return invalid(DecodeError::kInvalidJson);
    r.skip_ws();
    return invalid(r.at_end() ? DecodeError::kNotAnObject : DecodeError::kInvalidJson);
  }
  r.consume('{');

  Field id, saldo, ts;
  // Escaped strings need storage that outlives the member loop; one per field plus one for names.
  std::string id_buf, saldo_buf, ts_buf, name_buf, other_buf;
  r.skip_ws();
  if (!r.consume('}')) {
    for (;;) {
      std::string_view name;
      if (!r.string(&name, &name_buf)) return invalid(DecodeError::kInvalidJson);
      r.skip_ws();
      if (!r.consume(':')) return invalid(DecodeError::kInvalidJson);
      r.skip_ws();
      Field* field = nullptr;
      std::string* buf = &other_buf;
      if (name == "cliente_id") {
        field = &id;
        buf = &id_buf;
      } else if (name == "saldo") {
        field = &saldo;
        buf = &saldo_buf;
      } else if (name == "timestamp") {
        field = &ts;
        buf = &ts_buf;
      }
      Kind kind;
      std::string_view text;
      if (!r.value(1, &kind, &text, buf)) return invalid(DecodeError::kInvalidJson);
      if (field != nullptr) {
        if (++field->count > 1) return invalid(DecodeError::kInvalidJson);
        field->kind = kind;
        field->text = text;
      }
      r.skip_ws();
      if (r.consume('}')) break;
      if (!r.consume(',')) return invalid(DecodeError::kInvalidJson);
      r.skip_ws();
    }
  }
  r.skip_ws();
  if (!r.at_end()) return invalid(DecodeError::kInvalidJson);

  RecordDecode d{RecordKind::kSet, DecodeError::kCount, {}};
  if (id.count == 0 || saldo.count == 0) return invalid(DecodeError::kMissingField);
  // An integer id equal to the key is what a client that keeps ids as numbers writes: same customer.
  if (id.kind == Kind::kNumber) {
    d.notes.id_was_number = true;
  } else if (id.kind != Kind::kString) {
    return invalid(DecodeError::kWrongType);
  }
  if ((ts.count > 0 && ts.kind != Kind::kString) || (saldo.kind != Kind::kString && saldo.kind != Kind::kNumber)) {
    return invalid(DecodeError::kWrongType);
  }
  if (id.text != key) return invalid(DecodeError::kIdMismatch);
  std::optional<Centavos> amount;
  if (saldo.kind == Kind::kNumber) {
    amount = parse_json_amount(saldo.text, &d.notes.amount_rounded);
  } else {
    amount = parse_money(saldo.text);
  }
  if (!amount) return invalid(DecodeError::kInvalidAmount);
  if (ts.count == 0) {
    d.notes.timestamp_from_record = true;
    out.timestamp = format_epoch_ms(record_timestamp_ms);
  } else if (const std::optional<TimestampFields> parsed = parse_timestamp(ts.text); !parsed) {
    return invalid(DecodeError::kInvalidTimestamp);
  } else {
    out.timestamp.assign(ts.text);
    keep_fields(*parsed, out.timestamp, fields);
  }
  out.cliente_id.assign(key);
  out.saldo = *amount;
  return d;
}

}  // namespace

RecordDecode decode_record(std::optional<std::string_view> key, std::optional<std::string_view> value,
                           std::int64_t record_timestamp_ms, BalanceUpdate& out,
                           std::optional<TimestampFields>& fields) {
  fields.reset();
  if (!key) return {RecordKind::kInvalid, DecodeError::kNullKey, {}};
  if (!is_valid_customer_id(*key)) return {RecordKind::kInvalid, DecodeError::kInvalidKey, {}};
  if (!value) return {RecordKind::kErase, DecodeError::kCount, {}};
  const RecordDecode d = decode_value(*key, *value, record_timestamp_ms, out, fields);
  if (d.kind != RecordKind::kSet) fields.reset();
  return d;
}

RecordDecode decode_record(std::optional<std::string_view> key, std::optional<std::string_view> value,
                           std::int64_t record_timestamp_ms, BalanceUpdate& out) {
  std::optional<TimestampFields> fields;
  return decode_record(key, value, record_timestamp_ms, out, fields);
}

DecodeResult decode_update(std::optional<std::string_view> key, std::string_view value) {
  BalanceUpdate u;
  const RecordDecode d = decode_record(key, value, 0, u);
  if (d.kind == RecordKind::kInvalid) return d.error;
  if (d.notes.timestamp_from_record) u.timestamp.clear();  // the sender stamps it
  return u;
}

void encode_update_into(std::string& out, const BalanceUpdate& u) {
  out.clear();
  out.reserve(48 + u.cliente_id.size() + u.timestamp.size());
  out += "{\"cliente_id\":";
  append_json_string(out, u.cliente_id);
  out += ",\"saldo\":";
  append_money(out, u.saldo);
  out += ",\"timestamp\":";
  append_json_string(out, u.timestamp);
  out += '}';
}

std::string encode_update(const BalanceUpdate& u) {
  std::string out;
  encode_update_into(out, u);
  return out;
}

}  // namespace saldo
