#include "consumer_service/postgres/postgres_tables.h"

#include <optional>

#include <spdlog/spdlog.h>

#include "consumer_service/postgres/postgres_schema.h"

namespace saldo {
namespace {

std::optional<std::string> one_value(PGconn* conn, std::string_view query, const std::vector<std::string>& params) {
  const PgResult r = pg_exec_params(conn, query, params, PGRES_TUPLES_OK);
  if (PQntuples(r.get()) == 0) return std::nullopt;
  return std::string(PQgetvalue(r.get(), 0, 0));
}

int schema_version(PGconn* conn) {
  const PgResult exists = pg_exec(conn, std::string(pg_schema::kSchemaExists), PGRES_TUPLES_OK);
  if (std::string_view(PQgetvalue(exists.get(), 0, 0)) != "t") return 0;
  const PgResult r = pg_exec(conn, std::string(pg_schema::kReadVersion), PGRES_TUPLES_OK);
  return std::stoi(PQgetvalue(r.get(), 0, 0));
}

// Version 1 had one saldos for every topic: it belongs to the one topic of saldo_offsets.
void migrate_version1(PGconn* conn, const std::string& where) {
  std::vector<std::string> topics;
  const PgResult r = pg_exec(conn, std::string(pg_schema::kVersion1Topics), PGRES_TUPLES_OK);
  for (int i = 0; i < PQntuples(r.get()); ++i) topics.emplace_back(PQgetvalue(r.get(), i, 0));
  std::string refusal;
  const auto owner = pg_schema::version1_owner(topics, refusal);
  if (!refusal.empty()) throw TableRefused(refusal);
  if (owner) {
    pg_exec_params(conn, pg_schema::kRegisterTable, {"saldos", *owner}, PGRES_COMMAND_OK);
    spdlog::info("PostgreSQL sink ({}): table saldos holds topic '{}' (from its positions in saldo_offsets)", where,
                 *owner);
  }
}

}  // namespace

PgResult pg_exec_params(PGconn* conn, std::string_view sql, const std::vector<std::string>& params,
                        ExecStatusType expected) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  const std::string text(sql);
  PgResult r(PQexecParams(conn, text.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                          nullptr, 0));
  if (!r || PQresultStatus(r.get()) != expected) {
    throw pg_result_error(conn, r.get());
  }
  return r;
}

bool ensure_tables(PGconn* conn, const pg_schema::TableStatements& sql, const std::string& table,
                   const std::string& topic, const std::string& where) {
  if (const int v = schema_version(conn); v > pg_schema::kVersion) {
    throw PgError("the database has saldo schema version " + std::to_string(v) + ", newer than this binary's " +
                  std::to_string(pg_schema::kVersion));
  }
  pg_exec(conn, "BEGIN");
  pg_exec(conn, std::string(pg_schema::kSchemaLock), PGRES_TUPLES_OK);
  if (const int v = schema_version(conn); v < pg_schema::kVersion) {
    pg_exec(conn, std::string(pg_schema::kCreate));
    if (v == 1) migrate_version1(conn, where);
    spdlog::info("PostgreSQL sink ({}): {} the shared tables (schema version {})", where,
                 v == 0 ? "created" : "upgraded", pg_schema::kVersion);
  }
  const auto owner = one_value(conn, pg_schema::kTableOwner, {table});
  const auto table_of_topic = one_value(conn, pg_schema::kTableOfTopic, {topic});
  if (auto refusal = pg_schema::claim_refusal(table, topic, owner, table_of_topic)) throw TableRefused(*refusal);
  // Only a new claim or a missing table creates: a role that may write the rows but not create tables
  // runs a registered set that is there.
  const bool exists = one_value(conn, pg_schema::kTableExists, {table}) == std::optional<std::string>("t");
  if (!owner) pg_exec_params(conn, pg_schema::kRegisterTable, {table, topic}, PGRES_COMMAND_OK);
  const bool create = !owner || !exists;
  if (create) {
    pg_exec(conn, sql.create);
    pg_exec(conn, sql.forget_rows);
    pg_exec_params(conn, pg_schema::kForgetOffsets, {topic}, PGRES_COMMAND_OK);
    if (owner) {
      spdlog::warn("PostgreSQL sink ({}): table {} of topic '{}' was gone (dropped behind the sink's back): created "
                   "again, and the topic is written again from its beginning", where, table, topic);
    } else {
      spdlog::info("PostgreSQL sink ({}): table {} now holds topic '{}'", where, table, topic);
    }
  }
  pg_exec(conn, "COMMIT");
  return create && owner.has_value();
}

}  // namespace saldo
