#pragma once
// Lines of an import file, parsed without Kafka: JSON lines ({"cliente_id":"1","saldo":150.0} with an
// optional "timestamp", judged by the wire format's own decoder) or CSV (cliente_id,saldo[,timestamp],
// an optional header line). Each line gives an update, nothing (blank, '#' comment, header) or the
// reason it was rejected.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/codec.h"

namespace saldo {

struct SkippedLine {};
struct BadLine {
  std::string reason;
};
// A valid line; timestamp is empty when the file had none (the sender stamps it).
using InputLine = std::variant<BalanceUpdate, SkippedLine, BadLine>;

InputLine parse_input_line(std::string_view line);
// The same for a file read line by line: an update goes into `out`, whose strings keep their
// storage from one line to the next (no allocation per line), a rejection's reason into `reason`.
enum class LineKind : std::uint8_t { kUpdate, kSkipped, kBad };
LineKind parse_input_line(std::string_view line, BalanceUpdate& out, std::string& reason);
// The same checks for fields that come apart already (a database row): id rule, money, timestamp.
InputLine parse_input_fields(std::string_view id, std::string_view saldo, std::optional<std::string_view> timestamp);

}  // namespace saldo
