#include "producer/input_file.h"

#include <optional>
#include <vector>

#include "common/customer_id.h"
#include "common/text.h"

namespace saldo {
namespace {

std::string shown(std::string_view s) {
  constexpr std::size_t kMax = 40;
  // Appends rather than operator+: GCC 12 at -O3 sees a false -Wrestrict overlap in the latter.
  std::string out = "'";
  out.append(s.substr(0, kMax)).append(s.size() > kMax ? "...'" : "'");
  return out;
}

// The three fields, checked the same way for both formats.
InputLine make_update(std::string_view id, std::string_view saldo, std::optional<std::string_view> timestamp) {
  if (!is_valid_customer_id(id)) return BadLine{"invalid cliente_id " + shown(id) + " (1 to 64 of [A-Za-z0-9._-])"};
  MoneyError why = MoneyError::kEmpty;
  std::optional<Centavos> amount = parse_money(saldo, &why);
  if (!amount) return BadLine{"invalid saldo " + shown(saldo) + ": " + std::string(to_string(why))};
  if (timestamp && !is_valid_timestamp(*timestamp)) {
    return BadLine{"invalid timestamp " + shown(*timestamp) + " (expected YYYY-MM-DDTHH:MM:SS)"};
  }
  return BalanceUpdate{std::string(id), *amount, timestamp ? std::string(*timestamp) : std::string()};
}

// A JSON line is judged by the service's own decoder (one rule for what a valid value is), which
// takes the id as a separate key, as a Kafka record has it. A file line has no key: the candidates
// are the plain "cliente_id":"..." texts in the line, and the decoder confirms the right one.
// Returns the next candidate from `pos` on, and moves `pos` past it.
std::optional<std::string_view> next_id_candidate(std::string_view line, std::size_t& pos) {
  constexpr std::string_view kName = "\"cliente_id\"";
  while ((pos = line.find(kName, pos)) != std::string_view::npos) {
    pos += kName.size();
    const std::size_t colon = line.find_first_not_of(" \t", pos);
    if (colon == std::string_view::npos || line[colon] != ':') continue;
    const std::size_t quote = line.find_first_not_of(" \t", colon + 1);
    if (quote == std::string_view::npos || line[quote] != '"') continue;
    const std::size_t end = line.find('"', quote + 1);
    if (end == std::string_view::npos) return std::nullopt;
    pos = end + 1;
    return line.substr(quote + 1, end - quote - 1);
  }
  return std::nullopt;
}

// The one call of the strict decoder, into `out`, whose strings keep their storage from line to line.
std::optional<DecodeError> decode_strict(std::string_view key, std::string_view json, BalanceUpdate& out) {
  const RecordDecode d = decode_record(key, json, 0, out);
  if (d.kind == RecordKind::kInvalid) return d.error;
  if (d.notes.timestamp_from_record) out.timestamp.clear();  // the sender stamps it
  return std::nullopt;
}

// A line without an id or a balance: decoded again with a stand-in timestamp as its first member,
// so a line that also repeats a member is named for that, not for what is missing.
std::optional<DecodeError> decode_line(std::string_view key, std::string_view line, BalanceUpdate& out) {
  const std::optional<DecodeError> why = decode_strict(key, line, out);
  if (!why || *why != DecodeError::kMissingField) return why;
  const std::size_t brace = line.find('{');  // present: the decoder saw an object
  std::string stamped(line.substr(0, brace + 1));
  stamped += R"("timestamp":"1970-01-01T00:00:00",)";
  stamped += line.substr(brace + 1);
  const std::optional<DecodeError> again = decode_strict(key, stamped, out);
  if (!again) {
    out.timestamp.clear();
    return std::nullopt;
  }
  // A repeated timestamp (or "{}" followed by the comma) is invalid JSON: the line had its own
  // timestamp, so what it misses is the id or the balance.
  return *again == DecodeError::kInvalidJson ? why : again;
}

// `first_id`: the first id candidate of the line, if it has one.
std::string describe(DecodeError why, std::optional<std::string_view> first_id) {
  switch (why) {
    case DecodeError::kInvalidJson: return "not valid JSON (or not UTF-8, or a field given twice)";
    case DecodeError::kNotAnObject: return "not a JSON object";
    case DecodeError::kMissingField: return first_id ? "missing saldo" : "missing cliente_id";
    case DecodeError::kWrongType:
      return "a field of the wrong type (cliente_id a string or the id as a number, timestamp a string, saldo a number or a decimal string)";
    case DecodeError::kIdMismatch:
      return first_id ? "invalid cliente_id " + shown(*first_id) + " (1 to 64 of [A-Za-z0-9._-])"
                      : "cliente_id must be written without escapes";
    case DecodeError::kInvalidAmount: return "invalid saldo: more than 2 decimal places, out of range or not a number";
    case DecodeError::kInvalidTimestamp: return "invalid timestamp (expected YYYY-MM-DDTHH:MM:SS)";
    case DecodeError::kTooLarge: return "longer than " + std::to_string(kMaxValueBytes) + " bytes";
    case DecodeError::kNullKey:
    case DecodeError::kInvalidKey:  // the keys tried here are valid ids
    case DecodeError::kCount: break;
  }
  return std::string(to_string(why));
}

LineKind parse_json_line(std::string_view line, BalanceUpdate& out, std::string& reason) {
  std::optional<std::string_view> first_id;
  std::size_t pos = 0;
  while (const auto id = next_id_candidate(line, pos)) {
    if (!first_id) first_id = id;
    if (!is_valid_customer_id(*id)) continue;
    const std::optional<DecodeError> why = decode_line(*id, line, out);
    if (!why) return LineKind::kUpdate;
    if (*why != DecodeError::kIdMismatch) {
      reason = describe(*why, first_id);
      return LineKind::kBad;
    }
  }
  // No candidate is the line's id: decode with any valid key to learn what else is wrong (an id
  // written with escapes that happens to equal it decodes, correctly).
  const std::optional<DecodeError> why = decode_line("0", line, out);
  if (!why) return LineKind::kUpdate;
  reason = describe(*why, first_id);
  return LineKind::kBad;
}

// One CSV record on one line: fields split at commas, optionally "quoted" with "" for a quote.
std::optional<std::vector<std::string>> split_csv(std::string_view line) {
  std::vector<std::string> fields;
  std::size_t i = 0;
  for (;;) {
    std::string field;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i < line.size() && line[i] == '"') {
      ++i;
      for (;;) {
        if (i >= line.size()) return std::nullopt;  // unterminated quote
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field.push_back(line[i++]);
      }
      while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i < line.size() && line[i] != ',') return std::nullopt;
    } else {
      std::size_t comma = line.find(',', i);
      field = std::string(trim(line.substr(i, comma == std::string_view::npos ? std::string_view::npos : comma - i)));
      i = comma == std::string_view::npos ? line.size() : comma;
    }
    fields.push_back(std::move(field));
    if (i >= line.size()) return fields;
    ++i;  // the comma
  }
}

