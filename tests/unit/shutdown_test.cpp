#include "common/shutdown.h"

#include <csignal>
#include <thread>

#include <gtest/gtest.h>

namespace saldo {
namespace {

using namespace std::chrono_literals;

// One test: the flag is process-wide and never resets.
TEST(Shutdown, SignalWakesWaitersAndStaysSet) {
  install_shutdown_handlers();
  EXPECT_FALSE(shutdown_requested());
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(wait_for_shutdown(50ms));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 45ms);

  std::thread waiter([] { EXPECT_TRUE(wait_for_shutdown(10s)); });
  std::this_thread::sleep_for(20ms);
  start = std::chrono::steady_clock::now();
  std::raise(SIGTERM);
  waiter.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
  EXPECT_TRUE(shutdown_requested());
  EXPECT_TRUE(wait_for_shutdown(10s));  // returns at once
  request_shutdown();
  EXPECT_TRUE(shutdown_requested());
}

}  // namespace
}  // namespace saldo
