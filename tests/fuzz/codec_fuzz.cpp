// libFuzzer target: decode_record on arbitrary key/value bytes never crashes, never throws, and
// whatever it accepts survives an encode/decode round trip unchanged (the accepted forms of other
// clients, a numeric id, no timestamp, float noise, come back in the canonical form), and the
// shortcut for the canonical layout decides as the general parser does, and the timestamp fields it
// hands back are parse_timestamp's of the text it keeps.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/codec.h"
#include "common/customer_id.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // First byte: key length (0xFF = no key, 0xFE = no key and no value); then the key; the rest is the value.
  const std::size_t key_len = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  std::optional<std::string_view> key;
  if (key_len < 0xFE) {
    key = rest.substr(0, std::min(key_len, rest.size()));
    rest.remove_prefix(key->size());
  }
  std::optional<std::string_view> value;
  if (key_len != 0xFE) value = rest;
  constexpr std::int64_t kRecordTime = 1760437845123;
  saldo::BalanceUpdate u;
  const saldo::RecordDecode d = saldo::decode_record(key, value, kRecordTime, u);
  // A space after the opening brace is the same JSON, and takes the general parser past the
  // shortcut for encode_update's own layout: both must decide alike.
  if (value && value->starts_with('{') && value->size() < saldo::kMaxValueBytes) {
    std::string spaced = "{ ";
    spaced.append(value->substr(1));
    saldo::BalanceUpdate w;
    const saldo::RecordDecode g = saldo::decode_record(key, std::string_view(spaced), kRecordTime, w);
    if (g.kind != d.kind || g.error != d.error || g.notes.amount_rounded != d.notes.amount_rounded ||
        g.notes.timestamp_from_record != d.notes.timestamp_from_record ||
        (d.kind == saldo::RecordKind::kSet && !(w == u))) {
      std::abort();
    }
  }
  // The fields the table's decoder packs the timestamp from are those of the text it keeps.
  saldo::BalanceUpdate f;
  std::optional<saldo::TimestampFields> fields;
  const saldo::RecordDecode e = saldo::decode_record(key, value, kRecordTime, f, fields);
  if (e.kind != d.kind || e.error != d.error || (d.kind == saldo::RecordKind::kSet && !(f == u))) std::abort();
  if (fields.has_value() != (d.kind == saldo::RecordKind::kSet && !d.notes.timestamp_from_record)) std::abort();
  if (fields) {
    const auto parsed = saldo::parse_timestamp(f.timestamp);
    if (!parsed || parsed->year != fields->year || parsed->month != fields->month || parsed->day != fields->day ||
        parsed->hour != fields->hour || parsed->minute != fields->minute || parsed->second != fields->second ||
        parsed->fraction != fields->fraction || parsed->fraction_digits != fields->fraction_digits ||
        parsed->separator != fields->separator || parsed->fraction_mark != fields->fraction_mark ||
        parsed->zone != fields->zone || fields->zone.data() + fields->zone.size() != f.timestamp.data() + f.timestamp.size()) {
      std::abort();
    }
  }
  if (d.kind == saldo::RecordKind::kErase && (!key || value.has_value())) std::abort();
  if (d.kind == saldo::RecordKind::kSet) {
    if (!saldo::is_valid_customer_id(u.cliente_id) || u.cliente_id != *key) std::abort();
    if (u.saldo > saldo::kMaxAbsCentavos || u.saldo < -saldo::kMaxAbsCentavos) std::abort();
    const std::string encoded = saldo::encode_update(u);
    saldo::BalanceUpdate v;
    const saldo::RecordDecode again = saldo::decode_record(u.cliente_id, std::string_view(encoded), kRecordTime, v);
    if (again.kind != saldo::RecordKind::kSet || !(v == u) || again.notes.amount_rounded ||
        again.notes.timestamp_from_record || again.notes.id_was_number) {
      std::abort();
    }
  }
  return 0;
}
