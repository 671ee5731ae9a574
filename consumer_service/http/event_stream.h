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
  // Sharded mode: where the customer's partition is served ready now.
  struct Where {
    enum class Kind : std::uint8_t { kHere, kElsewhere, kNowhere } kind = Kind::kHere;
    std::string url;  // kElsewhere: the instance that serves it
  };
  using ServedWhere = std::function<Where()>;

  // `on_end` runs when the stream is destroyed (it frees the stream's place under the cap).
  EventStream(const BalanceStore& store, const Readiness& readiness, std::string id, EventStreamTiming timing,
              std::function<void()> on_end = {}, ServedWhere served_where = {});
  ~EventStream();
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  // The next chunk into `out`: first the customer as it is now; then an event when the customer
  // changed, or a heartbeat when none was sent for `heartbeat`. False: the stream ends (the feed
  // closed at shutdown, or `client_alive` said the client left, or the "moved" event was sent).
  // Sharded mode, checked at every wake before the table is looked at: once another instance serves
  // the partition, the "moved" event names it and the stream ends, so the customer's rows leaving with
  // the partition never read as a delete; while no one serves it ready, changes are only noted.
  bool next(std::string& out, const std::function<bool()>& client_alive);

 private:
  CustomerView look() const;

  const BalanceStore& store_;
  const Readiness& readiness_;
  const ChangeFeed& changes_;
  std::string id_;
  EventStreamTiming timing_;
  std::function<void()> on_end_;
  ServedWhere served_where_;
  bool moved_ = false;                // the "moved" event was sent: the stream is over
  std::optional<CustomerView> sent_;  // what the client was last told; nullopt: nothing yet
  std::uint64_t seen_ = 0;            // the feed's version when sent_ was read
  bool changed_ = false;  // the feed moved since sent_ was read (not looked at while rebuilding or unserved)
  std::chrono::steady_clock::time_point last_write_{};
};

}  // namespace saldo
