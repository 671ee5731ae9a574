// The read model keeps each topic in its own table set: which table names are accepted, when a sink
// is refused a table, how a version 1 database's one saldos is attributed, and that a table set's
// statements name only its own tables.
#include <gtest/gtest.h>

#include "consumer_service/postgres/postgres_schema.h"

namespace saldo::pg_schema {
namespace {

TEST(PostgresTableName, LowerCaseIdentifiersThatLeaveRoomForTheSuffix) {
  EXPECT_TRUE(valid_table_name("saldos"));
  EXPECT_TRUE(valid_table_name("saldos_contas_2"));
  EXPECT_TRUE(valid_table_name("_x"));
  EXPECT_FALSE(valid_table_name(""));
  EXPECT_FALSE(valid_table_name("Saldos"));
  EXPECT_FALSE(valid_table_name("2saldos"));
  EXPECT_FALSE(valid_table_name("saldos; DROP TABLE x"));
  EXPECT_FALSE(valid_table_name("saldos-b"));
  EXPECT_FALSE(valid_table_name(std::string(51, 'a')));
  EXPECT_TRUE(valid_table_name(std::string(50, 'a')));
}

TEST(ClaimRefusal, AFreeTableOrOneAlreadyOfThisTopicIsTaken) {
  EXPECT_FALSE(claim_refusal("saldos", "contas", std::nullopt, std::nullopt));
  EXPECT_FALSE(claim_refusal("saldos", "contas", std::string("contas"), std::string("saldos")));
}

TEST(ClaimRefusal, ATableOfAnotherTopicIsRefusedNamingBoth) {
  const auto why = claim_refusal("saldos", "outras", std::string("contas"), std::nullopt);
  ASSERT_TRUE(why);
  EXPECT_EQ(*why, "PostgreSQL table 'saldos' holds topic 'contas', not 'outras': choose another --postgres-table "
                  "(POSTGRES_TABLE) for this topic");
}

TEST(ClaimRefusal, ATopicAlreadyWrittenToAnotherTableIsRefused) {
  const auto why = claim_refusal("saldos_b", "contas", std::nullopt, std::string("saldos"));
  ASSERT_TRUE(why);
  EXPECT_NE(why->find("--postgres-table saldos"), std::string::npos) << *why;
}

TEST(Version1Owner, OneTopicOwnsTheOldTableNoneLeavesItFreeSeveralAreRefused) {
  std::string refusal;
  EXPECT_EQ(version1_owner({"contas"}, refusal), "contas");
  EXPECT_TRUE(refusal.empty());
  EXPECT_EQ(version1_owner({}, refusal), std::nullopt);
  EXPECT_TRUE(refusal.empty());
  EXPECT_EQ(version1_owner({"a", "b"}, refusal), std::nullopt);
  EXPECT_NE(refusal.find("topics 'a', 'b' mixed"), std::string::npos) << refusal;
}

TEST(StatementsFor, NameOnlyTheirOwnTableSet) {
  const TableStatements s = statements_for("saldos_b");
  for (const std::string* sql : {&s.create, &s.upsert_rows, &s.forget_deletions, &s.record_deletions, &s.delete_rows,
                                 &s.forget_rows, &s.tables_empty, &s.copy_rows, &s.copy_deletions}) {
    EXPECT_EQ(sql->find("@T@"), std::string::npos) << *sql;
    EXPECT_NE(sql->find("saldos_b"), std::string::npos) << *sql;
  }
  EXPECT_EQ(s.forget_rows, "DELETE FROM saldos_b; DELETE FROM saldos_b_excluidos");
  EXPECT_NE(s.create.find("CREATE TABLE IF NOT EXISTS saldos_b_excluidos"), std::string::npos);
  EXPECT_NE(s.upsert_rows.find("INSERT INTO saldos_b AS t"), std::string::npos);
  EXPECT_EQ(s.copy_deletions, "COPY saldos_b_excluidos (cliente_id, particao, \"offset\", order_ms) FROM STDIN");
}

}  // namespace
}  // namespace saldo::pg_schema