InputLine parse_csv_line(std::string_view line) {
  std::optional<std::vector<std::string>> fields = split_csv(line);
  if (!fields) return BadLine{"unterminated quote"};
  if (!fields->empty() && ((*fields)[0] == "cliente_id" || (*fields)[0] == "CLIENTE_ID")) return SkippedLine{};
  if (fields->size() != 2 && fields->size() != 3) {
    return BadLine{"expected cliente_id,saldo[,timestamp] but found " + std::to_string(fields->size()) + " fields"};
  }
  std::optional<std::string_view> ts;
  if (fields->size() == 3) ts = (*fields)[2];
  return make_update((*fields)[0], (*fields)[1], ts);
}

}  // namespace

InputLine parse_input_fields(std::string_view id, std::string_view saldo, std::optional<std::string_view> timestamp) {
  return make_update(id, saldo, timestamp);
}

LineKind parse_input_line(std::string_view line, BalanceUpdate& out, std::string& reason) {
  line = trim(line);
  if (line.empty() || line.front() == '#') return LineKind::kSkipped;
  if (line.front() == '{' || line.front() == '[') return parse_json_line(line, out, reason);
  InputLine csv = parse_csv_line(line);
  if (auto* u = std::get_if<BalanceUpdate>(&csv)) {
    out = std::move(*u);
    return LineKind::kUpdate;
  }
  if (auto* bad = std::get_if<BadLine>(&csv)) {
    reason = std::move(bad->reason);
    return LineKind::kBad;
  }
  return LineKind::kSkipped;
}

InputLine parse_input_line(std::string_view line) {
  BalanceUpdate u;
  std::string reason;
  switch (parse_input_line(line, u, reason)) {
    case LineKind::kUpdate: return u;
    case LineKind::kBad: return BadLine{std::move(reason)};
    case LineKind::kSkipped: break;
  }
  return SkippedLine{};
}

}  // namespace saldo
