// The sink's pure parts: a batch that keeps one change per key (the table's rule, with ordering
// times from an OrderClock) and the positions, the COPY text, and connection strings described
// without their password.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "common/postgres.h"
#include "consumer_service/postgres/postgres_batch.h"
#include "unit/sink_changes.h"

namespace saldo {
namespace {

using test_changes::erase;
using test_changes::set;

TEST(SinkBatch, AClockThatGoesBackInAPartitionDoesNotMakeItsLaterRecordOlder) {
  // Partition 0 reads a record stamped 5000, then x=50 stamped 2000 (a producer's clock went back);
  // partition 1 has x=30 stamped 3000. The raw timestamps would pick 30; the table's rule (the
  // partition's ordering time, 5000 at x=50) picks 50, as the in-memory table does.
  OrderClock clock;
  clock.reset(2);
  SinkBatch batch;
  batch.add(set("other", 1, 0, 0, clock.next(0, 5000)));
  batch.add(set("x", 5000, 0, 1, clock.next(0, 2000)));
  batch.add(set("x", 3000, 1, 0, clock.next(1, 3000)));
  const auto& changes = batch.changes();
  const auto x = std::find_if(changes.begin(), changes.end(), [](const SinkChange& c) { return c.cliente_id == "x"; });
  ASSERT_NE(x, changes.end());
  EXPECT_EQ(x->saldo, 5000);
  EXPECT_EQ(x->order, (RecordOrder{5000, 0, 1}));
  // The positions carry each partition's ordering time, for the next start to continue from.
  const auto positions = batch.positions();
  ASSERT_EQ(positions.size(), 2u);
  EXPECT_EQ(positions[0].order_ms, 5000);
  EXPECT_EQ(positions[1].order_ms, 3000);
}

TEST(SinkBatch, KeepsOneChangePerKeyTheOneThatSupersedesWhateverTheOrderRead) {
  SinkBatch a, b;
  const std::vector<SinkChange> changes = {set("x", 100, 0, 0, 10), erase("x", 1, 0, 20), set("x", 300, 0, 1, 15),
                                           set("y", 1, 2, 0, 5)};
  for (const auto& c : changes) a.add(c);
  for (auto it = changes.rbegin(); it != changes.rend(); ++it) b.add(*it);
  for (const SinkBatch* batch : {&a, &b}) {
    ASSERT_EQ(batch->changes().size(), 2u);
    const auto& x = batch->changes()[0].cliente_id == "x" ? batch->changes()[0] : batch->changes()[1];
    EXPECT_EQ(x.kind, SinkChange::Kind::kErase);  // the delete at ts 20 is the latest
    EXPECT_EQ(batch->records(), 4u);
  }
}

TEST(SinkBatch, ManyKeysAcrossItsIndexRegrowthsAndAgainAfterAClearKeepOneChangeEach) {
  SinkBatch batch;
  for (int round = 0; round < 3; ++round) {
    // 5000 keys, each twice (the second newer), and a few keys only once: 5003 changes.
    for (int pass = 0; pass < 2; ++pass) {
      for (int k = 0; k < 5000; ++k) {
        batch.add(set("c" + std::to_string(k), 100 * pass + k, 0, pass * 5000 + k, 10 * pass + 1));
      }
    }
    for (int k = 0; k < 3; ++k) batch.add(set("only-" + std::to_string(k + round), 7, 1, k, 1));
    ASSERT_EQ(batch.changes().size(), 5003u) << "round " << round;
    EXPECT_EQ(batch.records(), 10003u);
    for (const SinkChange& c : batch.changes()) {
      if (c.cliente_id.rfind("only-", 0) == 0) continue;
      EXPECT_EQ(c.saldo, 100 + std::stoi(c.cliente_id.substr(1))) << c.cliente_id;  // the newer one
    }
    batch.clear();
    EXPECT_TRUE(batch.changes().empty());
  }
  // A small batch after a big one: the index is reused, nothing of the big one is found.
  batch.add(set("c1", 5, 0, 1, 1));
  batch.add(set("c1", 6, 0, 2, 2));
  ASSERT_EQ(batch.changes().size(), 1u);
  EXPECT_EQ(batch.changes()[0].saldo, 6);
}

TEST(SinkBatch, PositionsCountEveryRecordReadSkippedOnesToo) {
  SinkBatch batch;
  batch.add(set("a", 1, 0, 7, 1));
  batch.skip({1, 0, 8});  // poison
  batch.add(set("a", 2, 0, 9, 1));
  batch.skip({1, 2, 3});
  const auto positions = batch.positions();
  ASSERT_EQ(positions.size(), 2u);
  EXPECT_EQ(positions[0].partition, 0);
  EXPECT_EQ(positions[0].next_offset, 10);
  EXPECT_EQ(positions[0].records, 3);
  EXPECT_EQ(positions[1].partition, 2);
  EXPECT_EQ(positions[1].next_offset, 4);
  EXPECT_EQ(positions[1].records, 1);
  EXPECT_EQ(batch.changes().size(), 1u);
  batch.clear();
  EXPECT_TRUE(batch.empty());
  EXPECT_TRUE(batch.positions().empty());
}

TEST(SinkBatch, StagingRowsHaveExactAmountsNullsForDeletesAndEscapes) {
  SinkBatch batch;
  batch.add(set("1", -5, 0, 3, 1700000000000));
  batch.add(set("2", 999999999999999, 1, 4, 1700000000001));
  batch.add(erase("3", 2, 5, 1700000000002));
  std::string staged;
  for (const SinkChange& c : batch.changes()) append_staging_row(staged, c);
  EXPECT_EQ(staged,
            "s\t1\t-0.05\t2025-10-14T10:30:45\t0\t3\t1700000000000\n"
            "s\t2\t9999999999999.99\t2025-10-14T10:30:45\t1\t4\t1700000000001\n"
            "d\t3\t\\N\t\\N\t2\t5\t1700000000002\n");
  std::string out;
  append_copy_field(out, "a\\b\tc\nd\re");
  EXPECT_EQ(out, "a\\\\b\\tc\\nd\\re");
}

TEST(PostgresConninfo, DescriptionsNeverContainThePassword) {
  EXPECT_EQ(describe_conninfo("postgresql://saldo:Secret-1@127.0.0.1:5433/contas"),
            "host=127.0.0.1 port=5433 dbname=contas user=saldo");
  EXPECT_EQ(describe_conninfo("host=db user=u password='Secret 2' dbname=x"), "host=db dbname=x user=u");
  EXPECT_EQ(describe_conninfo("postgresql://u@h/d?password=Secret-3&sslmode=require"),
            "host=h dbname=d user=u sslmode=require");
  EXPECT_EQ(describe_conninfo("postgresql://u:Secret-4@[broken"), "(invalid connection string)");
  EXPECT_EQ(one_line("a\nb\n"), "a; b");
}

}  // namespace
}  // namespace saldo
