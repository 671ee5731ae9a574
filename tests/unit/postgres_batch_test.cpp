// The sink's pure parts: the rule that decides which record of a key is current, a batch that keeps
// one change per key and the positions, the COPY text, and connection strings described without
// their password.
#include <gtest/gtest.h>

#include "common/postgres.h"
#include "consumer_service/postgres_batch.h"

namespace saldo {
namespace {

SinkChange set(const std::string& id, Centavos saldo, std::int32_t p, std::int64_t o, std::int64_t ts) {
  return {SinkChange::Kind::kSet, id, saldo, "2025-10-14T10:30:45", {p, o, ts}};
}
SinkChange erase(const std::string& id, std::int32_t p, std::int64_t o, std::int64_t ts) {
  return {SinkChange::Kind::kErase, id, 0, "", {p, o, ts}};
}

TEST(Supersedes, WithinAPartitionTheHigherOffsetWinsWhateverTheTimestamps) {
  EXPECT_TRUE(supersedes({1, 10, 5}, {1, 9, 900}));
  EXPECT_FALSE(supersedes({1, 9, 900}, {1, 10, 5}));
  EXPECT_FALSE(supersedes({1, 9, 5}, {1, 9, 5}));  // the same record does not replace itself
}

TEST(Supersedes, AcrossPartitionsTheLaterTimestampWinsThenTheHigherPartition) {
  EXPECT_TRUE(supersedes({0, 1, 200}, {2, 500, 100}));
  EXPECT_FALSE(supersedes({2, 500, 100}, {0, 1, 200}));
  EXPECT_TRUE(supersedes({2, 1, 100}, {0, 9, 100}));
  EXPECT_FALSE(supersedes({0, 9, 100}, {2, 1, 100}));
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

TEST(SinkBatch, PositionsCountEveryRecordReadSkippedOnesToo) {
  SinkBatch batch;
  batch.add(set("a", 1, 0, 7, 1));
  batch.skip(0, 8);  // poison
  batch.add(set("a", 2, 0, 9, 1));
  batch.skip(2, 3);
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

TEST(SinkBatch, CopyTextHasExactAmountsNullsForDeletesAndEscapes) {
  SinkBatch batch;
  batch.add(set("1", -5, 0, 3, 1700000000000));
  batch.add(set("2", 999999999999999, 1, 4, 1700000000001));
  batch.add(erase("3", 2, 5, 1700000000002));
  EXPECT_EQ(batch.copy_text(),
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
