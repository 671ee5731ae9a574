// The PostgreSQL sink's writer thread (common/background_job.h): a job runs on another thread while
// the caller goes on, wait() hands back what it threw, and a second job before the wait is refused.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "common/background_job.h"

namespace saldo {
namespace {

TEST(BackgroundJob, RunsOnAnotherThreadWhileTheCallerGoesOn) {
  BackgroundJob job;
  std::mutex m;
  std::condition_variable cv;
  bool caller_went_on = false;
  std::thread::id ran_on;
  job.start([&] {
    ran_on = std::this_thread::get_id();
    std::unique_lock lock(m);
    // Finishes only once the caller did its own work: a job run inside start() would never get here.
    cv.wait(lock, [&] { return caller_went_on; });
  });
  EXPECT_TRUE(job.pending());
  {
    std::lock_guard lock(m);
    caller_went_on = true;
  }
  cv.notify_all();
  job.wait();
  EXPECT_FALSE(job.pending());
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(BackgroundJob, WaitRethrowsWhatTheJobThrewOnceAndTheNextJobRuns) {
  BackgroundJob job;
  job.start([] { throw std::runtime_error("the database went away"); });
  EXPECT_THROW(
      {
        try {
          job.wait();
        } catch (const std::runtime_error& e) {
          EXPECT_STREQ(e.what(), "the database went away");
          throw;
        }
      },
      std::runtime_error);
  EXPECT_NO_THROW(job.wait());  // nothing pending: returns at once, the error is not thrown twice
  std::atomic<int> runs{0};
  job.start([&] { ++runs; });
  job.wait();
  EXPECT_EQ(runs, 1);
}

TEST(BackgroundJob, ASecondJobBeforeTheWaitIsRefused) {
  BackgroundJob job;
  std::atomic<int> runs{0};
  job.start([&] { ++runs; });
  EXPECT_THROW(job.start([&] { runs += 10; }), std::logic_error);
  job.wait();
  EXPECT_EQ(runs, 1);
}

TEST(BackgroundJob, TheDestructorWaitsForAJobUnderWay) {
  std::atomic<bool> finished{false};
  {
    BackgroundJob job;
    job.start([&] {
      std::this_thread::yield();
      finished = true;
    });
  }
  EXPECT_TRUE(finished);
}

}  // namespace
}  // namespace saldo
