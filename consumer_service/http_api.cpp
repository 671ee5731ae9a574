#include "consumer_service/http_api.h"

#include <chrono>
#include <cstdio>

#include "common/customer_id.h"
#include "common/json_escape.h"
#include "common/money.h"

namespace saldo {
namespace {

ApiReply json_error(int status, std::string_view message) {
  ApiReply r;
  r.status = status;
  r.body.reserve(message.size() + 16);
  r.body.append("{\"error\":");
  append_json_string(r.body, message);
  r.body.append("}");
  return r;
}

void append_double(std::string& out, double v) {
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%.4f", v);
  out.append(buf, static_cast<std::size_t>(n));
}

// "warning": the customer's newest record was rejected, so the answer is its last good value (or none).
void append_rejected(std::string& out, const RejectedRecord& w) {
  out.append(",\"warning\":{\"reason\":\"").append(w.reason).append("\",\"partition\":");
  out.append(std::to_string(w.partition)).append(",\"offset\":").append(std::to_string(w.offset));
  out.append(",\"message\":\"um registro mais novo deste cliente foi rejeitado\"}");
}

void append_progress(std::string& out, const ReadinessSnapshot& r) {
  out.append("\"state\":\"").append(to_string(r.state)).append("\",\"topic\":");
  append_json_string(out, r.topic);
  out.append(",\"broker_reachable\":").append(r.broker_reachable ? "true" : "false");
  if (!r.broker_reachable) {
    out.append(",\"broker_error\":");
    append_json_string(out, r.broker_error);
  }
  if (!r.access_error.empty()) {
    out.append(",\"access_error\":");
    append_json_string(out, r.access_error);
  }
  out.append(",\"topic_missing\":").append(r.topic_missing ? "true" : "false");
  if (!r.topic_config_warning.empty()) {
    out.append(",\"topic_warning\":");
    append_json_string(out, r.topic_config_warning);
  }
  out.append(",\"start\":\"").append(r.start).append("\"");
  if (r.snapshot_age_s >= 0) {
    out.append(",\"snapshot_age_s\":");
    append_double(out, r.snapshot_age_s);
  }
  if (!r.start_note.empty()) {
    out.append(",\"start_note\":");
    append_json_string(out, r.start_note);
  }
  if (!r.rebuild_reason.empty()) {
    out.append(",\"rebuild_reason\":");
    append_json_string(out, r.rebuild_reason);
  }
  out.append(",\"progress\":");
  append_double(out, r.progress());
  out.append(",\"records_replayed\":").append(std::to_string(r.records_replayed()));
  out.append(",\"records_to_replay\":").append(std::to_string(r.records_to_replay()));
}

}  // namespace

ApiReply HttpApi::handle(std::string_view method, std::string_view path, std::string_view authorization) const {
  const auto start = std::chrono::steady_clock::now();
  std::string token_name;
  if (auth_ != nullptr && route_needs_token(route_of(path), auth_->metrics_public())) {
    AuthOutcome outcome = auth_->check(authorization);
    if (!outcome.name) {
      metrics_.auth_failure(outcome.failure);
      return unauthorized(outcome.failure);
    }
    token_name = std::move(*outcome.name);
  }
  ApiReply reply = route(method, path);
  reply.token_name = std::move(token_name);
  metrics_.request_latency(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return reply;
}

ApiReply HttpApi::route(std::string_view method, std::string_view path) const {
  const Route route = route_of(path);
  if (route == Route::kOther) return json_error(404, "rota não encontrada");
  if (method != "GET" && method != "HEAD") {
    ApiReply r = json_error(405, "método não permitido");
    r.allow = "GET, HEAD";
    return r;
  }
  switch (route) {
    case Route::kSaldo: return saldo(path.substr(std::string_view("/saldo/").size()));
    case Route::kHealth: return health();
    case Route::kReady: return ready();
    case Route::kMetrics: return metrics();
    case Route::kPage: return page();
    case Route::kOther:
    case Route::kCount: break;
  }
  return json_error(404, "rota não encontrada");
}

ApiReply HttpApi::unauthorized(AuthFailure why) {
  ApiReply r = json_error(401, why == AuthFailure::kWrong ? "token inválido" : "token necessário");
  // RFC 6750: a request without credentials gets no error code; a bad token gets invalid_token.
  r.www_authenticate = why == AuthFailure::kMissing ? "Bearer realm=\"saldo\""
                                                    : "Bearer realm=\"saldo\", error=\"invalid_token\"";
  r.auth_failure = why;
  return r;
}

ApiReply HttpApi::library_error(int status) {
  switch (status) {
    case 400: return json_error(400, "requisição inválida");
    case 404: return json_error(404, "rota não encontrada");
    case 405: return json_error(405, "método não permitido");
    case 413: return json_error(413, "corpo da requisição grande demais");
    case 414: return json_error(414, "URI grande demais");
    default: return json_error(status, "erro");
  }
}

ApiReply HttpApi::saldo(std::string_view id) const {
  if (!is_valid_customer_id(id)) return json_error(400, "cliente_id inválido");
  // Before READY a missing key may only be not replayed yet: 503, never a false 404.
  if (!readiness_.ready()) return not_ready(readiness_.snapshot());
  const auto found = store_.get(id);
  if (!found) {
    ApiReply r = json_error(404, "cliente não encontrado");
    if (const auto rejected = store_.rejected(id)) {
      r.body.pop_back();
      append_rejected(r.body, *rejected);
      r.body.push_back('}');
    }
    return r;
  }
  ApiReply r;
  r.body.reserve(128 + id.size() + found->timestamp.size());
  r.body.append("{\"cliente_id\":\"").append(id).append("\",\"saldo\":");
  append_money(r.body, found->saldo);
  r.body.append(",\"timestamp\":");
  append_json_string(r.body, found->timestamp);
  r.body.append(",\"partition\":").append(std::to_string(found->partition));
  r.body.append(",\"offset\":").append(std::to_string(found->offset));
  if (found->newer_rejected) append_rejected(r.body, *found->newer_rejected);
  r.body.append("}");
  return r;
}

ApiReply HttpApi::not_ready(const ReadinessSnapshot& snap) const {
  ApiReply r;
  r.status = 503;
  r.retry_after_s = 1;
  r.body.append("{\"error\":\"serviço reconstruindo o estado\",");
  append_progress(r.body, snap);
  r.body.append("}");
  return r;
}

ApiReply HttpApi::health() const {
  ApiReply r;
  r.body = "{\"status\":\"ok\"}";
  return r;
}

ApiReply HttpApi::ready() const {
  const ReadinessSnapshot snap = readiness_.snapshot();
  ApiReply r;
  r.status = snap.state == ServiceState::kReady ? 200 : 503;
  r.body.append("{");
  append_progress(r.body, snap);
  r.body.append(",\"customers\":").append(std::to_string(store_.size()));
  r.body.append(",\"misrouted_records\":").append(std::to_string(metrics_.misrouted_count()));
  if (postgres_) postgres_->append_ready_json(r.body);  // informative: never makes the service unready
  r.body.append(",\"partitions\":[");
  bool first = true;
  for (const auto& p : snap.partitions) {
    if (!first) r.body.push_back(',');
    first = false;
    r.body.append("{\"partition\":").append(std::to_string(p.partition));
    r.body.append(",\"offset\":").append(std::to_string(p.position));
    r.body.append(",\"target\":").append(std::to_string(p.target));
    r.body.append(",\"high_watermark\":").append(std::to_string(p.high_watermark));
    r.body.append(",\"lag\":").append(std::to_string(p.lag()));
    r.body.append(",\"progress\":");
    append_double(r.body, p.progress());
    r.body.append(",\"caught_up\":").append(p.caught_up ? "true" : "false").append("}");
  }
  r.body.append("]}");
  return r;
}

ApiReply HttpApi::metrics() const {
  ApiReply r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = metrics_.render(readiness_.snapshot(), {store_.size(), store_.tombstones(), store_.memory_bytes()});
  if (postgres_) postgres_->render_metrics(r.body);
  return r;
}

ApiReply HttpApi::page() {
  ApiReply r;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::string(page_html());
  r.content_security_policy = page_content_security_policy();
  return r;
}

}  // namespace saldo
