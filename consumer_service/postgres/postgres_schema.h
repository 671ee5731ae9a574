#pragma once
// Every SQL text of the PostgreSQL read model, in one place: the tables (versioned by the one row
// of saldo_schema) and the statements that apply a batch. Pure strings: no libpq here.
#include <string>
#include <string_view>

namespace saldo::pg_schema {

inline constexpr int kVersion = 1;

// Whether saldo_schema exists ('t' or 'f'), then the version it holds.
extern const std::string_view kSchemaExists;
extern const std::string_view kReadVersion;
// Creates the tables when missing and records kVersion (run under kSchemaLock, in a transaction).
extern const std::string_view kCreate;
// Serialises schema creation between instances (transaction-scoped advisory lock).
extern const std::string_view kSchemaLock;

// The session's staging table that COPY fills; emptied by every commit.
extern const std::string_view kCreateStaging;
extern const std::string_view kCopyIntoStaging;

// After COPY, in this order, in the batch's transaction. Each writes only changes newer than what the
// tables hold for the key (the rule of postgres_batch.h), so a key is in at most one of the two tables.
extern const std::string_view kUpsertRows;       // sets: the count is rows written
extern const std::string_view kForgetDeletions;  // a newer set clears the deletion mark
extern const std::string_view kRecordDeletions;  // deletes: remembered with their version
extern const std::string_view kDeleteRows;       // deletes: the count is rows written

// Once per session: index lookups, not hash joins over the whole table, for the small staging batch.
extern const std::string_view kSessionSettings;

// The sink's positions: SELECT "partition", next_offset, order_ms (NULL: none read) for topic $1.
extern const std::string_view kReadOffsets;
// Upsert of the batch's positions: $1 topic and arrays $2 partitions, $3 next offsets, $4 records read,
// $5 ordering times.
extern const std::string_view kWriteOffsets;

// The topic is not the one the tables were written from (recreated, truncated, shrunk): forget it
// all in one transaction, rows and then the positions of topic $1, and read it again from the start.
extern const std::string_view kForgetRows;
extern const std::string_view kForgetOffsets;

// Only one sink writes a topic's rows at a time (session advisory lock; $1 topic): a second
// instance of the service on the same database waits as a standby instead of writing twice.
extern const std::string_view kTryWriterLock;

}  // namespace saldo::pg_schema
