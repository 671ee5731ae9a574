#pragma once
// The text of the live stream GET /saldo/<id>/events (Server-Sent Events), and which change of a
// customer makes an event. Pure: event_stream.h does the waiting.
//
//   event: saldo       id: P:O   data: the body of GET /saldo/<id> (200)
//   event: not_found             data: {"cliente_id":...,"error":"cliente não encontrado"} (first event only)
//   event: deleted     id: P:O   data: {"cliente_id":...,"partition":P,"offset":O} (P:O: the delete's record)
//   event: moved                 data: {"cliente_id":...,"owner":"<url>"} (sharded mode: another instance
//                                serves the customer's partition now; the stream ends after it, and the
//                                client's reconnect is redirected there)
//   ": heartbeat"                a comment line, so proxies keep an idle stream open
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/position_token.h"
#include "consumer_service/store/balance_store.h"

namespace saldo {

// What the table says about one customer at one moment.
struct CustomerView {
  std::optional<BalanceSnapshot> balance;   // nullopt: not found
  std::optional<TopicPosition> deleted_at;  // the remembered delete, when not found because of one
  bool operator==(const CustomerView&) const = default;
};

inline constexpr std::string_view kSseHeartbeat = ": heartbeat\n\n";

// The stream's first chunk: how long a browser waits before it reconnects (`retry`), then the
// customer as it is now (saldo or not_found).
std::string sse_first_event(std::string_view id, const CustomerView& now, std::chrono::milliseconds retry);
// The event for a customer that went from `before` to `now`; "" when a client would see no change
// (the same record, or still not found).
std::string sse_change_event(std::string_view id, const CustomerView& before, const CustomerView& now);
// The last event of a stream whose customer another instance serves now (sharded mode): `owner`.
std::string sse_moved_event(std::string_view id, std::string_view owner);

}  // namespace saldo
