#pragma once
// The wire format (DESIGN.md): key = cliente_id, value = {"cliente_id":"1","saldo":150.0,"timestamp":"..."}.
// Decoding never throws on bad data: it returns the update or the reason it is not one.
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/money.h"

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
  kInvalidTimestamp, // timestamp empty or not ISO-8601-like
};
inline constexpr int kDecodeErrorCount = 10;
std::string_view to_string(DecodeError e);

inline constexpr std::size_t kMaxValueBytes = 64 * 1024;

using DecodeResult = std::variant<BalanceUpdate, DecodeError>;

// Decodes a non-null record. `key` is nullopt for a record without key.
// (A null value is a tombstone and never reaches this function.)
// Strict RFC 8259 JSON and UTF-8; unknown fields are allowed and ignored; a repeated known field is
// kInvalidJson (which of the two would be meant is ambiguous). Fields may come in any order.
DecodeResult decode_update(std::optional<std::string_view> key, std::string_view value);
// The same into `out`, reusing its strings' capacity (no allocation per record in a loop that keeps
// `out`): nullopt when `out` holds the update, else the reason (and `out` is unspecified).
std::optional<DecodeError> decode_update_into(std::optional<std::string_view> key, std::string_view value,
                                              BalanceUpdate& out);

// The JSON value for an update: {"cliente_id":"1","saldo":150.00,"timestamp":"2025-10-14T10:30:45"}.
std::string encode_update(const BalanceUpdate& u);

// Current UTC time as the original demo wrote it: "2025-10-14T10:30:45".
std::string now_timestamp();

// ISO-8601-like date and time: "YYYY-MM-DDTHH:MM:SS" ('T' or a space), an optional fraction of
// 1 to 9 digits and an optional zone ("Z", "+HH:MM", "+HHMM", "+HH"). Fields are range-checked.
bool is_valid_timestamp(std::string_view text) noexcept;

}  // namespace saldo
