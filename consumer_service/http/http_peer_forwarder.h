#pragma once
// Sharded mode's hop on cpp-httplib: PeerForwarder over keep-alive connections to the other
// instances, and the GET /shard/status the shard coordinator asks each member.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "consumer_service/http/peer_forwarder.h"
#include "consumer_service/shard/shard_map.h"

namespace httplib {
class Client;
}

namespace saldo {

struct PeerForwarderOptions {
  std::chrono::milliseconds connect_timeout{1000};
  // Added to the request's own wait (wait_ms of ?after=) for the owner's answer to arrive.
  std::chrono::milliseconds answer_timeout{2000};
  std::size_t idle_per_peer = 8;  // keep-alive connections kept open per peer between requests
  std::string ca_file;            // https peers: the CA their certificates are checked against ("" system's)
};

class HttpPeerForwarder final : public PeerForwarder {
 public:
  // `self_url`: this instance's advertised URL, sent as X-Saldo-Forwarded-By.
  explicit HttpPeerForwarder(std::string self_url, PeerForwarderOptions options = {});
  ~HttpPeerForwarder() override;
  HttpPeerForwarder(const HttpPeerForwarder&) = delete;
  HttpPeerForwarder& operator=(const HttpPeerForwarder&) = delete;

  ApiReply forward(std::string_view url, const ApiRequest& request) const override;

 private:
  std::unique_ptr<httplib::Client> take(const std::string& url) const;  // an idle one, or nullptr
  std::unique_ptr<httplib::Client> connect(const std::string& url) const;
  void give_back(const std::string& url, std::unique_ptr<httplib::Client> client) const;

  const std::string self_url_;
  const PeerForwarderOptions options_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, std::vector<std::unique_ptr<httplib::Client>>, std::less<>> idle_;
};

// GET <url>/shard/status within `timeout` (connect and answer each), parsed (shard_member_json.h);
// nullopt when the member cannot be reached, answers another status or something malformed.
std::optional<ShardMember> fetch_shard_status(const std::string& url, std::chrono::milliseconds timeout);

}  // namespace saldo
