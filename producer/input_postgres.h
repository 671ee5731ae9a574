#pragma once
// Rows of a PostgreSQL query as producer input (producer --from-postgres URL --query SQL), as the
// data generator of the neighbouring systems keeps its master data: columns cliente_id, saldo and an
// optional timestamp, by position. Rows are streamed (single-row mode), never all held in memory.
#include <cstdint>
#include <functional>
#include <string>

#include "producer/input_file.h"

namespace saldo {

// Calls `row` for every row (numbered from 1) with the same validation as a --file line. Throws
// PgError (connection or query; the message never holds the password) or ConfigError (a query that
// does not return 2 or 3 columns).
void read_postgres_rows(const std::string& conninfo, const std::string& query,
                        const std::function<void(std::uint64_t, InputLine)>& row);

}  // namespace saldo
