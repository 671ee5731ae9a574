#pragma once
// The HTTP API as pure functions from (method, path) to a reply, so every status and body is
// tested without sockets; http_server.h puts them on cpp-httplib.
#include <optional>
#include <string>
#include <string_view>

#include "consumer_service/balance_store.h"
#include "consumer_service/http_auth.h"
#include "consumer_service/metrics.h"
#include "consumer_service/postgres_sink_status.h"
#include "consumer_service/readiness.h"

namespace saldo {

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
};

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

  // Every request goes through here (GET and HEAD are served; other methods get 405 JSON).
  // `authorization` is the request's Authorization header, "" when it has none.
  ApiReply handle(std::string_view method, std::string_view path, std::string_view authorization = {}) const;
  // A reply for an error the HTTP library found before routing (400, 413, 414, ...).
  static ApiReply library_error(int status);

  ApiReply saldo(std::string_view id) const;
  ApiReply health() const;
  ApiReply ready() const;
  ApiReply metrics() const;
  static ApiReply page();

 private:
  ApiReply route(std::string_view method, std::string_view path) const;
  ApiReply not_ready(const ReadinessSnapshot& r) const;
  static ApiReply unauthorized(AuthFailure why);

  const BalanceStore& store_;
  const Readiness& readiness_;
  Metrics& metrics_;
  const HttpAuth* auth_ = nullptr;
  const PostgresSinkStatus* postgres_;
};

// The page at GET / (consumer_service/page.html, embedded at build time).
std::string_view page_html();
// Its Content-Security-Policy: nothing from elsewhere, and only its own inline script and style
// (by their SHA-256), so an id that ever reached the DOM as HTML still could not run.
std::string_view page_content_security_policy();

}  // namespace saldo
