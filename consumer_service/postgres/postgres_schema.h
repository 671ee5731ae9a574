#pragma once
// Every SQL text of the PostgreSQL read model, in one place: the tables (versioned by the one row
// of saldo_schema) and the statements that apply a batch. Pure strings: no libpq here.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace saldo::pg_schema {

inline constexpr int kVersion = 2;

// Whether saldo_schema exists ('t' or 'f'), then the version it holds.
extern const std::string_view kSchemaExists;
extern const std::string_view kReadVersion;
// Creates the shared tables when missing and records kVersion (run under kSchemaLock, in a
// transaction). A version 1 database gets them too, and then its saldos is registered (below).
extern const std::string_view kCreate;
// Version 1 kept one saldos for every topic: the topics of saldo_offsets, to tell whose rows it holds.
extern const std::string_view kVersion1Topics;
// The topic the one saldos of version 1 holds (nullopt: none). Several topics: nullopt, and
// `refusal` says why the database cannot be moved on as it is and what to do.
std::optional<std::string> version1_owner(const std::vector<std::string>& topics, std::string& refusal);

// The registry of table sets: $1 table -> its topic; $1 topic -> its table; register $1 table for $2 topic.
extern const std::string_view kTableOwner;
// Whether table $1 and $1_excluidos both exist ('t' or 'f').
extern const std::string_view kTableExists;
extern const std::string_view kTableOfTopic;
extern const std::string_view kRegisterTable;
// Why a sink of `topic` may not write `table` (one line for the log), or nullopt. `owner_of_table`
// and `table_of_topic` are what the registry holds (nullopt: nothing).
std::optional<std::string> claim_refusal(std::string_view table, std::string_view topic,
                                         const std::optional<std::string>& owner_of_table,
                                         const std::optional<std::string>& table_of_topic);
// A table name the sink accepts: lower-case letters, digits and '_', not starting with a digit, at
// most 50 bytes (so "<name>_excluidos" fits PostgreSQL's identifiers unquoted).
bool valid_table_name(std::string_view name);
// Serialises schema creation between instances (transaction-scoped advisory lock).
extern const std::string_view kSchemaLock;

// The session's staging table that COPY fills; emptied by every commit.
extern const std::string_view kCreateStaging;
extern const std::string_view kCopyIntoStaging;

// The statements of one table set. After COPY, in this order, in the batch's transaction. Each
// writes only changes newer than what the tables hold for the key (the rule of postgres_batch.h), so
// a key is in at most one of the two tables.
struct TableStatements {
  std::string create;            // the table and its "_excluidos", when missing
  std::string upsert_rows;       // sets: the count is rows written
  std::string forget_deletions;  // a newer set clears the deletion mark
  std::string record_deletions;  // deletes: remembered with their version
  std::string delete_rows;       // deletes: the count is rows written
  // The topic is not the one the tables were written from (recreated, truncated, shrunk): its rows
  // go, then (kForgetOffsets) its positions, in one transaction, and it is read again from the start.
  std::string forget_rows;
  // The first load (postgres_first_load.h): whether both tables are empty ('t' or 'f'), and COPY
  // straight into each, in the column order of append_table_row and append_deletion_row.
  std::string tables_empty;
  std::string copy_rows;
  std::string copy_deletions;
};
// `table` must be valid_table_name().
TableStatements statements_for(std::string_view table);

// Once per session: index lookups, not hash joins over the whole table, for the small staging batch.
extern const std::string_view kSessionSettings;

// The sink's positions: SELECT "partition", next_offset, order_ms (NULL: none read), and the record
// read last (last_offset, last_ts, last_hash; NULL before the column came) for topic $1.
extern const std::string_view kReadOffsets;
// Upsert of the batch's positions: $1 topic and arrays $2 partitions, $3 next offsets, $4 records read,
// $5 ordering times, $6 $7 $8 the record read last (offset, timestamp, content hash as a signed bigint).
extern const std::string_view kWriteOffsets;

// The positions of topic $1, forgotten with its rows.
extern const std::string_view kForgetOffsets;

// Only one sink writes a topic's rows at a time (session advisory lock; $1 topic): a second
// instance of the service on the same database waits as a standby instead of writing twice.
extern const std::string_view kTryWriterLock;

}  // namespace saldo::pg_schema
