// FetcherWaker: the reader's request never waits for the broker, and stopping is bounded.
#include "consumer_service/topic/fetcher_waker.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

namespace saldo {
namespace {

using Clock = std::chrono::steady_clock;

// A "broker" that accepts connections (the kernel's backlog does) and never answers: every query
// through it runs into its whole timeout.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof addr;
    EXPECT_EQ(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

std::unique_ptr<rd_kafka_t, decltype(&rd_kafka_destroy)> silent_consumer(int port) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[256];
  const std::string bootstrap = "127.0.0.1:" + std::to_string(port);
  EXPECT_EQ(rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err, sizeof err), RD_KAFKA_CONF_OK);
  EXPECT_EQ(rd_kafka_conf_set(conf, "group.id", "fetcher-waker-test", err, sizeof err), RD_KAFKA_CONF_OK);
  EXPECT_EQ(rd_kafka_conf_set(conf, "log_level", "0", err, sizeof err), RD_KAFKA_CONF_OK);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err);
  EXPECT_NE(rk, nullptr) << err;
  return {rk, &rd_kafka_destroy};
}

TEST(FetcherWaker, RequestsReturnAtOnceWhileTheBrokerDoesNotAnswerAndStoppingIsBounded) {
  SilentListener broker;
  auto rk = silent_consumer(broker.port());
  ASSERT_NE(rk, nullptr);
  // The query itself blocks for its whole timeout against this broker (what the reader must not do).
  std::int64_t low = 0, high = 0;
  auto t0 = Clock::now();
  rd_kafka_query_watermark_offsets(rk.get(), "t", 0, &low, &high, 200);
  ASSERT_GE(Clock::now() - t0, std::chrono::milliseconds(150));

  t0 = Clock::now();
  {
    FetcherWaker waker(rk.get(), "t");
    const auto t1 = Clock::now();
    for (int i = 0; i < 100; ++i) waker.request(3);
    // 100 blocking queries would take 20 s; the requests coalesce and never wait (the bound leaves
    // room for a loaded machine).
    EXPECT_LT(Clock::now() - t1, std::chrono::seconds(1));
    waker.request(0);  // no partitions: nothing to wake, and no error
  }
  // The destructor waits for at most the query under way (its timeout is 200 ms) and the one
  // pending after it.
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(3));
}

}  // namespace
}  // namespace saldo
