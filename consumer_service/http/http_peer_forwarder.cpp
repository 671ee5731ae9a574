#include "consumer_service/http/http_peer_forwarder.h"

#include <charconv>

#include <httplib.h>

#include "common/json_escape.h"
#include "consumer_service/shard/shard_member_json.h"

namespace saldo {
namespace {

constexpr std::string_view kJson = "application/json; charset=utf-8";

// ApiReply holds a content type by view: the owner's is one of the API's own, mapped back to it.
std::string_view known_content_type(const std::string& type) {
  if (type.starts_with("application/json")) return kJson;
  if (type.starts_with("text/plain")) return "text/plain; charset=utf-8";
  if (type.starts_with("text/html")) return "text/html; charset=utf-8";
  return "application/octet-stream";
}

int retry_after_of(const httplib::Response& res) {
  const std::string v = res.get_header_value("Retry-After");
  int n = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  return ec == std::errc() && end == v.data() + v.size() && n > 0 ? n : 0;
}

// How long the owner may take: the request's own wait (?after= with wait_ms, 500 ms by default) plus
// the margin.
std::chrono::milliseconds answer_timeout(const ApiRequest& request, std::chrono::milliseconds margin) {
  if (request.query == nullptr || request.query->find("after") == request.query->end()) return margin;
  int wait_ms = kDefaultWaitMs;
  if (const auto it = request.query->find("wait_ms"); it != request.query->end()) {
    int v = 0;
    const auto [end, ec] = std::from_chars(it->second.data(), it->second.data() + it->second.size(), v);
    if (ec == std::errc() && end == it->second.data() + it->second.size() && v >= 0) wait_ms = std::min(v, kMaxWaitMs);
  }
  return margin + std::chrono::milliseconds(wait_ms);
}

void set_timeouts(httplib::Client& client, std::chrono::milliseconds connect, std::chrono::milliseconds answer) {
  const auto split = [](std::chrono::milliseconds t) {
    return std::pair{static_cast<time_t>(t.count() / 1000), static_cast<time_t>((t.count() % 1000) * 1000)};
  };
  const auto [cs, cu] = split(connect);
  const auto [as, au] = split(answer);
  client.set_connection_timeout(cs, cu);
  client.set_read_timeout(as, au);
  client.set_write_timeout(as, au);
}

ApiReply unreachable(std::string_view url) {
  ApiReply r;
  r.status = 503;
  r.retry_after_s = 1;
  r.owner_unreachable = true;
  r.body.append("{\"error\":\"owner_unreachable\",\"owner\":");
  append_json_string(r.body, url);
  r.body.push_back('}');
  return r;
}

}  // namespace

HttpPeerForwarder::HttpPeerForwarder(std::string self_url, PeerForwarderOptions options)
    : self_url_(std::move(self_url)), options_(std::move(options)) {}

HttpPeerForwarder::~HttpPeerForwarder() = default;

std::unique_ptr<httplib::Client> HttpPeerForwarder::take(const std::string& url) const {
  std::lock_guard lock(mutex_);
  if (const auto it = idle_.find(url); it != idle_.end() && !it->second.empty()) {
    auto client = std::move(it->second.back());
    it->second.pop_back();
    return client;
  }
  return nullptr;
}

std::unique_ptr<httplib::Client> HttpPeerForwarder::connect(const std::string& url) const {
  auto client = std::make_unique<httplib::Client>(url);
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);
  if (!options_.ca_file.empty()) client->set_ca_cert_path(options_.ca_file.c_str());
  return client;
}

void HttpPeerForwarder::give_back(const std::string& url, std::unique_ptr<httplib::Client> client) const {
  std::lock_guard lock(mutex_);
  auto& idle = idle_[url];
  if (idle.size() < options_.idle_per_peer) idle.push_back(std::move(client));
}

ApiReply HttpPeerForwarder::forward(std::string_view url_view, const ApiRequest& request) const {
  const std::string url(url_view);
  httplib::Headers headers{{std::string(kForwardedByHeader), self_url_}};
  if (!request.authorization.empty()) headers.emplace("Authorization", std::string(request.authorization));
  const std::string path =
      request.query != nullptr && !request.query->empty()
          ? httplib::append_query_params(std::string(request.path), httplib::Params(request.query->begin(), request.query->end()))
          : std::string(request.path);
  const auto answer = answer_timeout(request, options_.answer_timeout);
  const auto send = [&](httplib::Client& client) {
    set_timeouts(client, options_.connect_timeout, answer);
    return request.method == "POST" ? client.Post(path.c_str(), headers, std::string(request.body), std::string(kJson).c_str())
           : request.method == "HEAD" ? client.Head(path.c_str(), headers)
                                      : client.Get(path.c_str(), headers);
  };
  auto client = take(url);
  std::optional<httplib::Result> res;
  if (client) {
    res = send(*client);
    // A kept-alive connection the peer closed while idle (its keep-alive timeout): once more on a new
    // one. Every request forwarded is a read, so sending it twice is harmless.
    if (!*res) client.reset();
  }
  if (!client) {
    client = connect(url);
    if (!client->is_valid()) return unreachable(url);
    res = send(*client);
  }
  if (!*res) return unreachable(url);  // the client is dropped: its connection is in an unknown state
  ApiReply reply;
  reply.status = (*res)->status;
  reply.body = std::move((*res)->body);
  reply.content_type = known_content_type((*res)->get_header_value("Content-Type"));
  reply.retry_after_s = retry_after_of(**res);
  give_back(url, std::move(client));
  return reply;
}

std::optional<ShardMember> fetch_shard_status(const std::string& url, std::chrono::milliseconds timeout) {
  httplib::Client client(url);
  if (!client.is_valid()) return std::nullopt;
  set_timeouts(client, timeout, timeout);
  const httplib::Result res = client.Get("/shard/status");
  if (!res || res->status != 200) return std::nullopt;
  return parse_shard_status(res->body);
}

}  // namespace saldo
