#include "consumer_service/status/readiness.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace saldo {
namespace {

TEST(Readiness, StartingThenRebuildingThenReadyWhenEveryPartitionCaughtUp) {
  Readiness r("contas");
  EXPECT_EQ(r.state(), ServiceState::kStarting);
  EXPECT_FALSE(r.begin_rebuild({{0, 0, 10}, {1, 5, 5}, {2, 0, 4}}));
  EXPECT_EQ(r.state(), ServiceState::kRebuilding);
  auto s = r.snapshot();
  ASSERT_EQ(s.partitions.size(), 3u);
  EXPECT_TRUE(s.partitions[1].caught_up);  // empty partition: caught up at once
  EXPECT_EQ(s.records_to_replay(), 14);
  EXPECT_FALSE(r.advance(0, 10));
  EXPECT_DOUBLE_EQ(r.snapshot().progress(), 10.0 / 14.0);
  EXPECT_EQ(r.state(), ServiceState::kRebuilding);
  EXPECT_TRUE(r.advance(2, 4));
  EXPECT_EQ(r.state(), ServiceState::kReady);
  EXPECT_FALSE(r.advance(2, 9));  // tailing
  EXPECT_EQ(r.snapshot().partitions[2].position, 9);
}

TEST(Readiness, AllEmptyIsReadyAtOnce) {
  Readiness r;
  EXPECT_TRUE(r.begin_rebuild({{0, 0, 0}, {1, 3, 3}}));
  EXPECT_TRUE(r.ready());
  EXPECT_DOUBLE_EQ(r.snapshot().progress(), 1.0);
}

TEST(Readiness, LagAndBrokerAndTopicFlags) {
  Readiness r;
  r.set_topic_missing(true);
  r.set_broker_reachable(false, "connection refused");
  auto s = r.snapshot();
  EXPECT_TRUE(s.topic_missing);
  EXPECT_FALSE(s.broker_reachable);
  EXPECT_EQ(s.broker_error, "connection refused");
  EXPECT_EQ(s.state, ServiceState::kStarting);
  r.begin_rebuild({{0, 0, 2}});
  EXPECT_FALSE(r.snapshot().topic_missing);
  r.advance(0, 2);
  r.set_high_watermark(0, 7);
  EXPECT_EQ(r.snapshot().partitions[0].lag(), 5);
  r.set_broker_reachable(true);
  EXPECT_TRUE(r.snapshot().broker_reachable);
}

TEST(Readiness, HoldDefersReadyUntilReleased) {
  Readiness r;
  r.hold_ready(true);
  r.begin_rebuild({{0, 0, 1}});
  EXPECT_FALSE(r.advance(0, 1));
  EXPECT_EQ(r.state(), ServiceState::kRebuilding);
  EXPECT_TRUE(r.snapshot().partitions[0].caught_up);
  r.hold_ready(false);
  EXPECT_TRUE(r.ready());
}

TEST(Readiness, AppliedMeansTheNextOffsetIsPastThePosition) {
  Readiness r;
  r.begin_rebuild({{0, 0, 10}, {1, 0, 0}});
  r.advance(0, 5);
  const std::vector<TopicPosition> four{{0, 4}}, five{{0, 5}}, both{{0, 4}, {1, 0}}, unknown{{3, 0}};
  EXPECT_TRUE(r.applied(four));
  EXPECT_FALSE(r.applied(five));
  EXPECT_FALSE(r.applied(both));    // partition 1 has applied nothing yet
  EXPECT_FALSE(r.applied(unknown));  // a partition the table does not read
}

TEST(Readiness, WaitAppliedIsWokenByAdvanceAndBoundedByItsDeadline) {
  using namespace std::chrono_literals;
  Readiness r;
  r.begin_rebuild({{0, 0, 10}});
  const std::vector<TopicPosition> want{{0, 7}};
  auto began = std::chrono::steady_clock::now();
  EXPECT_FALSE(r.wait_applied(want, began + 30ms));
  EXPECT_GE(std::chrono::steady_clock::now() - began, 30ms);

  std::thread reader([&] {
    for (std::int64_t next = 1; next <= 8; ++next) {
      std::this_thread::sleep_for(2ms);  // the reader's pace, not a wait for a condition
      r.advance(0, next);
    }
  });
  began = std::chrono::steady_clock::now();
  EXPECT_TRUE(r.wait_applied(want, began + 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - began, 5s);
  EXPECT_GE(r.snapshot().partitions[0].position, 8);
  reader.join();
}

}  // namespace
}  // namespace saldo
