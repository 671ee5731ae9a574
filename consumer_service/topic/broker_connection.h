#pragma once
// One plaintext TCP connection to a Kafka broker, for the direct catch-up: send a whole request,
// receive one size-prefixed response. Every wait is bounded by a deadline and ends early when `stop`
// is set (checked every 100 ms). Errors are std::runtime_error saying what failed and where.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>

namespace saldo {

class BrokerConnection {
 public:
  using Clock = std::chrono::steady_clock;

  // Connects to host:port (throws on failure, on `timeout`, or when stopping).
  BrokerConnection(const std::string& host, int port, std::chrono::milliseconds timeout, const std::atomic<bool>& stop);
  ~BrokerConnection();
  BrokerConnection(const BrokerConnection&) = delete;
  BrokerConnection& operator=(const BrokerConnection&) = delete;

  void send(std::string_view bytes, Clock::time_point deadline);
  // The next response's bytes after its 4-byte size (at most `max_size` of them, else it throws).
  void receive(std::string& body, std::size_t max_size, Clock::time_point deadline);

  const std::string& peer() const noexcept { return peer_; }

 private:
  // Waits until the socket is ready for `events` (POLLIN/POLLOUT); throws at the deadline or on stop.
  void wait_for(short events, Clock::time_point deadline, const char* what);
  void read_exactly(char* out, std::size_t n, Clock::time_point deadline);

  int fd_ = -1;
  std::string peer_;
  const std::atomic<bool>& stop_;
};

}  // namespace saldo
