#include "consumer_service/http/bounded_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <vector>

#include <openssl/ssl.h>

namespace saldo {
namespace {

using Clock = std::chrono::steady_clock;

int poll_ms(Clock::duration d) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  return static_cast<int>(std::clamp<long long>(ms, 0, 60'000));
}

bool wait_fd(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  for (;;) {
    const int n = ::poll(&p, 1, timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    return n > 0;
  }
}

void address_of(int fd, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  const int rc = peer ? ::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len)
                      : ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  if (rc != 0) return;
  char text[INET6_ADDRSTRLEN] = {};
  if (addr.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&addr);
    ::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    port = ntohs(a->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&addr);
    ::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
    port = ntohs(a->sin6_port);
  }
  ip = text;
}

// One connection's socket as the library's Stream. Reads go through a buffer that lives as long as
// the connection; each request gets a byte budget and a deadline, and a read past either fails
// (the library then answers 400 and closes).
// With `ssl` (a finished handshake on a non-blocking socket) it reads and writes through it: a
// partial TLS record must not block a read past the deadline.
class BoundedStream final : public httplib::Stream {
 public:
  BoundedStream(int fd, SSL* ssl, Clock::duration read_timeout, Clock::duration write_timeout)
      : fd_(fd), ssl_(ssl), read_timeout_(read_timeout), write_timeout_(write_timeout), buf_(16 * 1024) {}

  // Waits up to `idle` for the next request's first byte (already buffered counts).
  bool next_request(Clock::duration idle) {
    return begin_ < end_ || (ssl_ != nullptr && SSL_pending(ssl_) > 0) || wait_fd(fd_, POLLIN, poll_ms(idle));
  }
  void begin_request(std::size_t budget, Clock::duration timeout) {
    budget_ = budget;
    deadline_ = Clock::now() + timeout;
    written_ = 0;
  }
  // Bytes written for the current request: 0 after a cut means the library said nothing (it answers
  // nothing when the request line itself does not fit).
  std::size_t written() const { return written_; }
  bool over_budget() const { return over_budget_; }
  // The request ran past its budget or deadline, or went silent: the library answered 400 but would
  // read on from the middle of it, so the connection ends.
  bool out_of_bounds() const { return out_of_bounds_; }

  bool is_readable() const override {
    if (begin_ < end_ || (ssl_ != nullptr && SSL_pending(ssl_) > 0)) return true;
    const Clock::duration left = deadline_ - Clock::now();
    if (left <= Clock::duration::zero() || !wait_fd(fd_, POLLIN, poll_ms(std::min(left, read_timeout_)))) {
      out_of_bounds_ = true;  // past the deadline, or silent for read_timeout
      return false;
    }
    return true;
  }

  bool is_writable() const override {
    if (!wait_fd(fd_, POLLOUT, poll_ms(write_timeout_))) return false;
    // A peer that closed reads as 0 bytes; a live one as data or EAGAIN (the library's own check).
    char c;
    return ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT) != 0;
  }

