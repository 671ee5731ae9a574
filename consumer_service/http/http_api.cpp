#include "consumer_service/http/http_api.h"

#include <algorithm>
#include <chrono>
#include <charconv>
#include <cstdio>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "common/customer_id.h"
#include "common/json_escape.h"
#include "common/money.h"
#include "common/position_token.h"
#include "consumer_service/http/balance_json.h"
#include "consumer_service/http/batch_body.h"
#include "consumer_service/shard/shard_map.h"

namespace saldo {

ApiReply json_error(int status, std::string_view message) {
  ApiReply r;
  r.status = status;
  r.body.reserve(message.size() + 16);
  r.body.append("{\"error\":");
  append_json_string(r.body, message);
  r.body.append("}");
  return r;
}

namespace {

void append_double(std::string& out, double v) {
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%.4f", v);
  out.append(buf, static_cast<std::size_t>(n));
}

std::optional<std::string_view> first_param(const QueryParams* query, const std::string& name) {
  if (query == nullptr) return std::nullopt;
  const auto it = query->find(name);
  if (it == query->end()) return std::nullopt;
  return it->second;
}

ApiReply too_many_ids() {
  return json_error(413, "no máximo " + std::to_string(kMaxBatchIds) + " ids por requisição");
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
  if (!r.snapshot_error.empty()) {
    out.append(",\"snapshot_error\":");
    append_json_string(out, r.snapshot_error);
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

ApiReply HttpApi::handle(const ApiRequest& req) const {
  const auto start = std::chrono::steady_clock::now();
  std::string token_name;
  if (auth_ != nullptr && route_needs_token(route_of(req.path), auth_->metrics_public())) {
    AuthOutcome outcome = auth_->check(req.authorization);
    if (!outcome.name) {
      metrics_.auth_failure(outcome.failure);
      return unauthorized(outcome.failure);
    }
    token_name = std::move(*outcome.name);
  }
  ApiReply reply = route(req);
  reply.token_name = std::move(token_name);
  // The histogram times the service's own work (its alert fires at 10 ms): a read-your-writes wait
  // is the client's choice and is counted in saldo_read_your_writes_total instead.
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  metrics_.request_latency(std::max(0.0, took - reply.waited_s));
  return reply;
}

ApiReply HttpApi::route(const ApiRequest& req) const {
  const Route route = route_of(req.path);
  if (route == Route::kOther) return json_error(404, "rota não encontrada");
  const bool post_allowed = route == Route::kSaldos;
  if (req.method != "GET" && req.method != "HEAD" && !(post_allowed && req.method == "POST")) {
    ApiReply r = json_error(405, "método não permitido");
    r.allow = post_allowed ? "GET, HEAD, POST" : "GET, HEAD";
    return r;
  }
  switch (route) {
    case Route::kSaldo: {
      const std::string_view id = req.path.substr(std::string_view("/saldo/").size());
      if (shards_ == nullptr) return saldo(id, first_param(req.query, "after"), first_param(req.query, "wait_ms"));
      if (!is_valid_customer_id(id)) return json_error(400, "cliente_id inválido");
      ReadOptions options;
      if (auto bad = parse_read_options(first_param(req.query, "after"), first_param(req.query, "wait_ms"), options)) {
        return std::move(*bad);
      }
      return sharded_saldo(id, req, std::move(options));
    }
    case Route::kEvents: {
      const std::string_view rest = req.path.substr(std::string_view("/saldo/").size());
      const std::string_view id = rest.substr(0, rest.size() - std::string_view("/events").size());
      return shards_ == nullptr ? events(id) : sharded_events(id);
    }
    case Route::kSaldos:
      return req.method == "POST" ? saldos_body(req.body, req) : saldos_query(first_param(req.query, "ids"), req);
    case Route::kShardStatus: return shard_status();
    case Route::kHealth: return health();
    case Route::kReady: return ready();
    case Route::kMetrics: return metrics();
    case Route::kPage: return page();
    case Route::kOpenApi: return openapi();
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

std::optional<ApiReply> HttpApi::parse_read_options(std::optional<std::string_view> after,
                                                   std::optional<std::string_view> wait_ms, ReadOptions& out) {
  if (after) {
    out.positions = parse_position_tokens(*after);
    if (!out.positions) return json_error(400, "after inválido: esperado partição:offset[,partição:offset...]");
  }
  if (wait_ms) {
    const std::string_view w = *wait_ms;
    long long v = -1;
    const auto [end, ec] = std::from_chars(w.data(), w.data() + w.size(), v);
    // Over the cap is refused, not shortened: a client that asked for 60 s and got 5 s would take
    // the 504 for the table's slowness.
    if (w.empty() || w.size() > 18 || ec != std::errc() || end != w.data() + w.size() || v < 0 || v > kMaxWaitMs) {
      return json_error(400, "wait_ms inválido: esperado um inteiro de 0 a " + std::to_string(kMaxWaitMs));
    }
    out.wait_ms = static_cast<int>(v);
  }
  return std::nullopt;
}

ApiReply HttpApi::saldo(std::string_view id, std::optional<std::string_view> after,
                        std::optional<std::string_view> wait_ms) const {
  if (!is_valid_customer_id(id)) return json_error(400, "cliente_id inválido");
  ReadOptions options;
  if (auto bad = parse_read_options(after, wait_ms, options)) return std::move(*bad);
  // Before READY a missing key may only be not replayed yet: 503, never a false 404.
  if (!readiness_.ready()) return not_ready(readiness_.snapshot());
  return saldo_here(id, options);
}

ApiReply HttpApi::saldo_here(std::string_view id, const ReadOptions& options) const {
  const auto& positions = options.positions;
  double waited_s = 0;
  if (positions) {
    std::vector<TopicPosition> own;
    if (options.wait_partition >= 0) {
      for (const TopicPosition& p : *positions) {
        if (p.partition == options.wait_partition) own.push_back(p);
      }
    }
    ApiReply waited = wait_for(options.wait_partition >= 0 ? own : *positions, options.wait_ms);
    if (waited.status != 200) return waited;
    waited_s = waited.waited_s;
  }
  const auto found = store_.get(id);
  if (!found) {
    ApiReply r = json_error(404, "cliente não encontrado");
    r.waited_s = waited_s;
    if (const auto rejected = store_.rejected(id)) {
      r.body.pop_back();
      append_rejected(r.body, *rejected);
      r.body.push_back('}');
    }
    return r;
  }
  ApiReply r;
  r.waited_s = waited_s;
  r.body.reserve(128 + id.size() + found->timestamp.size());
  append_customer(r.body, id, *found);
  if (positions && !found->newer_rejected) append_ordered_after(r.body, id, *found, *positions);
  return r;
}

// A client that wrote this customer at P:O and reads with ?after=P:O expects its own record (or a
// later one of the same partition). If the answer's record sits on a partition none of `after`
// names, the table's rule (ARCHITECTURE.md, "Consistency") ordered it after the client's: another
// partitioner's record, or one stamped in the future. Say so, naming it, instead of answering
// another value silently. A position on the answer's partition proves nothing lost there (a later
// offset of one partition always wins), so it never warns; costs nothing when ?after= is absent.
void HttpApi::append_ordered_after(std::string& body, std::string_view id, const BalanceSnapshot& found,
                                   const std::vector<TopicPosition>& after) const {
  for (const TopicPosition& p : after) {
    if (p.partition == found.partition) return;
  }
  const auto order = store_.held_order(id);
  if (!order || order->partition != found.partition || order->offset != found.offset) return;  // changed since
  body.pop_back();
  body.append(",\"warning\":{\"reason\":\"ordered_after\",\"partition\":").append(std::to_string(found.partition));
  body.append(",\"offset\":").append(std::to_string(found.offset));
  body.append(",\"timestamp_ms\":").append(std::to_string(order->time));
  body.append(",\"message\":\"a resposta é um registro de outra partição, ordenado depois do registro em after\"}}");
}

ApiReply HttpApi::events(std::string_view id) const {
  if (!is_valid_customer_id(id)) return json_error(400, "cliente_id inválido");
  if (!readiness_.ready()) return not_ready(readiness_.snapshot());
  return open_stream(id);
}

ApiReply HttpApi::open_stream(std::string_view id, EventStream::ServedWhere served_where) const {
  if (readiness_.changes().closed()) {
    ApiReply r = json_error(503, "serviço encerrando");
    r.retry_after_s = 1;
    return r;
  }
  if (streams_.fetch_add(1) >= max_streams_) {
    streams_.fetch_sub(1);
    metrics_.event_stream_rejected();
    ApiReply r = json_error(503, "streams demais abertos: tente de novo mais tarde");
    r.body.pop_back();
    r.body.append(",\"max_streams\":").append(std::to_string(max_streams_)).append("}");
    r.retry_after_s = 5;
    return r;
  }
  metrics_.event_streams(1);
  ApiReply r;
  // Exactly this type: the HTTP library compresses any other text/* type (a browser sends
  // Accept-Encoding: gzip), and gzip would hold events back in its buffer.
  r.content_type = "text/event-stream";
  r.stream = std::make_shared<EventStream>(
      store_, readiness_, std::string(id), stream_timing_,
      [this] {
        metrics_.event_streams(-1);
        streams_.fetch_sub(1);
      },
      std::move(served_where));
  return r;
}

ApiReply HttpApi::wait_for(const std::vector<TopicPosition>& after, int wait_ms) const {
  using WaitResult = Metrics::WaitResult;
  if (readiness_.applied(after)) {
    metrics_.read_your_writes(WaitResult::kOk);
    return {};
  }
  // A partition the table does not read would only time out: say so at once.
  {
    const ReadinessSnapshot snap = readiness_.snapshot();
    for (const TopicPosition& p : after) {
      const bool known = std::any_of(snap.partitions.begin(), snap.partitions.end(),
                                     [&](const PartitionProgress& q) { return q.partition == p.partition; });
      if (!known) {
        return json_error(400, "after inválido: a partição " + std::to_string(p.partition) + " não existe (o tópico " +
                                   snap.topic + " tem " + std::to_string(snap.partitions.size()) + ")");
      }
    }
  }
  if (waiting_.fetch_add(1) >= max_waiting_) {
    waiting_.fetch_sub(1);
    metrics_.read_your_writes(WaitResult::kRejected);
    ApiReply r = json_error(503, "espera demais: muitas requisições aguardando uma posição");
    r.retry_after_s = 1;
    return r;
  }
  metrics_.waiting_requests(1);
  const auto began = std::chrono::steady_clock::now();
  const bool applied = readiness_.wait_applied(after, began + std::chrono::milliseconds(wait_ms));
  const double waited_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  metrics_.waiting_requests(-1);
  waiting_.fetch_sub(1);
  if (applied) {
    metrics_.read_your_writes(WaitResult::kOk);
    ApiReply ok;
    ok.waited_s = waited_s;
    return ok;
  }
  metrics_.read_your_writes(WaitResult::kTimeout);
  ApiReply r = json_error(504, "a tabela ainda não aplicou a posição pedida");
  r.waited_s = waited_s;
  r.body.pop_back();
  r.body.append(",\"wait_ms\":").append(std::to_string(wait_ms)).append(",\"after\":[");
  bool first = true;
  for (const TopicPosition& p : after) {
    if (!first) r.body.push_back(',');
    first = false;
    r.body.append("{\"partition\":").append(std::to_string(p.partition));
    r.body.append(",\"offset\":").append(std::to_string(p.offset)).append("}");
  }
  // offset: the next one the table will apply (as /ready), so a token P:O is applied when it is > O.
  r.body.append("],\"positions\":[");
  first = true;
  for (const PartitionProgress& p : readiness_.snapshot().partitions) {
    if (!first) r.body.push_back(',');
    first = false;
    r.body.append("{\"partition\":").append(std::to_string(p.partition));
    r.body.append(",\"offset\":").append(std::to_string(p.position)).append("}");
  }
  r.body.append("]}");
  return r;
}

ApiReply HttpApi::saldos_query(std::optional<std::string_view> ids, const ApiRequest& request) const {
  if (!ids || ids->empty()) return json_error(400, "parâmetro ids necessário: /saldos?ids=1,2,3");
  std::vector<std::string> list;
  std::string_view rest = *ids;
  while (true) {
    if (list.size() == kMaxBatchIds) return too_many_ids();
    const std::size_t comma = rest.find(',');
    list.emplace_back(rest.substr(0, comma));
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return lookup_many(list, request);
}

ApiReply HttpApi::saldos_body(std::string_view body, const ApiRequest& request) const {
  const BatchBody batch = parse_batch_body(body, kMaxBatchIds);
  if (batch.status != 200) return json_error(batch.status, batch.error);
  return lookup_many(batch.ids, request);
}

ApiReply HttpApi::lookup_many(const std::vector<std::string>& ids, const ApiRequest& request) const {
  if (shards_ != nullptr) return sharded_lookup_many(ids, request);
  if (!readiness_.ready()) return not_ready(readiness_.snapshot());
  std::string found_json, missing_json, invalid_json;
  std::unordered_set<std::string_view> seen;
  seen.reserve(ids.size());
  for (const std::string& id : ids) {
    if (!seen.insert(id).second) continue;  // a duplicate is answered once
    if (!is_valid_customer_id(id)) {
      invalid_json.append(invalid_json.empty() ? "{\"cliente_id\":" : ",{\"cliente_id\":");
      append_json_string(invalid_json, id);
      invalid_json.append(",\"error\":\"cliente_id inválido\"}");
      continue;
    }
    if (const auto found = store_.get(id)) {
      found_json.append(found_json.empty() ? "{\"cliente_id\":\"" : ",{\"cliente_id\":\"").append(id).append("\"");
      append_found(found_json, *found);
      found_json.push_back('}');
      continue;
    }
    missing_json.append(missing_json.empty() ? "{\"cliente_id\":\"" : ",{\"cliente_id\":\"").append(id).append("\"");
    if (const auto rejected = store_.rejected(id)) append_rejected(missing_json, *rejected);
    missing_json.push_back('}');
  }
  ApiReply r;
  r.body.reserve(found_json.size() + missing_json.size() + invalid_json.size() + 48);
  r.body.append("{\"found\":[").append(found_json).append("],\"not_found\":[").append(missing_json);
  r.body.append("],\"invalid\":[").append(invalid_json).append("]}");
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
  // Sharded: ready for a load balancer only when this instance can answer any customer.
  const std::string shard_reason = shards_ ? shard_unready_reason(*shards_->picture()) : std::string();
  if (!shard_reason.empty()) r.status = 503;
  r.body.append("{");
  append_progress(r.body, snap);
  if (!shard_reason.empty()) {
    r.body.append(",\"shard_not_ready\":");
    append_json_string(r.body, shard_reason);
  }
  r.body.append(",\"customers\":").append(std::to_string(store_.size()));
  r.body.append(",\"misrouted_records\":").append(std::to_string(metrics_.misrouted_count()));
  r.body.append(",\"end_offsets_age_ms\":").append(std::to_string(snap.end_offsets_age_ms(std::chrono::steady_clock::now())));
  if (certificate_problem_) {
    // Informative like the sink's status: an expired certificate does not make the table unready.
    if (const std::string problem = certificate_problem_(); !problem.empty()) {
      r.body.append(",\"tls_warning\":");
      append_json_string(r.body, problem);
    }
  }
  if (postgres_) postgres_->append_ready_json(r.body);  // informative: never makes the service unready
  if (shards_) append_shard_ready(r.body);
  r.body.append(",\"partitions\":[");
  bool first = true;
  for (const auto& p : snap.partitions) {
    if (!first) r.body.push_back(',');
    first = false;
    r.body.append("{\"partition\":").append(std::to_string(p.partition));
    r.body.append(",\"offset\":").append(std::to_string(p.position));
    r.body.append(",\"target\":").append(std::to_string(p.target));
    r.body.append(",\"last_stable_offset\":").append(std::to_string(p.stable_offset));
    r.body.append(",\"high_watermark\":").append(std::to_string(p.high_watermark));
    r.body.append(",\"lag\":").append(std::to_string(p.lag()));
    r.body.append(",\"uncommitted\":").append(std::to_string(p.uncommitted()));
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

ApiReply HttpApi::openapi() {
  ApiReply r;
  r.body = std::string(openapi_json());
  return r;
}

}  // namespace saldo
