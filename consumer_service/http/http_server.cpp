#include "consumer_service/http/http_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "consumer_service/http/bounded_server.h"
#include "consumer_service/http/peer_forwarder.h"
#include "consumer_service/http/tls_credentials.h"

namespace saldo {
namespace {

// A live stream's chunks, one per call, on the request's pool thread until the stream ends.
void stream_events(const std::shared_ptr<EventStream>& stream, httplib::Response& res, std::string_view content_type) {
  res.set_chunked_content_provider(std::string(content_type), [stream](std::size_t, httplib::DataSink& sink) {
    std::string chunk;
    if (!stream->next(chunk, [&sink] { return sink.is_writable(); })) {
      sink.done();
      return true;
    }
    return sink.write(chunk.data(), chunk.size());  // false: the client left, the connection closes
  });
  // Tells nginx-like proxies not to buffer the stream (HAProxy does not).
  res.set_header("X-Accel-Buffering", "no");
}

void apply(const ApiReply& reply, httplib::Response& res) {
  res.status = reply.status;
  if (reply.stream) {
    stream_events(reply.stream, res, reply.content_type);
  } else {
    res.set_content(reply.body, std::string(reply.content_type));
  }
  if (reply.retry_after_s > 0) res.set_header("Retry-After", std::to_string(reply.retry_after_s));
  if (!reply.location.empty()) res.set_header("Location", reply.location);
  if (!reply.allow.empty()) res.set_header("Allow", std::string(reply.allow));
  if (!reply.www_authenticate.empty()) res.set_header("WWW-Authenticate", std::string(reply.www_authenticate));
  if (!reply.content_security_policy.empty()) {
    res.set_header("Content-Security-Policy", std::string(reply.content_security_policy));
  }
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  // Balances are personal data: no shared cache keeps them, and a browser does not either.
  res.set_header("Cache-Control", "no-store");
}

// A customer id is not logged: personal data.
std::string_view loggable_path(const httplib::Request& req) {
  switch (route_of(req.path)) {
    case Route::kSaldo: return "/saldo/…";
    case Route::kEvents: return "/saldo/…/events";
    default: return req.path;
  }
}

// At most one line a second about refused tokens (a scanner must not flood the log), with how
// many were not logged since.
void log_refused(const httplib::Request& req, AuthFailure why) {
  static std::atomic<std::int64_t> last_s{0};
  static std::atomic<std::uint64_t> skipped{0};
  const std::int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  std::int64_t last = last_s.load();
  if (now_s <= last || !last_s.compare_exchange_strong(last, now_s)) {
    skipped.fetch_add(1);
    return;
  }
  spdlog::warn("401 {} {} from {}: {} bearer token ({} more refusals not logged)", req.method,
               loggable_path(req), req.remote_addr, to_string(why),
               skipped.exchange(0));
}

// Why the library could not listen (it says only false): the resolver's or the kernel's own words,
// found by trying the same steps again.
std::string listen_failure_reason(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return "cannot resolve the host: " + std::string(::gai_strerror(rc));
  }
  std::string why = "no address to bind";
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    const bool ok = ::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 1) == 0;
    if (!ok) why = std::strerror(errno);
    ::close(fd);
    if (ok) {
      why = "it worked when tried again (the port was busy a moment)";
      break;
    }
  }
  ::freeaddrinfo(found);
  return why;
}

std::unique_ptr<httplib::Server> make_server(const HttpServerOptions& options, TlsCredentials* tls) {
  const RequestBounds bounds{options.max_header_bytes + options.max_body_bytes,
                             std::chrono::seconds(options.request_timeout_s)};
  if (tls == nullptr) return std::make_unique<BoundedServer>(bounds);
  auto server = std::make_unique<BoundedSslServer>(bounds, [tls](SSL_CTX& ctx) { return tls->configure(ctx); });
  if (!server->is_valid()) throw std::runtime_error("cannot set up TLS (OpenSSL refused the settings)");
  return server;
}

}  // namespace

HttpServer::HttpServer(const HttpApi& api, Metrics& metrics, HttpServerOptions options, TlsCredentials* tls)
    : api_(api), metrics_(metrics), options_(std::move(options)), server_(make_server(options_, tls)) {
  configure();
}

HttpServer::~HttpServer() { stop(); }

