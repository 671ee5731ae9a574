#pragma once
// cpp-httplib's servers (plain and TLS) with each connection read under bounds the library (0.11.4,
// built by Debian with its macros compiled in) does not have: at most `max_request_bytes` read per
// request (request line, headers and body together: without it a client sends 100 MB of small headers
// and gets a 200, and the heap keeps the memory), at most `request_timeout` to deliver them (and, over
// TLS, to finish the handshake: without it a byte every 4 s holds a thread for ever), and one read
// buffer kept for the connection's life (the library makes a new one per request and drops whatever a
// pipelining client sent after the first request).
#include <chrono>
#include <cstddef>
#include <functional>

#include <httplib.h>

namespace saldo {

struct RequestBounds {
  std::size_t max_request_bytes = 0;
  std::chrono::milliseconds request_timeout{0};
};

class BoundedServer final : public httplib::Server {
 public:
  explicit BoundedServer(RequestBounds bounds) : bounds_(bounds) {}

 private:
  // The library's per-connection loop (keep-alive, then one request at a time), with our stream.
  bool process_and_close_socket(socket_t sock) override;

  RequestBounds bounds_;
};

class BoundedSslServer final : public httplib::SSLServer {
 public:
  BoundedSslServer(RequestBounds bounds, const std::function<bool(SSL_CTX&)>& setup_ssl_ctx)
      : httplib::SSLServer(setup_ssl_ctx), bounds_(bounds) {}

 private:
  // The handshake under the request deadline, then the same loop as BoundedServer's.
  bool process_and_close_socket(socket_t sock) override;

  RequestBounds bounds_;
};

}  // namespace saldo
