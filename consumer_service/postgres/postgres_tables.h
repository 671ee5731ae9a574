#pragma once
// The sink's tables in a database: the shared ones at this binary's schema version (a version 1
// database moved on), and the claim of one table set for one topic, so that no topic's rows mix with
// or are deleted by another's. libpq; the SQL and the decisions are postgres_schema.h's.
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "common/postgres.h"
#include "consumer_service/postgres/postgres_schema.h"

namespace saldo {

// The sink may not write this table (it holds another topic, or the database cannot be moved on as it
// is): retrying cannot help, unlike a PgError.
class TableRefused : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Runs `sql` with text parameters; throws PgError unless the result has status `expected`.
PgResult pg_exec_params(PGconn* conn, std::string_view sql, const std::vector<std::string>& params,
                        ExecStatusType expected);

// In one transaction under the schema lock: creates or upgrades the shared tables, then registers
// `table` for `topic` and creates its table set (`sql.create`) when the claim is new or the tables
// were dropped behind the sink's back, or throws TableRefused. Whenever it creates or claims the table
// set, what it holds and the topic's positions go in the same transaction (rows and positions come and
// go together: positions over an empty table would skip every row before them). `where` names the
// database in the log. Returns true when it repaired a registered table set that was gone.
bool ensure_tables(PGconn* conn, const pg_schema::TableStatements& sql, const std::string& table,
                   const std::string& topic, const std::string& where);

}  // namespace saldo
