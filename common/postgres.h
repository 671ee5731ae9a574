#pragma once
// Thin RAII over libpq for the sink and the producer's --from-postgres: handles in unique_ptrs, one
// error type, and a description of a connection string that never contains its password.
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <libpq-fe.h>

namespace saldo {

struct PgDeleter {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using PgConn = std::unique_ptr<PGconn, PgDeleter>;
using PgResult = std::unique_ptr<PGresult, PgDeleter>;

// A failed connection or statement; the message is libpq's or the server's, on one line.
class PgError : public std::runtime_error {
 public:
  PgError(const std::string& what, std::string sqlstate = {}) : std::runtime_error(what), sqlstate_(std::move(sqlstate)) {}
  const std::string& sqlstate() const noexcept { return sqlstate_; }  // "" for connection errors

 private:
  std::string sqlstate_;
};

// "host=127.0.0.1 port=5432 dbname=saldo user=saldo" for a URI or key=value conninfo: what a log line
// may say about it. Never the password; "(invalid connection string)" when libpq cannot parse it.
std::string describe_conninfo(const std::string& conninfo);

// Connects (blocking, bounded by connect_timeout_s); throws PgError with libpq's reason.
PgConn pg_connect(const std::string& conninfo, int connect_timeout_s = 5);

// Runs `sql` (one statement, or several without results); throws PgError unless it returned
// `expected` (PGRES_COMMAND_OK or PGRES_TUPLES_OK).
PgResult pg_exec(PGconn* conn, const std::string& sql, ExecStatusType expected = PGRES_COMMAND_OK);

// The error of a failed result (or of the connection, when `r` is null): the server's primary message
// and its SQLSTATE, on one line (without the statement text libpq would quote).
PgError pg_result_error(PGconn* conn, const PGresult* r);

// libpq's multi-line messages on one line.
std::string one_line(std::string_view message);

}  // namespace saldo
