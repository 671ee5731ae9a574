#include "consumer_service/http/bounded_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

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
class BoundedStream final : public httplib::Stream {
 public:
  BoundedStream(int fd, Clock::duration read_timeout, Clock::duration write_timeout)
      : fd_(fd), read_timeout_(read_timeout), write_timeout_(write_timeout), buf_(16 * 1024) {}

  // Waits up to `idle` for the next request's first byte (already buffered counts).
  bool next_request(Clock::duration idle) {
    return begin_ < end_ || wait_fd(fd_, POLLIN, poll_ms(idle));
  }
  void begin_request(std::size_t budget, Clock::duration timeout) {
    budget_ = budget;
    deadline_ = Clock::now() + timeout;
  }
  // The request ran past its budget or deadline, or went silent: the library answered 400 but would
  // read on from the middle of it, so the connection ends.
  bool out_of_bounds() const { return out_of_bounds_; }

  bool is_readable() const override {
    if (begin_ < end_) return true;
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
      out_of_bounds_ = true;
      return -1;
    }
    size = std::min(size, budget_);
    if (begin_ == end_) {
      if (!is_readable()) return -1;
      ssize_t n;
      do n = ::recv(fd_, buf_.data(), buf_.size(), 0);
      while (n < 0 && errno == EINTR);
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
    do n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { address_of(fd_, true, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { address_of(fd_, false, ip, port); }
  socket_t socket() const override { return fd_; }

 private:
  int fd_;
  Clock::duration read_timeout_, write_timeout_;
  std::vector<char> buf_;
  std::size_t begin_ = 0, end_ = 0;  // buffered, not yet read
  std::size_t budget_ = 0;
  Clock::time_point deadline_{};
  mutable bool out_of_bounds_ = false;
};

}  // namespace

bool BoundedServer::process_and_close_socket(socket_t sock) {
  using std::chrono::microseconds;
  using std::chrono::seconds;
  BoundedStream strm(sock, seconds(read_timeout_sec_) + microseconds(read_timeout_usec_),
                     seconds(write_timeout_sec_) + microseconds(write_timeout_usec_));
  bool ok = false;
  for (std::size_t left = keep_alive_max_count_;
       left > 0 && svr_sock_ != INVALID_SOCKET && strm.next_request(seconds(keep_alive_timeout_sec_)); --left) {
    strm.begin_request(bounds_.max_request_bytes, bounds_.request_timeout);
    bool closed = false;
    ok = process_request(strm, left == 1, closed, nullptr);
    if (!ok || closed || strm.out_of_bounds()) break;
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

}  // namespace saldo
