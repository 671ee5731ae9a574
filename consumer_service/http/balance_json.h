#pragma once
// One customer's answer as JSON text, in one place: GET /saldo/<id>, the batch lookups and the live
// stream's events write the same fields.
#include <string>
#include <string_view>

#include "consumer_service/store/balance_store.h"

namespace saldo {

// ,"warning":{...}: the customer's newest record was rejected, so the answer is its last good value
// (or none).
void append_rejected(std::string& out, const RejectedRecord& w);
// A found customer's fields after its id: ,"saldo":...,"timestamp":...,"partition":...,"offset":...
// and any warning.
void append_found(std::string& out, const BalanceSnapshot& found);
// {"cliente_id":"<id>",...append_found}. `id` must be a valid customer id (no escaping needed).
void append_customer(std::string& out, std::string_view id, const BalanceSnapshot& found);

}  // namespace saldo
