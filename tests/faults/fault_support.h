#pragma once
// What the fault tests share on top of tests/support (whose ChildProcess runs any binary in the
// background): a broker of the test's own (scripts/kafka-local.sh) to kill and restart, Prometheus
// text lookups, and a raw HTTP/1.1 client for requests cpp-httplib's client would not send.
#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/kafka_test_support.h"
#include "tests/support/service_process.h"

namespace saldo::test {

// A real Kafka broker of this test only (scripts/kafka-local.sh on $SALDO_TEST_FAULT_KAFKA_PORT,
// default 19492, data under /tmp), so it can be killed without disturbing the other tests. The
// data directory is wiped at construction and destruction; the broker is stopped at destruction.
class OwnBroker {
 public:
  OwnBroker();
  ~OwnBroker();
  OwnBroker(const OwnBroker&) = delete;
  OwnBroker& operator=(const OwnBroker&) = delete;

  std::string bootstrap() const { return "127.0.0.1:" + std::to_string(port_); }
  void start();  // returns when it answers metadata; throws on failure
  void kill();   // SIGKILL: a crash, no clean shutdown
  void stop();

 private:
  CommandResult script(const std::string& verb);
  int port_;
  std::string data_dir_;
};

// The repository's top directory ($SALDO_SOURCE_DIR, else the one this test was built from).
std::string source_dir();

// The value of the sample `name_and_labels` (e.g. `saldo_invalid_records_total{reason="too_large"}`)
// in a Prometheus text exposition; nullopt when absent.
std::optional<double> metric(const std::string& exposition, const std::string& name_and_labels);

// One connection speaking raw HTTP/1.1 (keep-alive), for request lines no well-behaved client sends.
class RawHttp {
 public:
  explicit RawHttp(int port);
  ~RawHttp();
  RawHttp(const RawHttp&) = delete;
  RawHttp& operator=(const RawHttp&) = delete;
  bool connected() const { return fd_ >= 0; }
  // Sends `GET <target> HTTP/1.1` and returns the status, or 0 when the connection closed or timed
  // out without an answer (the connection is then closed; reconnect() opens a new one).
  int get(const std::string& target, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  bool send_all(const std::string& bytes);
  void reconnect();
  void close();

 private:
  int port_;
  int fd_ = -1;
  std::string buffer_;
};

// An idle TCP connection: connects and sends nothing.
int connect_loopback(int port);

}  // namespace saldo::test
