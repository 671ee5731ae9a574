#pragma once
// The HTTP API as pure functions from (method, path) to a reply, so every status and body is
// tested without sockets; http_server.h puts them on cpp-httplib.
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/position_token.h"
#include "consumer_service/store/balance_store.h"
#include "consumer_service/http/event_stream.h"
#include "consumer_service/http/http_auth.h"
#include "consumer_service/status/metrics.h"
#include "consumer_service/postgres/postgres_sink_status.h"
#include "consumer_service/status/readiness.h"

namespace saldo {

class PeerForwarder;
class ShardMap;
struct ShardRoute;

struct ApiReply {
  int status = 200;
  std::string body;
  std::string_view content_type = "application/json; charset=utf-8";
  int retry_after_s = 0;     // > 0: a Retry-After header
  std::string_view allow;    // not empty: an Allow header (405)
  std::string_view www_authenticate;         // not empty: a WWW-Authenticate header (401)
  std::string_view content_security_policy;  // not empty: a Content-Security-Policy header (the page)
  std::string token_name;    // who was let in, when a token was needed (for the log; never the token)
  std::optional<AuthFailure> auth_failure;   // why a 401 was given (for the log)
  // Spent waiting for ?after=, or for the owner of a forwarded request (left out of the latency
  // histogram: the owner times its own work).
  double waited_s = 0;
  // Not null: a live stream (GET /saldo/<id>/events) whose chunks follow the headers; `body` is empty.
  std::shared_ptr<EventStream> stream;
  std::string location;      // not empty: a Location header (307 to the owner's live stream, sharded mode)
  bool owner_unreachable = false;  // a forwarded request whose owner could not be reached (PeerForwarder)
};

// A request's decoded query parameters (the same type as httplib::Params).
using QueryParams = std::multimap<std::string, std::string>;

struct ApiRequest {
  std::string_view method;
  std::string_view path;                // without the query
  const QueryParams* query = nullptr;   // nullptr: none
  std::string_view body;                // POST only
  std::string_view authorization;       // the Authorization header, "" when absent
  std::string_view forwarded_by = {};   // X-Saldo-Forwarded-By (sharded mode: another instance's url), "" when absent
};

// Batch lookups (GET/POST /saldos) answer at most this many ids.
inline constexpr std::size_t kMaxBatchIds = 1000;
// Read-your-writes: wait_ms when not given, and its cap.
inline constexpr int kDefaultWaitMs = 500;
inline constexpr int kMaxWaitMs = 5000;
inline constexpr int kDefaultMaxWaiting = 64;
// Live streams (GET /saldo/<id>/events): how many may be open at once.
inline constexpr int kDefaultMaxStreams = 32;
// Sharded mode: how long a request waits for a route when its partition is held nowhere yet or its
// holder just moved (a handover, a member's death), before 503.
inline constexpr std::chrono::milliseconds kShardRouteWait{2000};

class HttpApi {
 public:
  // `metrics` gets each request's latency (the HTTP layer counts the statuses).
  // `postgres`: the PostgreSQL sink's status for /ready and /metrics (nullptr: no sink).
  HttpApi(const BalanceStore& store, const Readiness& readiness, Metrics& metrics,
          const PostgresSinkStatus* postgres = nullptr)
      : store_(store), readiness_(readiness), metrics_(metrics), postgres_(postgres) {}

  // With tokens (nullptr: none, the default), routes that need one answer 401 without a valid
  // `Authorization: Bearer` header. Not owned; set before serving.
  void set_auth(const HttpAuth* auth) noexcept { auth_ = auth; }

  // At most this many requests wait for a position at once (more: 503), so waiting requests cannot
  // hold every HTTP thread. Set before serving.
  void set_max_waiting(int n) noexcept { max_waiting_ = n; }
  // At most `max_streams` live streams at once (more: 503), each holding an HTTP thread while open.
  // Set before serving.
  void set_streams(int max_streams, EventStreamTiming timing) noexcept {
    max_streams_ = max_streams;
    stream_timing_ = timing;
  }
  // /ready shows what `problem` returns when it is not empty (the TLS certificate is expired or not
  // yet valid, TlsCredentials::validity_problem). Set before serving.
  void set_certificate_check(std::function<std::string()> problem) { certificate_problem_ = std::move(problem); }
  // Sharded mode (--shard-group; the rule is route_partition in shard/shard_map.h): `map` says where each customer is
  // answered; the others are asked through `forwarder` (one hop). nullptr (the default): not sharded,
  // this instance answers everything from its own table. Not owned; set before serving.
  void set_shards(const ShardMap* map, const PeerForwarder* forwarder) noexcept;
  // How long a sharded request waits for a route (kShardRouteWait by default). Set before serving.
  void set_shard_route_wait(std::chrono::milliseconds wait) noexcept { route_wait_ = wait; }
  // Requests waiting now (for ?after= positions, or for a sharded route).
  int waiting() const noexcept { return waiting_.load(); }
  // Shutdown: every open stream ends now (its thread returns to the pool) and new ones get 503.
  void close_streams() const { readiness_.changes().close(); }

