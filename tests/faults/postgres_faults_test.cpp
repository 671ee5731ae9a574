// The PostgreSQL sink when PostgreSQL fails: killed (kill -9) and restarted under the service, or
// configured wrong (no server, wrong password, no such database, a read-only role). The service
// keeps serving HTTP from memory, says what is wrong once, never logs the password, and catches up.
#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "consumer_service/postgres/postgres_schema.h"
#include "tests/faults/fault_support.h"
#include "tests/support/postgres_test_support.h"

namespace saldo::test {
namespace {

using namespace std::chrono_literals;

std::string value_of(const std::string& id, const std::string& saldo) {
  return R"({"cliente_id":")" + id + R"(","saldo":)" + saldo + R"(,"timestamp":"2025-10-14T10:30:45"})";
}

// A PostgreSQL of this test only (scripts/postgres-local.sh on a free port), so it can be killed.
class OwnPostgres {
 public:
  OwnPostgres() : port_(free_port()), data_(temp_path("pg")) {}
  ~OwnPostgres() {
    try {
      script("stop");
      std::filesystem::remove_all(data_);
    } catch (...) {
    }
  }
  OwnPostgres(const OwnPostgres&) = delete;
  OwnPostgres& operator=(const OwnPostgres&) = delete;

  void start() { check("start"); }
  void kill() { check("kill"); }
  static constexpr const char* kPassword = "Pg-s3cret-never-logged";
  std::string url() const {
    return "postgresql://saldo:" + std::string(kPassword) + "@127.0.0.1:" + std::to_string(port_) + "/saldo";
  }

