#include "consumer_service/http/event_stream.h"

#include <algorithm>
#include <utility>

namespace saldo {

EventStream::EventStream(const BalanceStore& store, const Readiness& readiness, std::string id,
                         EventStreamTiming timing, std::function<void()> on_end, ServedWhere served_where)
    : store_(store),
      readiness_(readiness),
      changes_(readiness.changes()),
      id_(std::move(id)),
      timing_(timing),
      on_end_(std::move(on_end)),
      served_where_(std::move(served_where)) {}

EventStream::~EventStream() {
  if (on_end_) on_end_();
}

CustomerView EventStream::look() const {
  CustomerView v;
  v.balance = store_.get(id_);
  if (!v.balance) v.deleted_at = store_.deleted_at(id_);
  return v;
}

bool EventStream::next(std::string& out, const std::function<bool()>& client_alive) {
  using Clock = std::chrono::steady_clock;
  if (changes_.closed() || moved_) return false;
  if (!sent_) {
    // The version before the look: a record applied between the two wakes the next wait at once.
    seen_ = changes_.version();
    sent_ = look();
    out = sse_first_event(id_, *sent_, timing_.retry);
    last_write_ = Clock::now();
    return true;
  }
  while (true) {
    const Clock::time_point heartbeat_due = last_write_ + timing_.heartbeat;
    const std::uint64_t version = changes_.wait(seen_, std::min(heartbeat_due, Clock::now() + timing_.liveness));
    if (changes_.closed()) return false;
    // Sharded mode: the route changes before the table drops a handed-over partition, so this sees
    // the move first and the customer's rows leaving are never reported as a delete.
    const Where where = served_where_ ? served_where_() : Where{};
    if (where.kind == Where::Kind::kElsewhere) {
      moved_ = true;
      out = sse_moved_event(id_, where.url);
      return true;
    }
    // While the table is rebuilt again, changes are only noted (and the version taken, so the next
    // wait sleeps): the customer is looked up once the table is READY again.
    if (version != seen_) {
      seen_ = version;
      changed_ = true;
    }
    if (changed_ && readiness_.ready() && where.kind == Where::Kind::kHere) {
      changed_ = false;
      CustomerView now = look();
      std::string event = sse_change_event(id_, *sent_, now);
      sent_ = std::move(now);
      if (!event.empty()) {
        out = std::move(event);
        last_write_ = Clock::now();
        return true;
      }
    }
    if (Clock::now() >= heartbeat_due) {
      out = std::string(kSseHeartbeat);
      last_write_ = Clock::now();
      return true;
    }
    if (!client_alive()) return false;
  }
}

}  // namespace saldo