  // Every request goes through here (GET and HEAD are served, and POST /saldos; other methods get
  // 405 JSON).
  ApiReply handle(const ApiRequest& request) const;
  // A request without query or body. `authorization` is its Authorization header, "" when absent.
  ApiReply handle(std::string_view method, std::string_view path, std::string_view authorization = {}) const {
    return handle(ApiRequest{method, path, nullptr, {}, authorization});
  }
  // A reply for an error the HTTP library found before routing (400, 413, 414, ...).
  static ApiReply library_error(int status);

  // GET /saldo/<id>; with `after` ("P:O,...") it first waits up to `wait_ms` for the table to apply them.
  ApiReply saldo(std::string_view id, std::optional<std::string_view> after = std::nullopt,
                 std::optional<std::string_view> wait_ms = std::nullopt) const;
  // GET /saldos?ids=1,2,3 (`ids`: the parameter's value, nullopt when absent) and POST /saldos (a
  // JSON array of ids).
  // GET /saldo/<id>/events: a live stream of that customer's changes.
  ApiReply events(std::string_view id) const;
  // `request`: the whole request (sharded mode passes its Authorization on to the owners).
  ApiReply saldos_query(std::optional<std::string_view> ids, const ApiRequest& request = ApiRequest{}) const;
  ApiReply saldos_body(std::string_view body, const ApiRequest& request = ApiRequest{}) const;
  ApiReply health() const;
  // GET /shard/status: this instance as the others see it (shard_member_json.h); 404 when not sharded.
  ApiReply shard_status() const;
  ApiReply ready() const;
  ApiReply metrics() const;
  static ApiReply page();
  static ApiReply openapi();

 private:
  ApiReply route(const ApiRequest& request) const;
  struct ReadOptions {  // ?after= and wait_ms of GET /saldo/<id>, checked
    std::optional<std::vector<TopicPosition>> positions;
    int wait_ms = kDefaultWaitMs;
    std::int32_t wait_partition = -1;  // >= 0: wait only for the positions on this partition (sharded mode)
  };
  static std::optional<ApiReply> parse_read_options(std::optional<std::string_view> after,
                                                    std::optional<std::string_view> wait_ms, ReadOptions& out);
  // The answer from this instance's table, without the readiness gate (the caller's job).
  ApiReply saldo_here(std::string_view id, const ReadOptions& options) const;
  ApiReply open_stream(std::string_view id, EventStream::ServedWhere served_where = {}) const;
  ApiReply lookup_many(const std::vector<std::string>& ids, const ApiRequest& request) const;
  // Sharded mode (http_api_shard.cpp).
  ApiReply sharded_saldo(std::string_view id, const ApiRequest& request, ReadOptions options) const;
  ApiReply sharded_events(std::string_view id) const;
  ApiReply sharded_lookup_many(const std::vector<std::string>& ids, const ApiRequest& request) const;
  ApiReply answer_elsewhere(const ShardRoute& route, const ApiRequest& request) const;
  ApiReply forward(std::string_view url, const ApiRequest& request) const;
  void append_shard_ready(std::string& body) const;
  ApiReply wait_for(const std::vector<TopicPosition>& after, int wait_ms) const;
  void append_ordered_after(std::string& body, std::string_view id, const BalanceSnapshot& found,
                            const std::vector<TopicPosition>& after) const;
  ApiReply not_ready(const ReadinessSnapshot& r) const;
  static ApiReply unauthorized(AuthFailure why);

  const BalanceStore& store_;
  const Readiness& readiness_;
  Metrics& metrics_;
  const HttpAuth* auth_ = nullptr;
  const PostgresSinkStatus* postgres_;
  int max_waiting_ = kDefaultMaxWaiting;
  mutable std::atomic<int> waiting_{0};
  int max_streams_ = kDefaultMaxStreams;
  EventStreamTiming stream_timing_;
  mutable std::atomic<int> streams_{0};
  std::function<std::string()> certificate_problem_;
  const ShardMap* shards_ = nullptr;
  std::chrono::milliseconds route_wait_ = kShardRouteWait;
  const PeerForwarder* forwarder_ = nullptr;
};

// {"error":message} with `status`.
ApiReply json_error(int status, std::string_view message);

// The page at GET / (consumer_service/http/page.html, embedded at build time).
std::string_view page_html();
// Its Content-Security-Policy: nothing from elsewhere, and only its own inline script and style
// (by their SHA-256), so an id that ever reached the DOM as HTML still could not run.
std::string_view page_content_security_policy();
// The OpenAPI 3 description of every route at GET /openapi.json (consumer_service/http/openapi.json,
// embedded at build time).
std::string_view openapi_json();

}  // namespace saldo
