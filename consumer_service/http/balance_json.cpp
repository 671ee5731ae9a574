#include "consumer_service/http/balance_json.h"

#include "common/json_escape.h"
#include "common/money.h"

namespace saldo {

void append_rejected(std::string& out, const RejectedRecord& w) {
  out.append(",\"warning\":{\"reason\":\"").append(w.reason).append("\",\"partition\":");
  out.append(std::to_string(w.partition)).append(",\"offset\":").append(std::to_string(w.offset));
  out.append(",\"message\":\"um registro mais novo deste cliente foi rejeitado\"}");
}

void append_found(std::string& out, const BalanceSnapshot& found) {
  out.append(",\"saldo\":");
  append_money(out, found.saldo);
  out.append(",\"timestamp\":");
  append_json_string(out, found.timestamp);
  out.append(",\"partition\":").append(std::to_string(found.partition));
  out.append(",\"offset\":").append(std::to_string(found.offset));
  if (found.newer_rejected) append_rejected(out, *found.newer_rejected);
}

void append_customer(std::string& out, std::string_view id, const BalanceSnapshot& found) {
  out.append("{\"cliente_id\":\"").append(id).append("\"");
  append_found(out, found);
  out.push_back('}');
}

}  // namespace saldo
