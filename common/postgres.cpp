#include "common/postgres.h"

#include <cstring>

namespace saldo {

std::string one_line(std::string_view message) {
  std::string out;
  out.reserve(message.size());
  for (const char c : message) {
    if (c == '\n' || c == '\r') {
      if (!out.empty() && out.back() != ' ') out.append("; ");
    } else if (c == '\t') {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  return out;
}

std::string describe_conninfo(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err);
  if (err) PQfreemem(err);  // its text may quote the string, password included
  if (!opts) return "(invalid connection string)";
  std::string out;
  for (const char* name : {"host", "hostaddr", "port", "dbname", "user", "sslmode"}) {
    for (PQconninfoOption* o = opts; o->keyword; ++o) {
      if (std::strcmp(o->keyword, name) == 0 && o->val && *o->val) {
        if (!out.empty()) out.push_back(' ');
        out.append(name).append("=").append(o->val);
      }
    }
  }
  PQconninfoFree(opts);
  return out.empty() ? "(libpq defaults)" : out;
}

PgConn pg_connect(const std::string& conninfo, int connect_timeout_s) {
  const std::string timeout = std::to_string(connect_timeout_s);
  // Keepalives: a server that vanished without closing the connection is noticed within ~20 s.
  const char* keys[] = {"dbname", "connect_timeout", "application_name", "keepalives_idle", "keepalives_interval",
                        "keepalives_count", nullptr};
  const char* values[] = {conninfo.c_str(), timeout.c_str(), "saldo", "10", "5", "2", nullptr};
  // expand_dbname=1: the first "dbname" is the whole URI or conninfo; the later keys fill in only
  // what it does not set.
  PgConn conn(PQconnectdbParams(keys, values, 1));
  if (!conn) throw PgError("out of memory creating a PostgreSQL connection");
  if (PQstatus(conn.get()) != CONNECTION_OK) throw PgError(one_line(PQerrorMessage(conn.get())));
  return conn;
}

PgError pg_result_error(PGconn* conn, const PGresult* r) {
  const char* primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  if (!primary) return PgError(one_line(PQerrorMessage(conn)));
  const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
  std::string what = one_line(primary);
  if (state) what.append(" (SQLSTATE ").append(state).append(")");
  return PgError(what, state ? state : "");
}

PgResult pg_exec(PGconn* conn, const std::string& sql, ExecStatusType expected) {
  PgResult r(PQexec(conn, sql.c_str()));
  if (!r || PQresultStatus(r.get()) != expected) {
    throw pg_result_error(conn, r.get());
  }
  return r;
}

}  // namespace saldo
