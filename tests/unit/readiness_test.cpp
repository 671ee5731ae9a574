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
  EXPECT_EQ(r.snapshot().end_offsets_age_ms(std::chrono::steady_clock::now()), -1) << "not asked yet";
  r.set_end_offsets(0, 7, 7, std::chrono::steady_clock::now());
  EXPECT_EQ(r.snapshot().partitions[0].lag(), 5);
  EXPECT_EQ(r.snapshot().partitions[0].uncommitted(), 0);
  EXPECT_GE(r.snapshot().end_offsets_age_ms(std::chrono::steady_clock::now()), 0);
  r.set_broker_reachable(true);
  EXPECT_TRUE(r.snapshot().broker_reachable);
}

// Lag counts up to the last stable offset: the records of a transaction still open (up to the high
// watermark) cannot be read yet, so they are shown apart and never make a caught-up table look behind.
TEST(Readiness, OpenTransactionsAreShownApartFromLag) {
  Readiness r;
  r.begin_rebuild({{0, 0, 10}});
  r.advance(0, 10);
  ASSERT_TRUE(r.ready());
  r.set_end_offsets(0, 10, 60, std::chrono::steady_clock::now());
  auto p = r.snapshot().partitions[0];
  EXPECT_EQ(p.lag(), 0);
  EXPECT_EQ(p.uncommitted(), 50);
  EXPECT_EQ(p.stable_offset, 10);
  EXPECT_EQ(p.high_watermark, 60);
  // Committed: readable now, so lag until read.
  r.set_end_offsets(0, 61, 61, std::chrono::steady_clock::now());
  p = r.snapshot().partitions[0];
  EXPECT_EQ(p.lag(), 51);
  EXPECT_EQ(p.uncommitted(), 0);
  r.advance(0, 61);
  EXPECT_EQ(r.snapshot().partitions[0].lag(), 0);
}

// An answer asked before the rebuild began may describe the topic before a reset: it is ignored, and
// an answer older than what was read since cannot make the lag negative.
TEST(Readiness, EndOffsetsAskedBeforeTheRebuildAreIgnored) {
  Readiness r;
  const auto before = std::chrono::steady_clock::now();
  r.begin_rebuild({{0, 0, 4}});
  r.set_end_offsets(0, 900, 900, before - std::chrono::seconds(1));
  EXPECT_EQ(r.snapshot().partitions[0].lag(), 4);
  EXPECT_EQ(r.snapshot().end_offsets_age_ms(std::chrono::steady_clock::now()), -1);
  r.advance(0, 4);
  r.set_end_offsets(0, 3, 3, std::chrono::steady_clock::now());
  EXPECT_EQ(r.snapshot().partitions[0].lag(), 0);
  EXPECT_EQ(r.snapshot().partitions[0].stable_offset, 4);
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

TEST(Readiness, PartitionsLetGoLeaveTheProgressAndTheReadyCount) {
  Readiness r("contas");
  r.begin_rebuild({{0, 0, 10}, {1, 0, 10}, {2, 0, 10}});
  EXPECT_FALSE(r.advance(0, 10));
  EXPECT_EQ(r.state(), ServiceState::kRebuilding);
  const std::vector<std::int32_t> gone = {0, 1};
  r.remove_partitions(gone);  // one caught up, one not
  auto s = r.snapshot();
  ASSERT_EQ(s.partitions.size(), 1u);
  EXPECT_EQ(s.partitions[0].partition, 2);
  EXPECT_TRUE(r.advance(2, 10));  // the last one held: READY
  r.add_partitions({{1, 0, 4}});   // taken again: counted, READY stays
  EXPECT_EQ(r.state(), ServiceState::kReady);
  s = r.snapshot();
  ASSERT_EQ(s.partitions.size(), 2u);
  EXPECT_FALSE(s.partitions[0].caught_up);
  EXPECT_EQ(s.partitions[0].lag(), 4);
}

}  // namespace
}  // namespace saldo