 private:
  CommandResult script(const std::string& verb) {
    return run_command({"/bin/bash", source_dir() + "/scripts/postgres-local.sh", verb}, {},
                       {{"PG_PORT", std::to_string(port_)}, {"PG_DATA_DIR", data_}, {"PG_PASSWORD", kPassword}},
                       120s);
  }
  void check(const std::string& verb) {
    const CommandResult r = script(verb);
    if (r.exit_code != 0) throw std::runtime_error("postgres-local.sh " + verb + " failed: " + r.out + r.err);
  }
  int port_;
  std::string data_;
};

std::int64_t committed(const std::string& url) {
  try {
    return std::stoll(query(url, "SELECT coalesce(sum(next_offset), 0) FROM saldo_offsets").at(0).at(0));
  } catch (const std::exception&) {
    return -1;  // down, or no tables yet
  }
}

std::size_t count_lines(const std::string& log, const std::string& needle) {
  std::istringstream in(log);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) n += line.find(needle) != std::string::npos;
  return n;
}

double sink_lag(const ServiceProcess& svc) {
  return metric(svc.get("/metrics").body, "saldo_postgres_sink_lag_records").value_or(-2);
}

double sink_errors(const ServiceProcess& svc) {
  return metric(svc.get("/metrics").body, "saldo_postgres_sink_errors_total").value_or(-1);
}

TEST(PostgresFaults, KilledAndRestartedUnderTheServiceTheSinkCatchesUpExactly) {
  OwnPostgres pg;
  pg.start();
  const std::string topic = unique_topic("pg-down");
  create_topic(topic, 3);
  RawProducer producer;
  for (int i = 0; i < 2000; ++i) producer.send(topic, std::to_string(i % 700), value_of(std::to_string(i % 700), std::to_string(i) + ".10"));
  producer.flush();

  ServiceProcess svc(bootstrap_servers(), topic, {}, {{"POSTGRES_URL", pg.url()}});
  ASSERT_TRUE(svc.wait_ready()) << svc.log();
  ASSERT_TRUE(wait_until([&] { return committed(pg.url()) == 2000; }, 60s, 50ms)) << svc.log();

  pg.kill();
  for (int i = 2000; i < 5000; ++i) {
    const std::string id = std::to_string(i % 900);
    if (i % 7 == 0) {
      producer.send(topic, id, std::nullopt);
    } else {
      producer.send(topic, id, value_of(id, std::to_string(i) + ".20"));
    }
  }
  producer.send(topic, "new-while-down", value_of("new-while-down", "77.70"));
  producer.flush();
  // The service notices, says so in /ready without becoming unready, and serves what it read meanwhile.
  ASSERT_TRUE(wait_until([&] {
    const HttpReply r = svc.get("/ready");
    return r.status == 200 && r.body.find("\"postgres\":{\"state\":\"down\"") != std::string::npos;
  }, 30s, 50ms)) << svc.get("/ready").body << svc.log();
  EXPECT_TRUE(wait_until([&] { return svc.get("/saldo/new-while-down").status == 200; }, 30s));
  EXPECT_EQ(svc.get("/health").status, 200);
  // The sink's lag counts what the database is missing while it is down (3,001 records written since
  // the kill): it used to stay at its last value, so SaldoPostgresSinkLagging could not fire.
  EXPECT_TRUE(wait_until([&] { return sink_lag(svc) == 3001; }, 30s, 50ms))
      << "saldo_postgres_sink_lag_records " << sink_lag(svc);

  pg.start();
  const std::vector<Record> records = read_all(topic);
  ASSERT_TRUE(wait_until([&] { return committed(pg.url()) == static_cast<std::int64_t>(records.size()); }, 60s, 50ms))
      << svc.log();
  EXPECT_EQ(actual_rows(pg.url()), expected_rows(records));
  for (const auto& row : query(pg.url(), "SELECT \"partition\", next_offset, records FROM saldo_offsets")) {
    EXPECT_EQ(row[1], row[2]) << "partition " << row[0] << " applied a record twice or skipped one";
  }
  EXPECT_TRUE(wait_until([&] { return svc.get("/ready").body.find("\"postgres\":{\"state\":\"running\"") != std::string::npos; }, 10s));
  const std::string log = svc.log();
  EXPECT_NE(log.find("connected again after"), std::string::npos) << log;
  EXPECT_GE(count_lines(log, "retrying with backoff"), 1u) << log;
  EXPECT_EQ(log.find(OwnPostgres::kPassword), std::string::npos) << log;
}

// A role created for one test, dropped after its database.
struct Role {
  Role(const std::string& name, const std::string& password) : name(name) {
    query(postgres_url(), "CREATE ROLE " + name + " LOGIN PASSWORD '" + password + "'");
  }
  ~Role() {
    try {
      query(postgres_url(), "DROP ROLE IF EXISTS " + name);
    } catch (...) {
    }
  }
  std::string name;
};

TEST(PostgresFaults, WrongUrlPasswordDatabaseOrReadOnlyRoleIsOneClearLineAndHttpStillServes) {
  const std::string topic = unique_topic("pg-bad");
  create_topic(topic, 3);
  RawProducer producer;
  producer.send(topic, "1", value_of("1", "150.00"));
  producer.flush();

  const std::string suffix = std::to_string(::getpid());
  const Role writer("saldo_bad_rw_" + suffix, "Right-pass-1");
  const Role reader("saldo_bad_ro_" + suffix, "Ro-pass-never-logged");
  TestDatabase db("pg_bad");
  // The tables exist (as another instance with a writing role would have made them); the read-only
  // role may connect and read them, nothing else.
  query(db.url(), std::string(pg_schema::kCreate));
  query(db.url(), pg_schema::statements_for("saldos").create);
  query(db.url(), "INSERT INTO saldo_tabelas (tabela, topic) VALUES ('saldos', '" + topic + "')");
  query(db.url(), "GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + reader.name);

  struct Case {
    std::string name, url, secret, expected;
  };
  const std::vector<Case> cases = {
      {"no server", "postgresql://saldo:Nobody-listens-pw@127.0.0.1:" + std::to_string(free_port()) + "/saldo",
       "Nobody-listens-pw", "Connection refused"},
      {"wrong password", with_database(postgres_url(), db.name(), writer.name, "Wrong-pass-never-logged"),
       "Wrong-pass-never-logged", "password authentication failed"},
      {"no such database", with_database(postgres_url(), "no_such_database_" + suffix), "", "does not exist"},
      {"read-only role", with_database(postgres_url(), db.name(), reader.name, "Ro-pass-never-logged"),
       "Ro-pass-never-logged", "permission denied"},
  };
  std::vector<std::unique_ptr<ServiceProcess>> services;
  for (const Case& c : cases) {
    services.push_back(std::make_unique<ServiceProcess>(bootstrap_servers(), topic, std::vector<std::string>{},
                                                        EnvVars{{"POSTGRES_URL", c.url}}));
  }
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE(cases[i].name);
    ServiceProcess& svc = *services[i];
    ASSERT_TRUE(svc.wait_ready()) << svc.log();
    EXPECT_EQ(svc.get("/saldo/1").status, 200);
    // Several attempts failed (backoff 0.25, 0.5, 1 s ...), and the log said so once.
    ASSERT_TRUE(wait_until([&] { return sink_errors(svc) >= 3; }, 30s, 50ms)) << svc.log();
    const std::string log = svc.log();
    EXPECT_EQ(count_lines(log, "retrying with backoff"), 1u) << log;
    EXPECT_NE(log.find(cases[i].expected), std::string::npos) << log;
    if (!cases[i].secret.empty()) {
      EXPECT_EQ(log.find(cases[i].secret), std::string::npos) << log;
    }
    const std::string ready = svc.get("/ready").body;
    EXPECT_NE(ready.find("\"postgres\":{\"state\":\"down\""), std::string::npos) << ready;
    EXPECT_NE(ready.find(cases[i].expected), std::string::npos) << ready;
    EXPECT_EQ(svc.get("/health").status, 200);
    // The read-only role read the positions (none) and failed at its first write: one record behind,
    // said while it fails. The others never read a position: unknown (-1), not 0.
    const double want_lag = cases[i].name == "read-only role" ? 1 : -1;
    EXPECT_TRUE(wait_until([&] { return sink_lag(svc) == want_lag; }, 15s, 50ms)) << sink_lag(svc);
  }
  // Nothing was written by anyone.
  EXPECT_EQ(db.query("SELECT count(*) FROM saldos").at(0).at(0), "0");
}

}  // namespace
}  // namespace saldo::test
