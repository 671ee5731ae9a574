// When the topic no longer holds what was read from it: the table and the PostgreSQL sink both start
// over then, so both ask these.
#include <gtest/gtest.h>

#include "consumer_service/topic/log_range.h"

namespace saldo {
namespace {

TEST(PositionOutsideLog, ALogThatContinuesFromThePositionIsTheSameTopic) {
  EXPECT_FALSE(position_outside_log("t", 0, 10, 0, 10));   // read to the end
  EXPECT_FALSE(position_outside_log("t", 0, 10, 10, 25));  // compacted up to the position, more written
  EXPECT_FALSE(position_outside_log("t", 0, -2, 40, 50));  // nothing read yet: any log is fine
}

TEST(PositionOutsideLog, ALogEndingBelowThePositionWasRecreatedOrTruncated) {
  const auto why = position_outside_log("contas", 2, 10, 0, 4);
  ASSERT_TRUE(why);
  EXPECT_EQ(why->cause, ResetCause::kRecreated);
  EXPECT_EQ(why->why, "partition 2 of 'contas' ends at 4, below the 10 already read (the topic was recreated or "
                      "truncated)");
}

TEST(PositionOutsideLog, ALogStartingPastThePositionLostRecordsNotRead) {
  const auto why = position_outside_log("contas", 0, 10, 11, 20);
  ASSERT_TRUE(why);
  EXPECT_EQ(why->cause, ResetCause::kTruncated);
  EXPECT_NE(why->why.find("now starts at 11, past the unread offset 10"), std::string::npos) << why->why;
}

TEST(PartitionsShrank, MorePartitionsAreReadFromTheirStartFewerMeanANewTopic) {
  EXPECT_FALSE(partitions_shrank("t", 3, 3));
  EXPECT_FALSE(partitions_shrank("t", 6, 3));
  EXPECT_FALSE(partitions_shrank("t", -1, 3));  // the broker did not say
  EXPECT_EQ(partitions_shrank("t", 0, 3)->why, "topic 't' was deleted");
  EXPECT_EQ(partitions_shrank("t", 0, 3)->cause, ResetCause::kGone);
  EXPECT_EQ(partitions_shrank("t", 2, 3)->why, "topic 't' has 2 partitions, fewer than the 3 read (it was recreated)");
  EXPECT_EQ(partitions_shrank("t", 2, 3)->cause, ResetCause::kShrunk);
}

}  // namespace
}  // namespace saldo
