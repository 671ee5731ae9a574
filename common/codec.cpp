#include "common/codec.h"

#include <ctime>

#include "common/customer_id.h"
#include "common/json_escape.h"

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

  // One multi-byte UTF-8 sequence at p_: well formed, shortest form, no surrogates, <= U+10FFFF.
  bool utf8() {
    unsigned char c = static_cast<unsigned char>(*p_);
    int len;
    std::uint32_t cp, min;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; min = 0x10000; }
    else return false;
    if (end_ - p_ < len) return false;
    for (int k = 1; k < len; ++k) {
      unsigned char cc = static_cast<unsigned char>(p_[k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p_ += len;
    return true;
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

bool two_digits(std::string_view s, std::size_t at, int lo, int hi) {
  if (at + 2 > s.size()) return false;
  char a = s[at], b = s[at + 1];
  if (a < '0' || a > '9' || b < '0' || b > '9') return false;
  int v = (a - '0') * 10 + (b - '0');
  return v >= lo && v <= hi;
}

}  // namespace

bool is_valid_timestamp(std::string_view t) noexcept {
  // YYYY-MM-DD
  if (t.size() < 19) return false;
  for (std::size_t k = 0; k < 4; ++k) {
    if (t[k] < '0' || t[k] > '9') return false;
  }
  if (t[4] != '-' || !two_digits(t, 5, 1, 12) || t[7] != '-' || !two_digits(t, 8, 1, 31)) return false;
  if (t[10] != 'T' && t[10] != ' ') return false;
  if (!two_digits(t, 11, 0, 23) || t[13] != ':' || !two_digits(t, 14, 0, 59) || t[16] != ':' ||
      !two_digits(t, 17, 0, 60)) {
    return false;
  }
  std::size_t i = 19;
  if (i < t.size() && (t[i] == '.' || t[i] == ',')) {
    std::size_t begin = ++i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
    if (i == begin || i - begin > 9) return false;
  }
  if (i == t.size()) return true;
  if (t[i] == 'Z') return i + 1 == t.size();
  if (t[i] != '+' && t[i] != '-') return false;
  ++i;
  if (!two_digits(t, i, 0, 23)) return false;
  i += 2;
  if (i == t.size()) return true;
  if (t[i] == ':') ++i;
  return two_digits(t, i, 0, 59) && i + 2 == t.size();
}

std::optional<DecodeError> decode_update_into(std::optional<std::string_view> key, std::string_view value,
                                              BalanceUpdate& out) {
  if (!key) return DecodeError::kNullKey;
  if (!is_valid_customer_id(*key)) return DecodeError::kInvalidKey;
  if (value.size() > kMaxValueBytes) return DecodeError::kTooLarge;

  Reader r(value);
  r.skip_ws();
  if (!r.peek('{')) {
    Kind kind;
    std::string_view text;
    std::string scratch;
    if (!r.value(0, &kind, &text, &scratch)) return DecodeError::kInvalidJson;
    r.skip_ws();
    return r.at_end() ? DecodeError::kNotAnObject : DecodeError::kInvalidJson;
  }
  r.consume('{');

  Field id, saldo, ts;
  // Escaped strings need storage that outlives the member loop; one per field plus one for names.
  std::string id_buf, saldo_buf, ts_buf, name_buf, other_buf;
  r.skip_ws();
  if (!r.consume('}')) {
    for (;;) {
      std::string_view name;
      if (!r.string(&name, &name_buf)) return DecodeError::kInvalidJson;
      r.skip_ws();
      if (!r.consume(':')) return DecodeError::kInvalidJson;
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
      if (!r.value(1, &kind, &text, buf)) return DecodeError::kInvalidJson;
      if (field != nullptr) {
        if (++field->count > 1) return DecodeError::kInvalidJson;
        field->kind = kind;
        field->text = text;
      }
      r.skip_ws();
      if (r.consume('}')) break;
      if (!r.consume(',')) return DecodeError::kInvalidJson;
      r.skip_ws();
    }
  }
  r.skip_ws();
  if (!r.at_end()) return DecodeError::kInvalidJson;

  if (id.count == 0 || saldo.count == 0 || ts.count == 0) return DecodeError::kMissingField;
  if (id.kind != Kind::kString || ts.kind != Kind::kString ||
      (saldo.kind != Kind::kString && saldo.kind != Kind::kNumber)) {
    return DecodeError::kWrongType;
  }
  if (id.text != *key) return DecodeError::kIdMismatch;
  std::optional<Centavos> amount = parse_money(saldo.text);
  if (!amount) return DecodeError::kInvalidAmount;
  if (!is_valid_timestamp(ts.text)) return DecodeError::kInvalidTimestamp;
  out.cliente_id.assign(id.text);
  out.saldo = *amount;
  out.timestamp.assign(ts.text);
  return std::nullopt;
}

DecodeResult decode_update(std::optional<std::string_view> key, std::string_view value) {
  BalanceUpdate u;
  if (const auto why = decode_update_into(key, value, u)) return *why;
  return u;
}

std::string encode_update(const BalanceUpdate& u) {
  std::string out;
  out.reserve(48 + u.cliente_id.size() + u.timestamp.size());
  out += "{\"cliente_id\":";
  append_json_string(out, u.cliente_id);
  out += ",\"saldo\":";
  append_money(out, u.saldo);
  out += ",\"timestamp\":";
  append_json_string(out, u.timestamp);
  out += '}';
  return out;
}

std::string now_timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(buf, n);
}

}  // namespace saldo
