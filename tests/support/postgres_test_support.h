#pragma once
// The real PostgreSQL the tests use ($SALDO_TEST_POSTGRES_URL, started by scripts/test.sh through
// scripts/postgres-local.sh): a database of its own per test, dropped afterwards, and plain queries.
#include <map>
#include <string>
#include <vector>

#include "common/postgres.h"
#include "tests/support/kafka_test_support.h"

namespace saldo::test {

// $SALDO_TEST_POSTGRES_URL (a role with CREATEDB and CREATEROLE). Throws when unset, so a test that
// needs PostgreSQL fails loudly instead of skipping.
std::string postgres_url();

// `url` with its database (and, when given, user and password) replaced: a key=value conninfo.
std::string with_database(const std::string& url, const std::string& dbname, const std::string& user = {},
                          const std::string& password = {});

using Rows = std::vector<std::vector<std::string>>;  // NULL reads as ""

// Runs one statement on `conninfo` and returns its rows; throws PgError.
Rows query(const std::string& conninfo, const std::string& sql);

// A fresh database for one test on the server of `admin_url`; dropped (FORCE) at destruction.
class TestDatabase {
 public:
  explicit TestDatabase(const std::string& prefix, std::string admin_url = postgres_url());
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& name() const { return name_; }
  std::string url() const { return with_database(admin_url_, name_); }
  Rows query(const std::string& sql) const { return test::query(url(), sql); }

 private:
  std::string admin_url_;
  std::string name_;
};

// What saldos must hold after the topic's records (all of them, in offset order within each
// partition): per key the record with the greatest (partition's running maximum timestamp, partition,
// offset), counting only valid records; a key whose winner is a tombstone has no row. cliente_id -> "saldo|timestamp|partition|offset".
// An independent spelling of the rule, so the test and the sink cannot share a mistake.
std::map<std::string, std::string> expected_rows(const std::vector<Record>& records);

// A sink's table (saldos by default) as the same map, read from the database.
std::map<std::string, std::string> actual_rows(const std::string& conninfo, const std::string& table = "saldos");

}  // namespace saldo::test
