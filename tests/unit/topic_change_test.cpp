// The typed decision both readers of the topic act on: nothing, partitions added, or a reset with
// its cause. Each kind and cause is asserted here, so a caller never parses the log's text.
#include <gtest/gtest.h>

#include "consumer_service/topic/topic_change.h"

namespace saldo {
namespace {

TEST(PartitionCountChange, TheSameCountOrNoAnswerIsNoChange) {
  EXPECT_EQ(partition_count_change("t", 3, 3).kind, TopicChange::Kind::kNone);
  EXPECT_EQ(partition_count_change("t", -1, 3).kind, TopicChange::Kind::kNone);
  EXPECT_FALSE(partition_count_change("t", 3, 3));
}

TEST(PartitionCountChange, MorePartitionsAreAddedWithTheNewCount) {
  const TopicChange c = partition_count_change("t", 5, 3);
  EXPECT_EQ(c.kind, TopicChange::Kind::kPartitionsAdded);
  EXPECT_EQ(c.partitions, 5);
  EXPECT_TRUE(c.why.empty());
}

TEST(PartitionCountChange, FewerPartitionsAreAShrunkResetAndNoneAGoneReset) {
  const TopicChange shrunk = partition_count_change("contas", 2, 3);
  EXPECT_EQ(shrunk.kind, TopicChange::Kind::kReset);
  EXPECT_EQ(shrunk.cause, ResetCause::kShrunk);
  EXPECT_EQ(shrunk.why, "topic 'contas' has 2 partitions, fewer than the 3 read (it was recreated)");
  const TopicChange gone = partition_count_change("contas", 0, 3);
  EXPECT_EQ(gone.kind, TopicChange::Kind::kReset);
  EXPECT_EQ(gone.cause, ResetCause::kGone);
  EXPECT_EQ(gone.why, "topic 'contas' was deleted");
}

TEST(LogChange, ALogThatContinuesIsNoChange) {
  EXPECT_FALSE(log_change("t", 0, 10, 0, 10));
  EXPECT_FALSE(log_change("t", 0, 10, 10, 25));
  EXPECT_FALSE(log_change("t", 0, -1001, 40, 50));  // RD_KAFKA_OFFSET_BEGINNING: nothing read
}

TEST(LogChange, ALogEndingBelowThePositionIsARecreatedReset) {
  const TopicChange c = log_change("contas", 1, 10, 0, 4);
  EXPECT_EQ(c.kind, TopicChange::Kind::kReset);
  EXPECT_EQ(c.cause, ResetCause::kRecreated);
  EXPECT_NE(c.why.find("partition 1 of 'contas' ends at 4"), std::string::npos) << c.why;
}

TEST(LogChange, ALogStartingPastThePositionIsATruncatedReset) {
  const TopicChange c = log_change("contas", 0, 10, 11, 20);
  EXPECT_EQ(c.kind, TopicChange::Kind::kReset);
  EXPECT_EQ(c.cause, ResetCause::kTruncated);
}

TEST(ResetCause, EachCauseHasAName) {
  EXPECT_EQ(to_string(ResetCause::kRecreated), "recreated");
  EXPECT_EQ(to_string(ResetCause::kTruncated), "truncated");
  EXPECT_EQ(to_string(ResetCause::kShrunk), "shrunk");
  EXPECT_EQ(to_string(ResetCause::kGone), "gone");
}

}  // namespace
}  // namespace saldo
