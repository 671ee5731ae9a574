// The thread the table reader, the PostgreSQL sink and the snapshot writer run on: a stop cuts a
// pause short (stop() must not wait out a retry delay), and a pause without a stop lasts its time.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>

#include "common/worker_thread.h"

namespace saldo {
namespace {

using namespace std::chrono_literals;

TEST(WorkerThread, StopCutsALongPauseShortAndThePauseSaysSo) {
  WorkerThread worker;
  std::atomic<int> pauses_cut{0};
  std::atomic<bool> started{false};
  worker.start([&] {
    started = true;
    while (worker.pause(1h)) {
    }
    ++pauses_cut;
  });
  while (!started) std::this_thread::yield();
  const auto t0 = std::chrono::steady_clock::now();
  worker.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  EXPECT_EQ(pauses_cut, 1);
  EXPECT_TRUE(worker.stopping());
  worker.stop();  // twice is harmless
}

TEST(WorkerThread, APauseWithoutAStopLastsItsTimeAndReturnsTrue) {
  WorkerThread worker;
  std::atomic<bool> result{false}, done{false};
  std::chrono::steady_clock::duration took{};
  worker.start([&] {
    const auto t0 = std::chrono::steady_clock::now();
    result = worker.pause(50ms);
    took = std::chrono::steady_clock::now() - t0;
    done = true;
  });
  while (!done) std::this_thread::yield();
  worker.stop();
  EXPECT_TRUE(result);
  EXPECT_GE(took, 50ms);
}

TEST(WorkerThread, RunsAgainAfterAStop) {
  WorkerThread worker;
  std::atomic<int> runs{0};
  worker.start([&] { ++runs; });
  worker.stop();
  worker.start([&] { runs += worker.stopping() ? 100 : 1; });  // a new start is not stopping
  while (runs < 2) std::this_thread::yield();
  worker.stop();
  EXPECT_EQ(runs, 2);
}

TEST(WorkerThread, StopWithoutStartDoesNothing) {
  WorkerThread worker;
  worker.stop();
  EXPECT_FALSE(worker.stopping());
}

}  // namespace
}  // namespace saldo
