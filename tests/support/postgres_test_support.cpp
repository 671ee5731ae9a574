#include "tests/support/postgres_test_support.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <stdexcept>
#include <tuple>

#include <nlohmann/json.hpp>

#include "common/codec.h"
#include "common/customer_id.h"

namespace saldo::test {

std::string postgres_url() {
  const char* url = std::getenv("SALDO_TEST_POSTGRES_URL");
  if (!url || !*url) {
    throw std::runtime_error(
        "SALDO_TEST_POSTGRES_URL is not set: run the tests through scripts/test.sh, which starts a real "
        "PostgreSQL with scripts/postgres-local.sh");
  }
  return url;
}

std::string with_database(const std::string& url, const std::string& dbname, const std::string& user,
                          const std::string& password) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(url.c_str(), &err);
  if (err) PQfreemem(err);
  if (!opts) throw std::runtime_error("cannot parse the PostgreSQL URL");
  std::string out;
  const auto add = [&](const std::string& k, const std::string& v) {
    std::string quoted;
    for (const char c : v) {
      if (c == '\'' || c == '\\') quoted.push_back('\\');
      quoted.push_back(c);
    }
    out.append(out.empty() ? "" : " ").append(k).append("='").append(quoted).append("'");
  };
  for (PQconninfoOption* o = opts; o->keyword; ++o) {
    const std::string k = o->keyword;
    if (k == "dbname" || (k == "user" && !user.empty()) || (k == "password" && !user.empty())) continue;
    if (o->val && *o->val) add(k, o->val);
  }
  PQconninfoFree(opts);
  add("dbname", dbname);
  if (!user.empty()) {
    add("user", user);
    add("password", password);
  }
  return out;
}

Rows query(const std::string& conninfo, const std::string& sql) {
  const PgConn conn = pg_connect(conninfo, 5);
  PgResult r(PQexec(conn.get(), sql.c_str()));
  const auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) throw pg_result_error(conn.get(), r.get());
  Rows rows;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    auto& row = rows.emplace_back();
    for (int j = 0; j < PQnfields(r.get()); ++j) row.emplace_back(PQgetvalue(r.get(), i, j));
  }
  return rows;
}

TestDatabase::TestDatabase(const std::string& prefix, std::string admin_url) : admin_url_(std::move(admin_url)) {
  static std::atomic<int> counter{0};
  name_ = prefix + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
          std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 1000000000);
  test::query(admin_url_, "CREATE DATABASE " + name_);
}

TestDatabase::~TestDatabase() {
  try {
    test::query(admin_url_, "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (...) {
  }
}

std::map<std::string, std::string> expected_rows(const std::vector<Record>& records) {
  // The rule, computed here on its own: the latest record of a key has the greatest (partition's
  // running maximum timestamp, partition, offset); every record read moves that maximum, poison too.
  using Order = std::tuple<std::int64_t, std::int32_t, std::int64_t>;
  struct Held {
    Order order;
    std::optional<std::string> row;  // nullopt: deleted
  };
  std::map<std::int32_t, std::int64_t> running;
  std::map<std::string, Held> held;
  for (const Record& r : records) {  // in offset order within each partition
    auto [max, first] = running.try_emplace(r.partition, r.timestamp);
    max->second = std::max(max->second, r.timestamp);
    const Order order{max->second, r.partition, r.offset};
    if (!r.key || !is_valid_customer_id(*r.key)) continue;
    std::optional<std::string> row;
    if (r.value) {
      const auto decoded = decode_update(*r.key, *r.value);
      const auto* u = std::get_if<BalanceUpdate>(&decoded);
      if (!u) continue;  // poison: as if the record were not there
      row = format_money(u->saldo) + "|" + u->timestamp + "|" + std::to_string(r.partition) + "|" +
            std::to_string(r.offset);
    }
    auto [it, inserted] = held.try_emplace(*r.key, Held{order, row});
    if (!inserted && order > it->second.order) it->second = Held{order, row};
  }
  std::map<std::string, std::string> out;
  for (const auto& [id, h] : held) {
    if (h.row) out.emplace(id, *h.row);
  }
  return out;
}

std::map<std::string, std::string> actual_rows(const std::string& conninfo, const std::string& table) {
  std::map<std::string, std::string> out;
  for (const auto& row :
       query(conninfo, "SELECT cliente_id, saldo::text || '|' || atualizado_em || '|' || particao || '|' || \"offset\" "
                       "FROM " + table)) {
    out.emplace(row[0], row[1]);
  }
  return out;
}

}  // namespace saldo::test
