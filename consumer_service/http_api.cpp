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

void append_progress(std::string& out, const ReadinessSnapshot& r) {
  out.append("\"state\":\"").append(to_string(r.state)).append("\",\"topic\":");
  append_json_string(out, r.topic);
  out.append(",\"broker_reachable\":").append(r.broker_reachable ? "true" : "false");
  if (!r.broker_reachable) {
    out.append(",\"broker_error\":");
    append_json_string(out, r.broker_error);
  }
  out.append(",\"topic_missing\":").append(r.topic_missing ? "true" : "false");
  out.append(",\"progress\":");
  append_double(out, r.progress());
  out.append(",\"records_replayed\":").append(std::to_string(r.records_replayed()));
  out.append(",\"records_to_replay\":").append(std::to_string(r.records_to_replay()));
}

}  // namespace

ApiReply HttpApi::handle(std::string_view method, std::string_view path) const {
  const auto start = std::chrono::steady_clock::now();
  ApiReply reply = route(method, path);
  metrics_.request_latency(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return reply;
}

ApiReply HttpApi::route(std::string_view method, std::string_view path) const {
  const bool known = path == "/" || path == "/health" || path == "/ready" || path == "/metrics" ||
                     path.starts_with("/saldo/");
  if (!known) return json_error(404, "rota não encontrada");
  if (method != "GET" && method != "HEAD") {
    ApiReply r = json_error(405, "método não permitido");
    r.allow = "GET, HEAD";
    return r;
  }
  if (path.starts_with("/saldo/")) return saldo(path.substr(7));
  if (path == "/health") return health();
  if (path == "/ready") return ready();
  if (path == "/metrics") return metrics();
  return page();
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
  if (!found) return json_error(404, "cliente não encontrado");
  ApiReply r;
  r.body.reserve(128 + id.size() + found->timestamp.size());
  r.body.append("{\"cliente_id\":\"").append(id).append("\",\"saldo\":");
  append_money(r.body, found->saldo);
  r.body.append(",\"timestamp\":");
  append_json_string(r.body, found->timestamp);
  r.body.append(",\"partition\":").append(std::to_string(found->partition));
  r.body.append(",\"offset\":").append(std::to_string(found->offset)).append("}");
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
  r.body = metrics_.render(readiness_.snapshot(), {store_.size(), store_.memory_bytes()});
  if (postgres_) postgres_->render_metrics(r.body);
  return r;
}

ApiReply HttpApi::page() {
  ApiReply r;
  r.content_type = "text/html; charset=utf-8";
  r.body = std::string(page_html());
  return r;
}

}  // namespace saldo
