#pragma once
// HttpApi on cpp-httplib, with the server configured for many concurrent keep-alive clients
// (Debian's 0.11.4 defaults are tuned for a toy: see the .cpp).
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "consumer_service/http/http_api.h"
#include "consumer_service/status/metrics.h"

namespace httplib {
class Server;
}

namespace saldo {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 5000;             // 0: an ephemeral port (tests)
  int threads = 512;           // every open keep-alive connection holds one
  int listen_backlog = 1024;
  std::size_t keep_alive_max_requests = 100000;
  int keep_alive_timeout_s = 1;  // also bounds how long stop() waits for an idle connection
  int read_timeout_s = 5;
  int write_timeout_s = 5;
  // Only POST /saldos takes a body: up to 1,000 ids of up to 64 characters as a JSON array is about
  // 67 KB, with room for a pretty-printer's spaces.
  std::size_t max_body_bytes = 96 * 1024;
  // A request's line and headers may add at most this much to its body (the edge allows 16 KB), and
  // the whole request (over TLS also the handshake) must arrive within request_timeout_s. Past either
  // the connection gets 400 and is closed (bounded_server.h).
  std::size_t max_header_bytes = 16 * 1024;
  int request_timeout_s = 5;  // as the edge's `timeout http-request`
};

class TlsCredentials;

// The transport settings every saldo HTTP server shares (thread pool, keep-alive, timeouts, Nagle off,
// body limit, SO_REUSEADDR); routes are the caller's. `listen_fd` receives the listening socket when
// the server binds. The bare server in bench/ uses the same two calls to measure the library's limit.
void configure_http_server(httplib::Server& server, const HttpServerOptions& options, int& listen_fd);
// Binds to options.host:options.port, raises the listen backlog and returns the bound port.
// Throws std::runtime_error when it cannot listen.
int bind_http_server(httplib::Server& server, const HttpServerOptions& options, const int& listen_fd);

class HttpServer {
 public:
  // With `tls` (not owned; it must outlive the server) the server speaks only HTTPS.
  HttpServer(const HttpApi& api, Metrics& metrics, HttpServerOptions options, TlsCredentials* tls = nullptr);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts serving on its own thread. Returns the bound port. Throws std::runtime_error.
  int start();
  // Stops accepting, lets open requests finish and joins. Idempotent; not from a handler.
  void stop();
  int port() const noexcept { return port_; }

 private:
  void configure();

  const HttpApi& api_;
  Metrics& metrics_;
  HttpServerOptions options_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<bool> finished_{false};
  int listen_fd_ = -1;
  int port_ = 0;
};

}  // namespace saldo
