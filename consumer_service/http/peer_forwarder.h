#pragma once
// Sharded mode: how the API asks the instance that holds a customer's partition (one hop). The API
// decides whom to ask and what to do with the answer (http_api.cpp); an implementation only carries
// the request (http_peer_forwarder.h, on cpp-httplib; a fake in the unit tests). Pure interface.
#include <string_view>

#include "consumer_service/http/http_api.h"

namespace saldo {

// The header a forwarded request carries, naming the instance that forwarded it: its receiver
// answers locally or says 503 "not_held", never forwards again.
inline constexpr std::string_view kForwardedByHeader = "X-Saldo-Forwarded-By";

class PeerForwarder {
 public:
  virtual ~PeerForwarder() = default;
  // Sends `request` (method, path, query, body, Authorization) to the instance at `url` with
  // X-Saldo-Forwarded-By: <this instance's url>, and returns its answer: status, body, content type,
  // Retry-After. When it cannot be reached (or does not answer in time): 503, Retry-After: 1,
  // {"error":"owner_unreachable","owner":url} with `owner_unreachable` set. Thread-safe.
  virtual ApiReply forward(std::string_view url, const ApiRequest& request) const = 0;
};

}  // namespace saldo
