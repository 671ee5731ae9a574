#pragma once
// One open live stream (GET /saldo/<id>/events): the chunks to send, one at a time. Between events
// it sleeps on the table's ChangeFeed (no polling of the store), waking for a change, for the
// heartbeat, and once a second to see whether the client is still there. While the table is being
// rebuilt again (topic recreated) it sends nothing but heartbeats, so a client never sees a customer
// vanish and come back.
#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "consumer_service/store/balance_store.h"
#include "consumer_service/status/readiness.h"
#include "consumer_service/http/sse_events.h"

namespace saldo {

struct EventStreamTiming {
  std::chrono::milliseconds heartbeat{15000};  // an idle stream gets a comment line this often
  std::chrono::milliseconds liveness{1000};    // how often an idle stream checks its client
  std::chrono::milliseconds retry{2000};       // the browser's reconnect delay, sent first
};

class EventStream {
 public:
  // Sharded mode: nullopt while this instance serves the customer's partition; once it does not, the
  // URL of the instance that does ("" when none holds it ready yet).
  using ServedElsewhere = std::function<std::optional<std::string>()>;

  // `on_end` runs when the stream is destroyed (it frees the stream's place under the cap).
  EventStream(const BalanceStore& store, const Readiness& readiness, std::string id, EventStreamTiming timing,
              std::function<void()> on_end = {}, ServedElsewhere served_elsewhere = {});
  ~EventStream();
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  // The next chunk into `out`: first the customer as it is now; then an event when the customer
  // changed, or a heartbeat when none was sent for `heartbeat`. False: the stream ends (the feed
  // closed at shutdown, or `client_alive` said the client left, or the "moved" event was sent: the
  // partition was handed to another instance, checked at every wake, before the table is looked at,
  // so the customer's rows leaving with the partition never read as a delete).
  bool next(std::string& out, const std::function<bool()>& client_alive);

 private:
  CustomerView look() const;

  const BalanceStore& store_;
  const Readiness& readiness_;
  const ChangeFeed& changes_;
  std::string id_;
  EventStreamTiming timing_;
  std::function<void()> on_end_;
  ServedElsewhere served_elsewhere_;
  bool moved_ = false;                // the "moved" event was sent: the stream is over
  std::optional<CustomerView> sent_;  // what the client was last told; nullopt: nothing yet
  std::uint64_t seen_ = 0;            // the feed's version when sent_ was read
  bool changed_ = false;              // the feed moved since sent_ was read (not looked at while rebuilding)
  std::chrono::steady_clock::time_point last_write_{};
};

}  // namespace saldo
