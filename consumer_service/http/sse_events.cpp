#include "consumer_service/http/sse_events.h"

#include "common/json_escape.h"
#include "consumer_service/http/balance_json.h"

namespace saldo {
namespace {

// The data line is one line of JSON: our JSON never holds a raw newline (append_json_string escapes
// control characters), so it needs no splitting into several data: lines.
std::string saldo_event(std::string_view id, const BalanceSnapshot& b) {
  std::string out = "event: saldo\nid: ";
  out.append(format_position_token(b.partition, b.offset)).append("\ndata: ");
  append_customer(out, id, b);
  out.append("\n\n");
  return out;
}

}  // namespace

std::string sse_first_event(std::string_view id, const CustomerView& now, std::chrono::milliseconds retry) {
  std::string out = "retry: " + std::to_string(retry.count()) + "\n";
  if (now.balance) return out + saldo_event(id, *now.balance);
  out.append("event: not_found\ndata: {\"cliente_id\":\"").append(id);
  out.append("\",\"error\":\"cliente não encontrado\"}\n\n");
  return out;
}

std::string sse_change_event(std::string_view id, const CustomerView& before, const CustomerView& now) {
  if (now.balance) return before.balance == now.balance ? std::string() : saldo_event(id, *now.balance);
  if (!before.balance) return {};
  std::string out = "event: deleted\n";
  if (now.deleted_at) {
    out.append("id: ").append(format_position_token(now.deleted_at->partition, now.deleted_at->offset)).append("\n");
  }
  out.append("data: {\"cliente_id\":\"").append(id).append("\"");
  if (now.deleted_at) {
    out.append(",\"partition\":").append(std::to_string(now.deleted_at->partition));
    out.append(",\"offset\":").append(std::to_string(now.deleted_at->offset));
  }
  out.append("}\n\n");
  return out;
}

std::string sse_moved_event(std::string_view id, std::string_view owner) {
  std::string out = "event: moved\ndata: {\"cliente_id\":\"";
  out.append(id).append("\",\"owner\":");
  append_json_string(out, owner);
  out.append("}\n\n");
  return out;
}

}  // namespace saldo
