#include "consumer_service/topic/broker_connection.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace saldo {
namespace {

constexpr auto kStopCheck = std::chrono::milliseconds(100);

std::runtime_error io_error(const std::string& peer, const char* what, int err) {
  return std::runtime_error(std::string(what) + " " + peer + ": " + std::strerror(err));
}

}  // namespace

BrokerConnection::BrokerConnection(const std::string& host, int port, std::chrono::milliseconds timeout,
                                   const std::atomic<bool>& stop)
    : peer_(host + ":" + std::to_string(port)), stop_(stop) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (const int rc = ::getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    throw std::runtime_error("cannot resolve " + peer_ + ": " + ::gai_strerror(rc));
  }
  const std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> addresses(found, &::freeaddrinfo);
  const auto deadline = Clock::now() + timeout;
  std::string last_error = "no address";
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    fd_ = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd_ < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd_, a->ai_addr, a->ai_addrlen) == 0) return;
    if (errno == EINPROGRESS) {
      try {
        wait_for(POLLOUT, deadline, "connecting to");
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err == 0) return;
        last_error = std::strerror(err);
      } catch (const std::exception& e) {
        last_error = e.what();
      }
    } else {
      last_error = std::strerror(errno);
    }
    ::close(fd_);
    fd_ = -1;
  }
  throw std::runtime_error("cannot connect to " + peer_ + ": " + last_error);
}

BrokerConnection::~BrokerConnection() {
  if (fd_ >= 0) ::close(fd_);
}

void BrokerConnection::wait_for(short events, Clock::time_point deadline, const char* what) {
  for (;;) {
    if (stop_.load(std::memory_order_relaxed)) throw std::runtime_error(std::string("stopped while ") + what + " " + peer_);
    const auto now = Clock::now();
    if (now >= deadline) throw std::runtime_error(std::string("timed out ") + what + " " + peer_);
    const auto slice = std::min<Clock::duration>(deadline - now, kStopCheck);
    pollfd p{fd_, events, 0};
    const int rc = ::poll(&p, 1, static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(slice).count()));
    if (rc > 0) return;  // ready, or an error the next call reports
    if (rc < 0 && errno != EINTR) throw io_error(peer_, "poll on", errno);
  }
}

void BrokerConnection::send(std::string_view bytes, Clock::time_point deadline) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      wait_for(POLLOUT, deadline, "sending to");
    } else if (n < 0 && errno != EINTR) {
      throw io_error(peer_, "cannot send to", errno);
    }
  }
}

void BrokerConnection::read_exactly(char* out, std::size_t n, Clock::time_point deadline) {
  while (n > 0) {
    const ssize_t got = ::recv(fd_, out, n, 0);
    if (got > 0) {
      out += got;
      n -= static_cast<std::size_t>(got);
    } else if (got == 0) {
      throw std::runtime_error("the broker " + peer_ + " closed the connection");
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      wait_for(POLLIN, deadline, "waiting for an answer from");
    } else if (errno != EINTR) {
      throw io_error(peer_, "cannot read from", errno);
    }
  }
}

void BrokerConnection::receive(std::string& body, std::size_t max_size, Clock::time_point deadline) {
  unsigned char size_bytes[4];
  read_exactly(reinterpret_cast<char*>(size_bytes), 4, deadline);
  const std::uint32_t size = (std::uint32_t{size_bytes[0]} << 24) | (std::uint32_t{size_bytes[1]} << 16) |
                             (std::uint32_t{size_bytes[2]} << 8) | std::uint32_t{size_bytes[3]};
  if (size > max_size) {
    throw std::runtime_error("a response of " + std::to_string(size) + " bytes from " + peer_ + " (at most " +
                             std::to_string(max_size) + " expected)");
  }
  body.resize(size);
  read_exactly(body.data(), size, deadline);
}

}  // namespace saldo
