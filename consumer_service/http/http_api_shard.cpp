// HttpApi in sharded mode (--shard-group; the rule is route_partition in shard/shard_map.h): each customer is answered
// here when this instance holds its partition ready, else by one hop to the instance that does, else
// 503 + Retry-After (never a guess, never a false 404). Pure: the hop goes through PeerForwarder.
#include <chrono>
#include <map>
#include <optional>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "common/customer_id.h"
#include "common/json_escape.h"
#include "consumer_service/http/balance_json.h"
#include "consumer_service/http/batch_reply.h"
#include "consumer_service/http/http_api.h"
#include "consumer_service/http/peer_forwarder.h"
#include "consumer_service/shard/shard_map.h"
#include "consumer_service/shard/shard_member_json.h"

namespace saldo {
namespace {

using Kind = ShardRoute::Kind;
using ForwardResult = Metrics::ForwardResult;

// {...} → {...,"served_by":"<url>"}: who answered from its own table.
void append_served_by(std::string& body, std::string_view url) {
  body.pop_back();
  body.append(",\"served_by\":");
  append_json_string(body, url);
  body.push_back('}');
}

ApiReply unavailable_reply(const ShardRoute& route, std::string_view error, std::string_view message) {
  ApiReply r = json_error(503, error);
  r.body.pop_back();
  r.body.append(",\"partition\":").append(std::to_string(route.partition)).append(",\"message\":");
  append_json_string(r.body, message);
  r.body.push_back('}');
  r.retry_after_s = 1;
  return r;
}

// A reply from the owner that says the picture it was sent by is out of date: it no longer holds the
// partition, or it is gone. The sender routes again on its next picture.
bool stale_route(const ApiReply& r) {
  return r.status == 503 && (r.owner_unreachable || r.body.find("\"error\":\"not_held\"") != std::string::npos);
}

}  // namespace

void HttpApi::set_shards(const ShardMap* map, const PeerForwarder* forwarder) noexcept {
  shards_ = map;
  forwarder_ = forwarder;
  metrics_.set_sharded(map != nullptr);
}

ApiReply HttpApi::sharded_saldo(std::string_view id, const ApiRequest& request, ReadOptions options) const {
  ShardRoute route = shards_->route(id);
  if (route.kind != Kind::kLocal && request.forwarded_by.empty()) {
    // Through a handover or a member's death the route can be missing or out of date for a moment:
    // wait for the coordinator's next pictures (a few a second) and route again, up to
    // route_wait_ (kShardRouteWait), rather than answer 503 at once. At most max_waiting requests wait at once
    // (with those of ?after=), so waiting never holds every HTTP thread.
    const auto deadline = std::chrono::steady_clock::now() + route_wait_;
    std::optional<ApiReply> last;
    bool counted = false;
    const auto began = std::chrono::steady_clock::now();
    while (route.kind != Kind::kLocal) {
      const std::uint64_t seen = shards_->generation();
      if (route.kind == Kind::kForward && forwarder_ != nullptr) {
        ApiReply r = forward(route.url, request);
        if (!stale_route(r)) {
          if (counted) waiting_.fetch_sub(1);
          return r;
        }
        last = std::move(r);
      }
      if (!counted) {
        if (waiting_.fetch_add(1) >= max_waiting_) {
          waiting_.fetch_sub(1);
          break;
        }
        counted = true;
      }
      if (!shards_->wait_update(seen, deadline)) break;
      route = shards_->route(id);
    }
    if (counted) waiting_.fetch_sub(1);
    if (route.kind != Kind::kLocal) {
      ApiReply r = last ? std::move(*last) : answer_elsewhere(route, request);
      r.waited_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
      return r;
    }
  }
  if (route.kind != Kind::kLocal) return answer_elsewhere(route, request);
  // A local route means the partition is held ready: the instance-wide READY gate does not apply. This
  // instance reads only the partitions it holds, so ?after= waits for the customer's own partition; a
  // position on another one (a producer with another partitioner) cannot be waited for here, and the
  // answer then says "ordered_after" (append_ordered_after).
  options.wait_partition = route.partition;
  ApiReply r = saldo_here(id, options);
  if (r.status == 404) {
    // The partition may have been handed over between the route and the lookup (its keys dropped here).
    const ShardRoute again = shards_->route(id);
    if (again.kind != Kind::kLocal) {
      ApiReply elsewhere = answer_elsewhere(again, request);
      elsewhere.waited_s += r.waited_s;
      return elsewhere;
    }
  }
  if (r.status == 200 || r.status == 404) append_served_by(r.body, shards_->self());
  return r;
}

ApiReply HttpApi::answer_elsewhere(const ShardRoute& route, const ApiRequest& request) const {
  if (route.kind == Kind::kForward && request.forwarded_by.empty() && forwarder_ != nullptr) {
    return forward(route.url, request);
  }
  metrics_.shard_forward(ForwardResult::kUnavailable);
  if (route.kind == Kind::kForward && !request.forwarded_by.empty()) {
    // One hop: the instance that sent it here thought this one held the partition; the pictures differ
    // for a moment (a handover). The client asks again.
    return unavailable_reply(route, "not_held", "esta instância não tem a partição pronta (pedido já encaminhado)");
  }
  return unavailable_reply(route, "partition_unavailable", "nenhuma instância tem a partição pronta ainda");
}

ApiReply HttpApi::forward(std::string_view url, const ApiRequest& request) const {
  const auto began = std::chrono::steady_clock::now();
  ApiReply r = forwarder_->forward(url, request);
  r.waited_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  metrics_.shard_forward(r.owner_unreachable ? ForwardResult::kUnreachable : ForwardResult::kOk);
  return r;
}

ApiReply HttpApi::sharded_events(std::string_view id) const {
  if (!is_valid_customer_id(id)) return json_error(400, "cliente_id inválido");
  const ShardRoute route = shards_->route(id);
  switch (route.kind) {
    case Kind::kLocal:
      // Once the partition is handed over, the stream says where the customer is served and ends;
      // the client's reconnect gets the redirect below.
      return open_stream(id, [this, customer = std::string(id)] {
        using Where = EventStream::Where;
        ShardRoute now = shards_->route(customer);
        switch (now.kind) {
          case Kind::kLocal: return Where{};
          case Kind::kForward: return Where{Where::Kind::kElsewhere, std::move(now.url)};
          case Kind::kUnavailable: break;
        }
        return Where{Where::Kind::kNowhere, {}};
      });
    case Kind::kForward: {
      // A stream is not proxied (it would hold a thread here and one there for its whole life): the
      // client follows the redirect to the owner, with its own token.
      ApiReply r;
      r.status = 307;
      r.location.append(route.url).append("/saldo/").append(id).append("/events");
      r.body.append("{\"owner\":");
      append_json_string(r.body, route.url);
      r.body.append(",\"location\":");
      append_json_string(r.body, r.location);
      r.body.push_back('}');
      return r;
    }
    case Kind::kUnavailable: break;
  }
  return unavailable_reply(route, "partition_unavailable", "nenhuma instância tem a partição pronta ainda");
}

// The batch is split by route: the local ids are answered from this table, each owner gets one POST
// /saldos with its ids, and the answers are merged back in the caller's order. An id nobody holds
// ready, or whose owner failed, gets an entry in "unavailable" (never a value or a not_found).
ApiReply HttpApi::sharded_lookup_many(const std::vector<std::string>& ids, const ApiRequest& request) const {
  struct Slot {
    std::string_view id;
    std::int32_t partition = -1;
    BatchCategory category = BatchCategory::kFound;
    std::string json;
  };
  std::vector<Slot> slots;
  slots.reserve(ids.size());
  std::map<std::string, std::vector<std::size_t>, std::less<>> by_owner;
  std::unordered_set<std::string_view> seen;
  seen.reserve(ids.size());
  const std::string& self = shards_->self();
  const auto unavailable = [](Slot& slot, std::string_view error, std::string_view owner) {
    slot.category = BatchCategory::kUnavailable;
    slot.json.assign("{\"cliente_id\":\"").append(slot.id).append("\",\"partition\":");
    slot.json.append(std::to_string(slot.partition)).append(",\"error\":\"").append(error).append("\"");
    if (!owner.empty()) {
      slot.json.append(",\"owner\":");
      append_json_string(slot.json, owner);
    }
    slot.json.push_back('}');
  };
  for (const std::string& id : ids) {
    if (!seen.insert(id).second) continue;  // a duplicate is answered once
    const std::size_t i = slots.size();
    Slot& slot = slots.emplace_back();
    slot.id = id;
    if (!is_valid_customer_id(id)) {
      slot.category = BatchCategory::kInvalid;
      slot.json.append("{\"cliente_id\":");
      append_json_string(slot.json, id);
      slot.json.append(",\"error\":\"cliente_id inválido\"}");
      continue;
    }
    ShardRoute route = shards_->route(id);
    slot.partition = route.partition;
    if (route.kind == Kind::kLocal) {
      if (const auto found = store_.get(id)) {
        append_customer(slot.json, id, *found);
        append_served_by(slot.json, self);
        continue;
      }
      route = shards_->route(id);  // handed over between the route and the lookup?
      if (route.kind == Kind::kLocal) {
        slot.category = BatchCategory::kNotFound;
        slot.json.append("{\"cliente_id\":\"").append(id).append("\"");
        if (const auto rejected = store_.rejected(id)) append_rejected(slot.json, *rejected);
        slot.json.push_back('}');
        append_served_by(slot.json, self);
        continue;
      }
    }
    if (route.kind == Kind::kForward && request.forwarded_by.empty() && forwarder_ != nullptr) {
      by_owner[route.url].push_back(i);
      continue;
    }
    metrics_.shard_forward(ForwardResult::kUnavailable);
    unavailable(slot, route.kind == Kind::kForward && !request.forwarded_by.empty() ? "not_held" : "partition_unavailable",
                {});
  }

  double waited_s = 0;
  for (const auto& [url, members] : by_owner) {
    std::string body = "[";
    for (const std::size_t i : members) {
      if (body.size() > 1) body.push_back(',');
      append_json_string(body, slots[i].id);
    }
    body.push_back(']');
    const ApiReply reply = forward(url, ApiRequest{"POST", "/saldos", nullptr, body, request.authorization});
    waited_s += reply.waited_s;
    auto entries = reply.status == 200 ? parse_batch_reply(reply.body) : std::nullopt;
    for (const std::size_t i : members) {
      Slot& slot = slots[i];
      if (entries) {
        if (const auto it = entries->find(std::string(slot.id)); it != entries->end()) {
          slot.category = it->second.category;
          slot.json = std::move(it->second.json);
          continue;
        }
      }
      unavailable(slot, reply.owner_unreachable ? "owner_unreachable" : "owner_failed", url);
    }
  }

  std::string arrays[4];
  for (const Slot& slot : slots) {
    std::string& out = arrays[static_cast<std::size_t>(slot.category)];
    if (!out.empty()) out.push_back(',');
    out.append(slot.json);
  }
  ApiReply r;
  r.waited_s = waited_s;
  r.body.reserve(arrays[0].size() + arrays[1].size() + arrays[2].size() + arrays[3].size() + 64);
  r.body.append("{\"found\":[").append(arrays[0]).append("],\"not_found\":[").append(arrays[1]);
  r.body.append("],\"invalid\":[").append(arrays[2]).append("],\"unavailable\":[").append(arrays[3]).append("]}");
  return r;
}

ApiReply HttpApi::shard_status() const {
  if (shards_ == nullptr) return json_error(404, "modo fragmentado desligado (--shard-group)");
  ApiReply r;
  r.body = shard_status_json(*shards_->picture());
  return r;
}

// /ready's "shard": this instance's assignment and, per partition, its owner, what this instance holds
// of it and every member that holds it ready (the lags are in "partitions", for those read here).
void HttpApi::append_shard_ready(std::string& body) const {
  const auto picture = shards_->picture();
  const ShardMember* self = picture->member(picture->self);
  nlohmann::json shard = nlohmann::json::object();
  shard["self"] = picture->self;
  shard["partitions"] = picture->partitions;
  shard["assigned"] = self != nullptr ? self->assigned : std::vector<std::int32_t>{};
  shard["draining"] = self != nullptr && self->draining;
  shard["members"] = picture->members.size();
  nlohmann::json routes = nlohmann::json::array();
  for (std::int32_t p = 0; p < picture->partitions; ++p) {
    nlohmann::json entry = nlohmann::json::object();
    entry["partition"] = p;
    const ShardMember* owner = picture->owner(p);
    entry["owner"] = owner != nullptr ? nlohmann::json(owner->url) : nlohmann::json(nullptr);
    entry["here"] = to_string(self != nullptr ? self->hold(p) : PartitionHold::kNone);
    nlohmann::json ready_at = nlohmann::json::array();
    for (const ShardMember& m : picture->members) {
      if (m.hold(p) == PartitionHold::kReady) ready_at.push_back(m.url);
    }
    entry["ready_at"] = std::move(ready_at);
    routes.push_back(std::move(entry));
  }
  shard["routes"] = std::move(routes);
  body.append(",\"shard\":").append(shard.dump());
}

}  // namespace saldo
