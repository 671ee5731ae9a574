#pragma once
// The wire format (ARCHITECTURE.md): key = cliente_id, value = {"cliente_id":"1","saldo":150.0,"timestamp":"..."}.
// Decoding never throws on bad data: it returns the update or the reason it is not one.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/money.h"
#include "common/timestamp.h"

namespace saldo {

struct BalanceUpdate {
  std::string cliente_id;
  Centavos saldo = 0;
  std::string timestamp;  // ISO-8601 as the producer wrote it
  bool operator==(const BalanceUpdate&) const = default;
};

// Why a record is not a valid update. Stable names (to_string) are used as metric labels.
enum class DecodeError {
  kNullKey,          // record without key
  kInvalidKey,       // key breaks the id rule (empty, too long, bad characters, invalid UTF-8)
  kTooLarge,         // value over kMaxValueBytes
  kInvalidJson,      // not JSON (or not UTF-8)
  kNotAnObject,      // JSON but not an object
  kMissingField,     // cliente_id, saldo or timestamp absent
  kWrongType,        // a field of the wrong JSON type
  kIdMismatch,       // value's cliente_id differs from the key
  kInvalidAmount,    // saldo: more than 2 decimals, out of range, not a number
  kInvalidTimestamp, // timestamp not ISO-8601-like (common/timestamp.h)
  kCount             // not an error: the number of reasons, for arrays indexed by them
};
inline constexpr std::size_t kDecodeErrorCount = static_cast<std::size_t>(DecodeError::kCount);
static_assert(kDecodeErrorCount == 10,
              "a new DecodeError needs a name in to_string() and in docs/operations.md, Metrics");
std::string_view to_string(DecodeError e);

inline constexpr std::size_t kMaxValueBytes = 64 * 1024;

// A record of the topic as the table sees it: set(key, value), erase(key) on a null value, or invalid.
enum class RecordKind : std::uint8_t { kSet, kErase, kInvalid };

// What a valid record needed to be accepted; each is counted by the service.
struct DecodeNotes {
  bool amount_rounded = false;         // saldo had binary floating-point noise (money.h, parse_json_amount)
  bool timestamp_from_record = false;  // no "timestamp": the Kafka record's timestamp stands in
  bool id_was_number = false;          // "cliente_id" was a JSON number equal to the key
};

struct RecordDecode {
  RecordKind kind = RecordKind::kInvalid;
  DecodeError error = DecodeError::kCount;  // kInvalid only
  DecodeNotes notes;                        // kSet only
};

// The one decoder of the wire format. `key` is nullopt for a record without key, `value` nullopt for
// a tombstone; `record_timestamp_ms` is the Kafka record's timestamp. kSet fills `out`, reusing its
// strings' capacity (no allocation per record in a loop that keeps `out`); kErase means the key
// (a valid id) is deleted. Never throws on bad data.
// Strict RFC 8259 JSON and UTF-8; unknown fields are allowed and ignored; a repeated known field is
// kInvalidJson (which of the two would be meant is ambiguous). Fields may come in any order.
RecordDecode decode_record(std::optional<std::string_view> key, std::optional<std::string_view> value,
                           std::int64_t record_timestamp_ms, BalanceUpdate& out);
// The same, also handing back the timestamp's fields as decode_record validated them
// (parse_timestamp(out.timestamp)) when the value carried a timestamp (kSet without
// notes.timestamp_from_record), nullopt otherwise; `fields->zone` views out.timestamp. The table's
// store packs them (store/compact_timestamp.h) without parsing the text a second time.
RecordDecode decode_record(std::optional<std::string_view> key, std::optional<std::string_view> value,
                           std::int64_t record_timestamp_ms, BalanceUpdate& out,
                           std::optional<TimestampFields>& fields);

// decode_record for a non-null value outside Kafka (a producer's input line): the update, or why not.
// A missing timestamp comes back empty: the sender stamps the time it sends.
using DecodeResult = std::variant<BalanceUpdate, DecodeError>;
DecodeResult decode_update(std::optional<std::string_view> key, std::string_view value);

// The JSON value for an update: {"cliente_id":"1","saldo":150.00,"timestamp":"2025-10-14T10:30:45"}.
std::string encode_update(const BalanceUpdate& u);
// The same into `out` (replacing what it held), so a sender reuses one buffer for every record.
void encode_update_into(std::string& out, const BalanceUpdate& u);

}  // namespace saldo
