// The first load's split (postgres_first_load.h): while the tables are known empty, a key's first
// change goes straight into its table; a key seen before, or any change once the sink has caught
// up, goes through the staging table and the upserts that compare with the held row.
#include <gtest/gtest.h>

#include "consumer_service/postgres/postgres_first_load.h"
#include "unit/sink_changes.h"

namespace saldo {
namespace {

using test_changes::erase;
using test_changes::set;

TEST(FirstLoad, TablesNotFoundEmptyStageEverything) {
  FirstLoad load;
  load.restart(false);
  const auto split = load.split({set("a", 100, 0, 1, 10), erase("b", 1, 2, 11)});
  EXPECT_TRUE(split.rows.empty());
  EXPECT_TRUE(split.deletions.empty());
  EXPECT_EQ(split.staged,
            "s\ta\t1.00\t2025-10-14T10:30:45\t0\t1\t10\n"
            "d\tb\t\\N\t\\N\t1\t2\t11\n");
  EXPECT_EQ(split.staged_sets, 1u);
  EXPECT_EQ(split.staged_erases, 1u);
}

TEST(FirstLoad, AKeysFirstChangeGoesStraightInAndALaterBatchsChangeOfItIsCompared) {
  FirstLoad load;
  load.restart(true);
  ASSERT_TRUE(load.active());
  const auto first = load.split({set("a", -5, 0, 3, 1000), erase("b", 2, 7, 1001)});
  EXPECT_EQ(first.rows, "a\t-0.05\t2025-10-14T10:30:45\t0\t3\t1000\n");
  EXPECT_EQ(first.deletions, "b\t2\t7\t1001\n");
  EXPECT_TRUE(first.staged.empty());
  // An older value of a on another partition, read later, must not win by being copied: it is staged,
  // as is a value of the deleted b. A new key still goes straight in.
  const auto second = load.split({set("a", 1, 1, 0, 900), set("b", 2, 1, 1, 901), set("c", 3, 1, 2, 902)});
  EXPECT_EQ(second.rows, "c\t0.03\t2025-10-14T10:30:45\t1\t2\t902\n");
  EXPECT_TRUE(second.deletions.empty());
  EXPECT_EQ(second.staged,
            "s\ta\t0.01\t2025-10-14T10:30:45\t1\t0\t900\n"
            "s\tb\t0.02\t2025-10-14T10:30:45\t1\t1\t901\n");
  EXPECT_EQ(second.staged_sets, 2u);
  EXPECT_EQ(second.staged_erases, 0u);
  EXPECT_EQ(load.keys(), 3u);
}

TEST(FirstLoad, EndsOnceCaughtUpAndForgetsItsKeys) {
  FirstLoad load;
  load.restart(true);
  load.split({set("a", 1, 0, 0, 1)});
  EXPECT_TRUE(load.finish());
  EXPECT_FALSE(load.active());
  EXPECT_EQ(load.keys(), 0u);
  EXPECT_FALSE(load.finish());  // over once
  const auto split = load.split({set("new", 1, 0, 1, 2)});
  EXPECT_TRUE(split.rows.empty());
  EXPECT_EQ(split.staged_sets, 1u);
}

TEST(FirstLoad, ARestartForgetsTheKeysOfTheSessionBefore) {
  // A session that failed mid-load rolled its last batch back: the next one asks the tables again.
  FirstLoad load;
  load.restart(true);
  load.split({set("a", 1, 0, 0, 1)});
  load.restart(true);
  EXPECT_EQ(load.keys(), 0u);
  EXPECT_EQ(load.split({set("a", 1, 0, 0, 1)}).rows, "a\t0.01\t2025-10-14T10:30:45\t0\t0\t1\n");
  load.restart(false);
  EXPECT_FALSE(load.active());
  EXPECT_EQ(load.split({set("a", 1, 0, 0, 1)}).staged_sets, 1u);
}

}  // namespace
}  // namespace saldo