void configure_http_server(httplib::Server& s, const HttpServerOptions& options, int& listen_fd) {
  // Off by default in 0.11.4: with Nagle a small response waits for the client's delayed ACK
  // (~40 ms per request on keep-alive).
  s.set_tcp_nodelay(true);
  const int threads = options.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  // The default closes a keep-alive connection after 5 requests.
  s.set_keep_alive_max_count(options.keep_alive_max_requests);
  s.set_keep_alive_timeout(options.keep_alive_timeout_s);
  s.set_read_timeout(options.read_timeout_s, 0);
  s.set_write_timeout(options.write_timeout_s, 0);
  s.set_payload_max_length(options.max_body_bytes);
  // Replaces the library's default hook, so SO_REUSEADDR is ours to set. The fd is kept to raise
  // the listen backlog after bind (the library calls listen() with a compiled-in 5).
  s.set_socket_options([&listen_fd](socket_t fd) {
    int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    // Accept a connection only once its first request bytes arrived (Linux; nginx's "deferred"):
    // every accepted connection holds a pool thread, so 1,000 idle sockets would otherwise starve
    // /health for as long as they stay open. A silent one is only accepted after ~30 s.
    int defer_s = 30;
    ::setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer_s, sizeof defer_s);
    listen_fd = fd;
  });
}

int bind_http_server(httplib::Server& s, const HttpServerOptions& options, const int& listen_fd) {
  if (!s.bind_to_port(options.host, options.port)) {
    throw std::runtime_error("cannot listen on " + options.host + ":" + std::to_string(options.port) + ": " +
                             listen_failure_reason(options.host, options.port));
  }
  // Linux takes a second listen() on a listening socket as a new backlog.
  if (listen_fd >= 0) ::listen(listen_fd, options.listen_backlog);
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (listen_fd < 0 || ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) return 0;
  return ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
}

void HttpServer::configure() {
  httplib::Server& s = *server_;
  configure_http_server(s, options_, listen_fd_);

  // Routing by our own pure dispatcher: no std::regex per request, and JSON for every answer.
  const auto serve = [this](const httplib::Request& req, httplib::Response& res, std::string_view body = {}) {
    const std::string forwarded_by = req.get_header_value(std::string(kForwardedByHeader));
    const ApiReply reply = api_.handle(ApiRequest{req.method, req.path, &req.params, body,
                                                  req.get_header_value("Authorization"), forwarded_by});
    if (reply.auth_failure) log_refused(req, *reply.auth_failure);
    if (!reply.token_name.empty() && spdlog::should_log(spdlog::level::debug)) {
      spdlog::debug("{} {} by token '{}'", req.method, loggable_path(req), reply.token_name);
    }
    apply(reply, res);
  };
  s.set_pre_routing_handler([serve](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "GET" && req.method != "HEAD") return httplib::Server::HandlerResponse::Unhandled;
    // Range is ignored (RFC 9110 allows it): every answer is small, and the library would otherwise
    // turn 500 ranges of the page into a multi-megabyte multipart answer. The Request is the
    // library's own non-const object, handed to this hook as const.
    const_cast<httplib::Request&>(req).ranges.clear();
    serve(req, res);
    return httplib::Server::HandlerResponse::Handled;
  });
  // The one route with a body, read here (bounded by max_body_bytes) whatever its Content-Type: the
  // library's own reading caps a form-encoded body (curl -d) at a compiled-in 8,192 bytes and parses
  // it as form fields.
  s.Post("/saldos", [serve](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& read) {
    std::string body;
    const auto append = [&body](const char* data, std::size_t n) {
      body.append(data, n);
      return true;
    };
    const bool complete = req.is_multipart_form_data()
                              ? read([](const httplib::MultipartFormData&) { return true; }, append)
                              : read(append);
    if (!complete) return;  // the library set 400 or 413
    serve(req, res, body);
  });
  // Other methods reach the library's router (which reads and bounds their bodies) and find no
  // route; this turns that, and the library's own 400/413/414, into our JSON answers.
  s.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                  httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const ApiReply reply = res.status == 404
                               ? api_.handle(ApiRequest{req.method, req.path, &req.params, {},
                                                        req.get_header_value("Authorization")})
                               : HttpApi::library_error(res.status);
    apply(reply, res);
    return httplib::Server::HandlerResponse::Handled;
  }));
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    res.status = 500;
    res.set_content("{\"error\":\"erro interno\"}", "application/json; charset=utf-8");
  });
  s.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    metrics_.http_request(route_of(req.path), res.status);
  });
}

int HttpServer::start() {
  port_ = bind_http_server(*server_, options_, listen_fd_);
  finished_ = false;
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    finished_ = true;
  });
  return port_;
}

void HttpServer::stop() {
  if (!thread_.joinable()) return;
  // Open live streams would otherwise keep their threads, and the pool's join, until a heartbeat.
  api_.close_streams();
  // The library's stop() does nothing until its listen loop runs, so wait for that first.
  while (!server_->is_running() && !finished_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  server_->stop();
  thread_.join();
}

}  // namespace saldo