  ssize_t read(char* ptr, std::size_t size) override {
    if (budget_ == 0) {
      out_of_bounds_ = over_budget_ = true;
      return -1;
    }
    size = std::min(size, budget_);
    if (begin_ == end_) {
      const ssize_t n = ssl_ != nullptr ? ssl_read() : plain_read();
      if (n <= 0) return n;
      begin_ = 0;
      end_ = static_cast<std::size_t>(n);
    }
    const std::size_t n = std::min(size, end_ - begin_);
    std::memcpy(ptr, buf_.data() + begin_, n);
    begin_ += n;
    budget_ -= n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, std::size_t size) override {
    if (!is_writable()) return -1;
    ssize_t n;
    if (ssl_ != nullptr) {
      n = ssl_write(ptr, size);
    } else {
      do n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
      while (n < 0 && errno == EINTR);
    }
    if (n > 0) written_ += static_cast<std::size_t>(n);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { address_of(fd_, true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address_of(fd_, false, ip, port); }
  socket_t socket() const override { return fd_; }

 private:
  ssize_t plain_read() {
    if (!is_readable()) return -1;
    ssize_t n;
    do n = ::recv(fd_, buf_.data(), buf_.size(), 0);
    while (n < 0 && errno == EINTR);
    return n;
  }

  ssize_t ssl_read() {
    for (;;) {
      const int n = SSL_read(ssl_, buf_.data(), static_cast<int>(buf_.size()));
      if (n > 0) return n;
      const int why = SSL_get_error(ssl_, n);
      if (why == SSL_ERROR_WANT_READ) {
        if (!is_readable()) return -1;
      } else if (why == SSL_ERROR_WANT_WRITE) {
        if (!wait_fd(fd_, POLLOUT, poll_ms(write_timeout_))) return -1;
      } else {
        return why == SSL_ERROR_ZERO_RETURN ? 0 : -1;
      }
    }
  }

  ssize_t ssl_write(const char* ptr, std::size_t size) {
    for (;;) {
      const int n = SSL_write(ssl_, ptr, static_cast<int>(std::min<std::size_t>(size, 1 << 30)));
      if (n > 0) return n;
      const int why = SSL_get_error(ssl_, n);
      const short wait = why == SSL_ERROR_WANT_WRITE ? POLLOUT : why == SSL_ERROR_WANT_READ ? POLLIN : 0;
      if (wait == 0 || !wait_fd(fd_, wait, poll_ms(write_timeout_))) return -1;
    }
  }

  int fd_;
  SSL* ssl_;
  Clock::duration read_timeout_, write_timeout_;
  std::vector<char> buf_;
  std::size_t begin_ = 0, end_ = 0;  // buffered, not yet read
  std::size_t budget_ = 0;
  Clock::time_point deadline_{};
  mutable bool out_of_bounds_ = false;
  bool over_budget_ = false;
  std::size_t written_ = 0;
};

// Keep-alive: one request after the other while the server runs, each with a fresh budget and
// deadline. `process` is the library's process_request on the caller's server.
template <class Process>
bool serve_connection(BoundedStream& strm, const RequestBounds& bounds, std::size_t max_requests,
                      Clock::duration idle, const std::atomic<socket_t>& listening, Process process) {
  bool ok = false;
  for (std::size_t left = max_requests; left > 0 && listening != INVALID_SOCKET && strm.next_request(idle); --left) {
    strm.begin_request(bounds.max_request_bytes, bounds.request_timeout);
    bool closed = false;
    ok = process(strm, left == 1, closed);
    if (strm.out_of_bounds() && strm.written() == 0) {
      // Cut inside the request line, where cpp-httplib gives up without a word: the client still
      // learns why (431 for size, 408 for time) before the connection ends.
      const std::string_view answer =
          strm.over_budget() ? "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                             : "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
      strm.write(answer.data(), answer.size());
    }
    if (!ok || closed || strm.out_of_bounds()) break;
  }
  return ok;
}

Clock::duration duration_of(time_t sec, time_t usec) {
  return std::chrono::seconds(sec) + std::chrono::microseconds(usec);
}

// SSL_accept on a non-blocking socket, given up at `deadline` (a slow ClientHello held the thread).
bool accept_tls(SSL* ssl, int fd, Clock::time_point deadline) {
  for (;;) {
    const int rc = SSL_accept(ssl);
    if (rc == 1) return true;
    const int why = SSL_get_error(ssl, rc);
    const short wait = why == SSL_ERROR_WANT_READ ? POLLIN : why == SSL_ERROR_WANT_WRITE ? POLLOUT : 0;
    if (wait == 0 || !wait_fd(fd, wait, poll_ms(deadline - Clock::now()))) return false;
  }
}

// A request cut for its size or its time was answered 400, but closing with the client's bytes still
// unread makes the kernel send a reset, which can destroy that 400 in the client's receive buffer
// before the client reads it (seen: a 1 MB URL got no answer at all). So: half-close, then read and
// drop what the client still sends, for at most 2 s and 4 MiB, and only then close.
void drain_before_close(socket_t sock) {
  ::shutdown(sock, SHUT_WR);
  const auto deadline = Clock::now() + std::chrono::seconds(2);
  std::size_t drained = 0;
  char sink[16384];
  while (drained < (std::size_t{4} << 20) && wait_fd(sock, POLLIN, poll_ms(deadline - Clock::now()))) {
    const ssize_t n = ::recv(sock, sink, sizeof sink, MSG_DONTWAIT);
    if (n <= 0) break;
    drained += static_cast<std::size_t>(n);
  }
}

}  // namespace

bool BoundedServer::process_and_close_socket(socket_t sock) {
  BoundedStream strm(sock, nullptr, duration_of(read_timeout_sec_, read_timeout_usec_),
                     duration_of(write_timeout_sec_, write_timeout_usec_));
  const bool ok = serve_connection(strm, bounds_, keep_alive_max_count_, std::chrono::seconds(keep_alive_timeout_sec_),
                                   svr_sock_, [this](httplib::Stream& s, bool close, bool& closed) {
                                     return process_request(s, close, closed, nullptr);
                                   });
  if (strm.out_of_bounds()) drain_before_close(sock);
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

bool BoundedSslServer::process_and_close_socket(socket_t sock) {
  bool ok = false;
  SSL* ssl = SSL_new(ssl_context());
  if (ssl != nullptr) {
    ::fcntl(sock, F_SETFL, ::fcntl(sock, F_GETFL) | O_NONBLOCK);
    if (SSL_set_fd(ssl, sock) == 1 && accept_tls(ssl, sock, Clock::now() + bounds_.request_timeout)) {
      BoundedStream strm(sock, ssl, duration_of(read_timeout_sec_, read_timeout_usec_),
                         duration_of(write_timeout_sec_, write_timeout_usec_));
      ok = serve_connection(strm, bounds_, keep_alive_max_count_, std::chrono::seconds(keep_alive_timeout_sec_),
                            svr_sock_, [this](httplib::Stream& s, bool close, bool& closed) {
                              return process_request(s, close, closed, nullptr);
                            });
      SSL_shutdown(ssl);  // best effort: non-blocking, the close_notify is sent or not
    }
    SSL_free(ssl);
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

}  // namespace saldo
