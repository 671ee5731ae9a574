// saldo_admin fix-routing's plan, without Kafka.
#include "tools/routing_plan.h"

#include <gtest/gtest.h>

#include "common/partitioner.h"

namespace saldo {
namespace {

std::string value(const std::string& id, const std::string& saldo) {
  return R"({"cliente_id":")" + id + R"(","saldo":)" + saldo + R"(,"timestamp":"2025-10-14T10:30:45"})";
}

// A key whose murmur2 partition (of 3) is `home`, and one other partition.
struct Key {
  std::string id;
  std::int32_t home;
  std::int32_t other;
};
Key key_on(std::int32_t wanted_home) {
  for (int i = 0;; ++i) {
    const std::string id = "c" + std::to_string(i);
    if (murmur2_partition(id, 3) == wanted_home) return {id, wanted_home, (wanted_home + 1) % 3};
  }
}

TEST(RoutingPlan, RoutedKeysNeedNothing) {
  const Key k = key_on(0);
  const auto plan = plan_routing({{0, 0, 1, k.id, value(k.id, "1")}, {0, 1, 2, k.id, std::nullopt}}, 3);
  EXPECT_EQ(plan.repairs.size(), 0u);
  EXPECT_EQ(plan.misrouted_records, 0u);
}

TEST(RoutingPlan, AStrayValueIsTombstonedAndTheLatestWrittenHome) {
  const Key k = key_on(1);
  // home has an older value; the other partition a newer one: the newer is the latest.
  const auto plan = plan_routing({{k.home, 0, 100, k.id, value(k.id, "1")}, {k.other, 0, 200, k.id, value(k.id, "2")}}, 3);
  ASSERT_EQ(plan.repairs.size(), 1u);
  EXPECT_EQ(plan.repairs[0].home, k.home);
  EXPECT_EQ(plan.repairs[0].tombstone_on, std::vector<std::int32_t>{k.other});
  EXPECT_EQ(plan.repairs[0].latest, value(k.id, "2"));
  EXPECT_EQ(plan.misrouted_records, 1u);
}

// The bug that brings customers back: a delete on another partition beats an older home value until
// compaction drops the delete. The repair writes the delete home.
TEST(RoutingPlan, AStrayDeleteIsWrittenHome) {
  const Key k = key_on(2);
  const auto plan = plan_routing({{k.home, 0, 100, k.id, value(k.id, "1")}, {k.other, 0, 200, k.id, std::nullopt}}, 3);
  ASSERT_EQ(plan.repairs.size(), 1u);
  EXPECT_TRUE(plan.repairs[0].tombstone_on.empty());  // it already ends with a delete
  EXPECT_FALSE(plan.repairs[0].latest);
}

// After the repair's records (tombstone on the stray partition, then the latest again at home, later),
// a second run plans nothing; invalid records never win.
TEST(RoutingPlan, ASecondRunPlansNothing) {
  const Key k = key_on(0);
  const auto plan = plan_routing({{k.home, 0, 100, k.id, value(k.id, "1")},
                                  {k.other, 0, 200, k.id, value(k.id, "2")},
                                  {k.other, 1, 300, k.id, std::nullopt},
                                  {k.home, 1, 301, k.id, value(k.id, "2")},
                                  {k.home, 2, 400, k.id, std::string("{poison")}},
                                 3);
  EXPECT_EQ(plan.repairs.size(), 0u);
  EXPECT_EQ(plan.customers, 1u);
}

// A winner stamped in the future (CreateTime allows it): the copy home must be stamped past it and
// past every stray partition's ordering time, or the tombstone (ordering time of its partition) or
// the winner would still beat it. On main the copy was stamped "now" and the key answered 404.
TEST(RoutingPlan, TheCopyIsStampedPastAFutureWinnerAndEveryStrayPartition) {
  const Key k = key_on(0);
  const std::int64_t future = 1'000'000'000;
  const auto plan = plan_routing({{k.home, 0, 100, k.id, value(k.id, "1")},
                                  {k.other, 0, future, k.id, value(k.id, "2100")},
                                  {k.home, 1, 200, k.id, value(k.id, "5.55")}},  // loses to the future one
                                 3);
  ASSERT_EQ(plan.repairs.size(), 1u);
  EXPECT_EQ(plan.repairs[0].latest, value(k.id, "2100"));
  EXPECT_EQ(plan.repairs[0].stamp_at_least, future + 1);
  EXPECT_EQ(plan.spread_customers, 1u);
}

// The stray partition's ordering time counts even when the key's own record there is older: another
// key's future record raised it, and the tombstone written there takes it.
TEST(RoutingPlan, TheCopyIsStampedPastTheStrayPartitionsTime) {
  const Key k = key_on(0);
  const Key j = key_on(k.other);
  const auto plan = plan_routing({{k.other, 0, 300, k.id, value(k.id, "2")},
                                  {k.other, 1, 5000, j.id, value(j.id, "9")}},
                                 3);
  ASSERT_EQ(plan.repairs.size(), 1u);
  EXPECT_EQ(plan.repairs[0].key, k.id);
  EXPECT_EQ(plan.repairs[0].stamp_at_least, 5001);
}

// Replaying what --apply writes for a future winner (copy home at S, tombstone at S - 1, both while
// the clock is far behind S) answers the same value and plans nothing: the second run is clean.
TEST(RoutingPlan, AfterAFutureStampedRepairASecondRunPlansNothing) {
  const Key k = key_on(0);
  const std::int64_t future = 1'000'000'000;
  std::vector<ScannedRecord> records{{k.home, 0, 100, k.id, value(k.id, "1")},
                                     {k.other, 0, future, k.id, value(k.id, "2100")}};
  const auto first = plan_routing(records, 3);
  ASSERT_EQ(first.repairs.size(), 1u);
  const std::int64_t s = first.repairs[0].stamp_at_least;
  records.push_back({k.home, 1, s, k.id, first.repairs[0].latest});
  records.push_back({k.other, 1, s - 1, k.id, std::nullopt});
  const auto second = plan_routing(records, 3);
  EXPECT_TRUE(second.repairs.empty());
  EXPECT_EQ(second.customers, 1u);
  EXPECT_EQ(second.spread_customers, 1u);  // still listed until compaction removes the stray records
}

// A key deleted by a client with another partitioner: listed, counted as off its partition and on
// several partitions, and the delete is written home.
TEST(RoutingPlan, AKeyDeletedOffItsPartitionIsListedAndCounted) {
  const Key k = key_on(1);
  const auto plan = plan_routing({{k.home, 0, 100, k.id, value(k.id, "1")}, {k.other, 0, 200, k.id, std::nullopt}}, 3);
  EXPECT_EQ(plan.misrouted_records, 1u);
  EXPECT_EQ(plan.spread_customers, 1u);
  ASSERT_EQ(plan.repairs.size(), 1u);
  EXPECT_FALSE(plan.repairs[0].latest);
  EXPECT_EQ(plan.repairs[0].stamp_at_least, 201);
}

}  // namespace
}  // namespace saldo
