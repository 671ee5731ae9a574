#include "producer/input_postgres.h"

#include <optional>

#include "common/config.h"
#include "common/postgres.h"

namespace saldo {

void read_postgres_rows(const std::string& conninfo, const std::string& query,
                        const std::function<void(std::uint64_t, InputLine)>& row) {
  const PgConn conn = pg_connect(conninfo, 10);
  // A read-only transaction: whatever --query says, the producer never changes the master data.
  pg_exec(conn.get(), "BEGIN READ ONLY");
  if (!PQsendQuery(conn.get(), query.c_str())) throw PgError(one_line(PQerrorMessage(conn.get())));
  PQsetSingleRowMode(conn.get());
  std::uint64_t n = 0;
  std::optional<PgError> error;
  std::optional<ConfigError> shape;
  while (PGresult* raw = PQgetResult(conn.get())) {
    const PgResult r(raw);
    const ExecStatusType status = PQresultStatus(raw);
    if (status == PGRES_TUPLES_OK) continue;  // the end of the rows
    if (status != PGRES_SINGLE_TUPLE) {
      if (!error) error.emplace(pg_result_error(conn.get(), raw));
      continue;
    }
    if (error || shape) continue;  // drain the rest of the result
    const int columns = PQnfields(raw);
    if (columns != 2 && columns != 3) {
      shape.emplace("--query must return cliente_id, saldo and optionally a timestamp, not " +
                    std::to_string(columns) + " columns");
      continue;
    }
    ++n;
    if (PQgetisnull(raw, 0, 0) || PQgetisnull(raw, 0, 1)) {
      row(n, BadLine{PQgetisnull(raw, 0, 0) ? "cliente_id is NULL" : "saldo is NULL"});
      continue;
    }
    std::optional<std::string_view> ts;
    if (columns == 3 && !PQgetisnull(raw, 0, 2)) ts = PQgetvalue(raw, 0, 2);
    row(n, parse_input_fields(PQgetvalue(raw, 0, 0), PQgetvalue(raw, 0, 1), ts));
  }
  if (shape) throw *shape;
  if (error) throw *error;
  pg_exec(conn.get(), "COMMIT");
}

}  // namespace saldo
