#include "consumer_service/http_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <chrono>
#include <stdexcept>

#include <httplib.h>

namespace saldo {
namespace {

void apply(const ApiReply& reply, httplib::Response& res) {
  res.status = reply.status;
  res.set_content(reply.body, std::string(reply.content_type));
  if (reply.retry_after_s > 0) res.set_header("Retry-After", std::to_string(reply.retry_after_s));
  if (!reply.allow.empty()) res.set_header("Allow", std::string(reply.allow));
}

}  // namespace

HttpServer::HttpServer(const HttpApi& api, Metrics& metrics, HttpServerOptions options)
    : api_(api), metrics_(metrics), options_(std::move(options)), server_(std::make_unique<httplib::Server>()) {
  configure();
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::configure() {
  httplib::Server& s = *server_;
  // Off by default in 0.11.4: with Nagle a small response waits for the client's delayed ACK
  // (~40 ms per request on keep-alive).
  s.set_tcp_nodelay(true);
  const int threads = options_.threads;
  s.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<std::size_t>(threads)); };
  // The default closes a keep-alive connection after 5 requests.
  s.set_keep_alive_max_count(options_.keep_alive_max_requests);
  s.set_keep_alive_timeout(options_.keep_alive_timeout_s);
  s.set_read_timeout(options_.read_timeout_s, 0);
  s.set_write_timeout(options_.write_timeout_s, 0);
  s.set_payload_max_length(options_.max_body_bytes);
  // Replaces the library's default hook, so SO_REUSEADDR is ours to set. The fd is kept to raise
  // the listen backlog after bind (the library calls listen() with a compiled-in 5).
  s.set_socket_options([this](socket_t fd) {
    int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    listen_fd_ = fd;
  });

  // Routing by our own pure dispatcher: no std::regex per request, and JSON for every answer.
  s.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (req.method != "GET" && req.method != "HEAD") return httplib::Server::HandlerResponse::Unhandled;
    apply(api_.handle(req.method, req.path), res);
    return httplib::Server::HandlerResponse::Handled;
  });
  // Other methods reach the library's router (which reads and bounds their bodies) and find no
  // route; this turns that, and the library's own 400/413/414, into our JSON answers.
  s.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                  httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const ApiReply reply = res.status == 404 ? api_.handle(req.method, req.path) : HttpApi::library_error(res.status);
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
  if (!server_->bind_to_port(options_.host, options_.port)) {
    throw std::runtime_error("cannot listen on " + options_.host + ":" + std::to_string(options_.port));
  }
  // Linux takes a second listen() on a listening socket as a new backlog.
  if (listen_fd_ >= 0) ::listen(listen_fd_, options_.listen_backlog);
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (listen_fd_ >= 0 && ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port_ = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  }
  finished_ = false;
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    finished_ = true;
  });
  return port_;
}

void HttpServer::stop() {
  if (!thread_.joinable()) return;
  // The library's stop() does nothing until its listen loop runs, so wait for that first.
  while (!server_->is_running() && !finished_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  server_->stop();
  thread_.join();
}

}  // namespace saldo
