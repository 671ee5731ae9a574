// The PostgreSQL sink against a real broker and a real PostgreSQL: consumer_service runs as users run
// it (POSTGRES_URL in its environment), the test writes the topic with plain librdkafka and reads the
// tables with plain libpq, and computes what saldos must hold from the topic's records.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <map>
#include <random>
#include <string>
#include <thread>

#include "tests/support/kafka_test_support.h"
#include "tests/support/postgres_test_support.h"
#include "tests/support/service_process.h"

namespace saldo::test {
namespace {

using namespace std::chrono_literals;

std::string value_of(const std::string& id, const std::string& saldo, const std::string& ts = "2025-10-14T10:30:45") {
  return R"({"cliente_id":")" + id + R"(","saldo":)" + saldo + R"(,"timestamp":")" + ts + R"("})";
}

std::int64_t committed_records(const TestDatabase& db) {
  try {
    const Rows rows = db.query("SELECT coalesce(sum(next_offset), 0) FROM saldo_offsets");
    return std::stoll(rows.at(0).at(0));
  } catch (const PgError&) {
    return 0;  // the sink has not created its tables yet
  }
}

// Waits until the sink's committed positions cover every record of the topic.
bool wait_caught_up(const TestDatabase& db, std::int64_t records, std::chrono::milliseconds timeout = 60s) {
  return wait_until([&] { return committed_records(db) >= records; }, timeout, 50ms);
}

// Per partition, records counted by the sink's transactions equal the offsets they moved over: no
// batch was applied twice (and none skipped), across any crash.
void expect_each_record_applied_once(const TestDatabase& db, const std::string& topic) {
  const Rows rows = db.query("SELECT \"partition\", next_offset, records FROM saldo_offsets WHERE topic = '" + topic +
                             "' ORDER BY 1");
  ASSERT_FALSE(rows.empty());
  for (const auto& r : rows) EXPECT_EQ(r[1], r[2]) << "partition " << r[0];
}

// A random stream of sets (some to an explicit other partition, as a second producer with another
// partitioner would), deletes and poison records, with amounts at the edges of numeric(20,2).
void churn(RawProducer& producer, const std::string& topic, std::mt19937& rng, int n, int customers) {
  static const char* const amounts[] = {"0.00", "-0.01", "0.07", "150.5", "2300.50", "1234567.89",
                                        "9999999999999.99", "-9999999999999.99", "42", "1e2"};
  std::uniform_int_distribution<int> pick(0, 99), customer(1, customers), amount(0, 9), partition(0, 2);
  for (int i = 0; i < n; ++i) {
    const std::string id = "c" + std::to_string(customer(rng));
    const int k = pick(rng);
    const std::string ts = "2025-10-14T10:30:" + std::to_string(10 + i % 50);
    if (k < 60) {
      producer.send(topic, id, value_of(id, amounts[amount(rng)], ts));
    } else if (k < 72) {
      producer.send(topic, id, value_of(id, std::to_string(i) + ".25", ts), partition(rng));
    } else if (k < 87) {
      producer.send(topic, id, std::nullopt);
    } else if (k < 92) {
      producer.send(topic, id, value_of(id, "1.001"));  // a third decimal: poison for a live key
    } else if (k < 96) {
      producer.send(topic, "poison" + std::to_string(i), "{not json");
    } else {
      producer.send(topic, "poison" + std::to_string(i), value_of("someone-else", "1.00"));
    }
  }
  producer.flush();
}

TEST(PostgresSink, AfterChurnEveryRowIsTheTopicsLastValidRecordAndDeletedCustomersHaveNone) {
  const std::string topic = unique_topic("pg-churn");
  create_topic(topic, 3);
  TestDatabase db("pg_churn");
  RawProducer producer;
  std::mt19937 rng(13);
  churn(producer, topic, rng, 3000, 300);  // replayed from the beginning

  ServiceProcess svc(bootstrap_servers(), topic, {}, {{"POSTGRES_URL", db.url()}});
  ASSERT_TRUE(svc.wait_ready()) << svc.log();
  churn(producer, topic, rng, 3000, 300);  // tailed

  const std::vector<Record> records = read_all(topic);
  ASSERT_TRUE(wait_caught_up(db, static_cast<std::int64_t>(records.size()))) << svc.log();
  const auto expected = expected_rows(records);
  ASSERT_GT(expected.size(), 50u);
  EXPECT_EQ(actual_rows(db.url()), expected);
  expect_each_record_applied_once(db, topic);

  // Deleted customers have no row; poison keys never reached PostgreSQL.
  std::size_t deleted = 0;
  for (const auto& row : db.query("SELECT cliente_id FROM saldos_excluidos")) {
    EXPECT_EQ(expected.count(row[0]), 0u) << row[0];
    ++deleted;
  }
  EXPECT_GT(deleted, 0u);
  EXPECT_EQ(db.query("SELECT count(*) FROM saldos WHERE cliente_id LIKE 'poison%'").at(0).at(0), "0");
  // Amounts are exact: numeric, never float.
  EXPECT_EQ(db.query("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'saldos'::regclass "
                     "AND attname = 'saldo'").at(0).at(0),
            "numeric(20,2)");
  const std::string ready = svc.get("/ready").body;
  EXPECT_NE(ready.find("\"postgres\":{\"state\":\"running\""), std::string::npos) << ready;
}

TEST(PostgresSink, CrossPartitionADeleteBeatsAnOlderValueReadLaterAndALaterValueWins) {
  const std::string topic = unique_topic("pg-cross");
  create_topic(topic, 3);
  TestDatabase db("pg_cross");
  RawProducer producer;
  // Customer x: a value on partition 2, then (later) its delete on partition 0. Customer y: a delete
  // on partition 1, then a later value on partition 0. Customer z: two values, the later on the lower
  // partition. The sink reads partitions in whatever order; only timestamps may decide.
  producer.send(topic, "x", value_of("x", "10.00"), 2);
  producer.flush();
  producer.send(topic, "y", std::nullopt, 1);
  producer.send(topic, "z", value_of("z", "1.00"), 2);
  producer.flush();
  // Distinct record timestamps (ms) are what this test is about: the next records are stamped later.
  const auto flushed = std::chrono::system_clock::now();
  ASSERT_TRUE(wait_until([&] { return std::chrono::system_clock::now() - flushed > 2ms; }, 1s, 1ms));
  producer.send(topic, "x", std::nullopt, 0);
  producer.send(topic, "y", value_of("y", "20.00"), 0);
  producer.send(topic, "z", value_of("z", "2.00"), 0);
  producer.flush();

  ServiceProcess svc(bootstrap_servers(), topic, {}, {{"POSTGRES_URL", db.url()}});
  const std::vector<Record> records = read_all(topic);
  ASSERT_TRUE(wait_caught_up(db, static_cast<std::int64_t>(records.size()))) << svc.log();
  const auto rows = actual_rows(db.url());
  EXPECT_EQ(rows, expected_rows(records));
  EXPECT_EQ(rows.count("x"), 0u);
  ASSERT_EQ(rows.count("y"), 1u);
  EXPECT_EQ(rows.at("y").substr(0, 5), "20.00");
  ASSERT_EQ(rows.count("z"), 1u);
  EXPECT_EQ(rows.at("z").substr(0, 4), "2.00");
}

TEST(PostgresSink, AProducerClockGoingBackOrdersRecordsAsTheTableDoesAcrossARestart) {
  // Record timestamps are the producers' here (CreateTime). Partition 0 has a record stamped t+5 s;
  // partition 1 has x=30.00 stamped t+3 s. After a restart, partition 0 gets x=50.00 stamped t+2 s
  // (that producer's clock went back). By the table's rule partition 0's ordering time is already
  // t+5 s, so 50.00 is current: the sink must remember that time across the restart.
  const std::string topic = unique_topic("pg-clock");
  create_topic(topic, 2, {{"message.timestamp.type", "CreateTime"}});
  TestDatabase db("pg_clock");
  const std::int64_t t = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count() -
                         60000;
  RawProducer producer;
  producer.send(topic, "other", value_of("other", "1.00"), 0, t + 5000);
  producer.send(topic, "x", value_of("x", "30.00"), 1, t + 3000);
  producer.flush();
  {
    ServiceProcess svc(bootstrap_servers(), topic, {}, {{"POSTGRES_URL", db.url()}});
    ASSERT_TRUE(wait_caught_up(db, 2)) << svc.log();
    ASSERT_EQ(svc.stop(SIGTERM, 10s), 0) << svc.log();
  }
  EXPECT_EQ(db.query("SELECT order_ms FROM saldo_offsets WHERE \"partition\" = 0").at(0).at(0),
            std::to_string(t + 5000));
  producer.send(topic, "x", value_of("x", "50.00"), 0, t + 2000);
  producer.flush();

  ServiceProcess svc(bootstrap_servers(), topic, {}, {{"POSTGRES_URL", db.url()}});
  ASSERT_TRUE(wait_caught_up(db, 3)) << svc.log();
  const std::vector<Record> records = read_all(topic);
  ASSERT_EQ(records.size(), 3u);
  const auto rows = actual_rows(db.url());
  EXPECT_EQ(rows, expected_rows(records));
  ASSERT_EQ(rows.count("x"), 1u);
  EXPECT_EQ(rows.at("x").substr(0, 6), "50.00|");
  // The in-memory table, rebuilt from offset 0 by the same service, says the same.
  ASSERT_TRUE(svc.wait_ready()) << svc.log();
  const HttpReply reply = svc.get("/saldo/x");
  EXPECT_EQ(reply.status, 200);
  EXPECT_NE(reply.body.find("\"saldo\":50.00"), std::string::npos) << reply.body;
}

// The sink wrote `old_records` records of a topic, stopped; the topic was deleted and created again
// with `new_records` others; a start must write the new topic afresh, with nothing of the old one,
// and say why (`reason`, in the log) and count it (/ready's topic_resets).
void expect_recreated_topic_written_afresh(const std::string& name, int old_records, int new_records,
                                           const std::string& reason) {
  const std::string topic = unique_topic("pg-" + name);
  create_topic(topic, 2);
  TestDatabase db("pg_" + name);
  {
    RawProducer producer;
    const int customers = std::max(1, old_records * 3 / 4);
    for (int i = 0; i < old_records; ++i) {
      producer.send(topic, numbered("a", i % customers), value_of(numbered("a", i % customers), "1.00"));
    }
    producer.flush();
    ServiceProcess svc(bootstrap_servers(), topic, {}, {{"POSTGRES_URL", db.url()}});
    ASSERT_TRUE(wait_caught_up(db, old_records)) << svc.log();
    ASSERT_EQ(svc.stop(SIGTERM, 10s), 0) << svc.log();
  }
  delete_topic(topic);
  create_topic(topic, 2);
  RawProducer producer;
  for (int i = 0; i < new_records; ++i) producer.send(topic, numbered("b", i), value_of(numbered("b", i), "2.00"));
  producer.flush();

  ServiceProcess svc(bootstrap_servers(), topic, {}, {{"POSTGRES_URL", db.url()}});
  const std::vector<Record> records = read_all(topic);
  ASSERT_EQ(records.size(), static_cast<std::size_t>(new_records));
  const auto expected = expected_rows(records);
  EXPECT_TRUE(wait_until([&] { return actual_rows(db.url()) == expected && committed_records(db) == new_records; },
                         60s, 50ms))
      << svc.log();
  EXPECT_EQ(db.query("SELECT count(*) FROM saldos WHERE cliente_id LIKE 'a%'").at(0).at(0), "0");
  expect_each_record_applied_once(db, topic);
  EXPECT_NE(svc.log().find(reason), std::string::npos) << svc.log();
  EXPECT_NE(svc.get("/ready").body.find("\"topic_resets\":1"), std::string::npos) << svc.get("/ready").body;
}

// The same name, fewer records: every partition now ends below what the sink committed.
TEST(PostgresSink, ATopicRecreatedWhileTheServiceWasDownIsWrittenAfreshWithNothingOfTheOldOne) {
  expect_recreated_topic_written_afresh("recreated", 40, 6, "emptying saldos");
}

// Issue 25: recreated with MORE records than the sink committed, every stored offset still fits the
// new topic; only the record read last in each partition (saldo_offsets' fingerprint) tells them apart.
TEST(PostgresSink, ATopicRecreatedWithMoreRecordsWhileDownIsNotTakenForTheOldOne) {
  expect_recreated_topic_written_afresh("recreated_more", 400, 1500, "topic_changed");
}

// Issue 25: the sink's table dropped behind its back (and its schema row with it) is created again and
// the topic written again from its beginning, never resumed from saldo_offsets into an empty table.
TEST(PostgresSink, ATableDroppedBehindTheSinksBackIsRepairedFromTheTopicsBeginning) {
  const std::string topic = unique_topic("pg-dropped");
  create_topic(topic, 2);
  TestDatabase db("pg_dropped");
  RawProducer producer;
  for (int i = 0; i < 300; ++i) producer.send(topic, numbered("d", i), value_of(numbered("d", i), "3.00"));
  producer.flush();
  {
    ServiceProcess svc(bootstrap_servers(), topic, {}, {{"POSTGRES_URL", db.url()}});
    ASSERT_TRUE(wait_caught_up(db, 300)) << svc.log();
    ASSERT_EQ(svc.stop(SIGTERM, 10s), 0) << svc.log();
  }
  db.query("DROP TABLE saldos; DROP TABLE saldo_schema");
  ServiceProcess svc(bootstrap_servers(), topic, {}, {{"POSTGRES_URL", db.url()}});
  const auto expected = expected_rows(read_all(topic));
  ASSERT_EQ(expected.size(), 300u);
  EXPECT_TRUE(wait_until([&] {
    try {
      return actual_rows(db.url()) == expected;
    } catch (const PgError&) {
      return false;  // not created again yet
    }
  }, 60s, 50ms)) << svc.log();
  expect_each_record_applied_once(db, topic);
  EXPECT_NE(svc.log().find("created again"), std::string::npos) << svc.log();
}

// Two services, two topics, one database: each topic has its own table set, so the same customer
// ids never mix, and recreating one topic while both run empties only that topic's rows.
TEST(PostgresSink, TwoTopicsInOneDatabaseKeepTheirOwnRowsWhenOneIsRecreatedWhileBothRun) {
  const std::string topic_a = unique_topic("pg-two-a"), topic_b = unique_topic("pg-two-b");
  create_topic(topic_a, 2);
  create_topic(topic_b, 3);
  TestDatabase db("pg_two");
  {
    RawProducer producer;
    std::mt19937 rng(21);
    // The same ids in both topics, other amounts: a row of one in the other's table shows.
    for (int i = 0; i < 60; ++i) producer.send(topic_a, numbered("c", i % 30), value_of(numbered("c", i % 30), "1.00"));
    churn(producer, topic_b, rng, 600, 30);
  }
  ServiceProcess a(bootstrap_servers(), topic_a, {}, {{"POSTGRES_URL", db.url()}, {"POSTGRES_TABLE", "saldos_a"}});
  ServiceProcess b(bootstrap_servers(), topic_b, {}, {{"POSTGRES_URL", db.url()}, {"POSTGRES_TABLE", "saldos_b"}});
  const auto expected_b = expected_rows(read_all(topic_b));
  ASSERT_GT(expected_b.size(), 10u);
  const auto expected_a_before = expected_rows(read_all(topic_a));
  ASSERT_EQ(expected_a_before.size(), 30u);
  ASSERT_TRUE(wait_until([&] {
    try {
      return actual_rows(db.url(), "saldos_a") == expected_a_before && actual_rows(db.url(), "saldos_b") == expected_b;
    } catch (const PgError&) {
      return false;  // a table not created yet
    }
  }, 60s, 50ms)) << a.log() << b.log();

  // Recreated under the running services, with other records under some of the same ids.
  delete_topic(topic_a);
  create_topic(topic_a, 2);
  {
    RawProducer producer;
    for (int i = 0; i < 8; ++i) producer.send(topic_a, numbered("c", i), value_of(numbered("c", i), "3.00"));
    producer.send(topic_a, "n1", value_of("n1", "4.00"));
    producer.flush();
  }
  const auto expected_a = expected_rows(read_all(topic_a));
  ASSERT_EQ(expected_a.size(), 9u);
  EXPECT_TRUE(wait_until([&] { return actual_rows(db.url(), "saldos_a") == expected_a; }, 60s, 50ms))
      << a.log();
  EXPECT_EQ(actual_rows(db.url(), "saldos_b"), expected_b);
  EXPECT_EQ(db.query("SELECT to_regclass('saldos') IS NULL").at(0).at(0), "t") << "no table of the default name";
  EXPECT_NE(a.log().find("emptying saldos_a"), std::string::npos) << a.log();
  EXPECT_EQ(b.log().find("emptying"), std::string::npos) << b.log();
  expect_each_record_applied_once(db, topic_b);
  expect_each_record_applied_once(db, topic_a);
  EXPECT_EQ(db.query("SELECT tabela, topic FROM saldo_tabelas ORDER BY 1"),
            (Rows{{"saldos_a", topic_a}, {"saldos_b", topic_b}}));

  // A third service given a table that holds another topic is refused with one line, and writes nothing.
  const std::string topic_c = unique_topic("pg-two-c");
  create_topic(topic_c, 1);
  ServiceProcess c(bootstrap_servers(), topic_c, {}, {{"POSTGRES_URL", db.url()}, {"POSTGRES_TABLE", "saldos_b"}});
  const std::string refusal = "PostgreSQL table 'saldos_b' holds topic '" + topic_b + "', not '" + topic_c + "'";
  EXPECT_TRUE(wait_until([&] { return c.log().find(refusal) != std::string::npos; }, 30s, 50ms)) << c.log();
  std::size_t refusals = 0;
  for (std::size_t at = c.log().find(refusal); at != std::string::npos; at = c.log().find(refusal, at + 1)) ++refusals;
  EXPECT_EQ(refusals, 1u) << c.log();
  EXPECT_NE(c.get("/ready").body.find("\"postgres\":{\"state\":\"down\""), std::string::npos) << c.get("/ready").body;
  EXPECT_EQ(actual_rows(db.url(), "saldos_b"), expected_b);
}

// A database of schema version 1 (one saldos for every topic) moves to version 2: its saldos belongs
// to the one topic of its positions and the sink goes on from them; another topic may not take it.
TEST(PostgresSink, AVersion1DatabaseKeepsItsRowsForTheTopicOfItsPositionsAndRefusesAnotherTopic) {
  const std::string topic = unique_topic("pg-v1");
  create_topic(topic, 1);
  TestDatabase db("pg_v1");
  RawProducer producer;
  for (int i = 0; i < 5; ++i) producer.send(topic, numbered("c", i), value_of(numbered("c", i), "1.00"));
  producer.flush();
  // What a version 1 sink left after reading those five records.
  db.query(R"SQL(
CREATE TABLE saldos (cliente_id text PRIMARY KEY, saldo numeric(20,2) NOT NULL, atualizado_em text NOT NULL,
  particao int NOT NULL, "offset" bigint NOT NULL, order_ms bigint NOT NULL);
CREATE TABLE saldos_excluidos (cliente_id text PRIMARY KEY, particao int NOT NULL, "offset" bigint NOT NULL,
  order_ms bigint NOT NULL);
CREATE TABLE saldo_offsets (topic text NOT NULL, "partition" int NOT NULL, next_offset bigint NOT NULL,
  records bigint NOT NULL, order_ms bigint, atualizado_em timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (topic, "partition"));
CREATE TABLE saldo_schema (version int NOT NULL);
INSERT INTO saldo_schema VALUES (1))SQL");
  const std::vector<Record> first = read_all(topic);
  ASSERT_EQ(first.size(), 5u);
  for (const auto& [id, row] : expected_rows(first)) {
    // "saldo|timestamp|partition|offset"
    const auto cut = [&row](int field) {
      std::size_t from = 0;
      for (int i = 0; i < field; ++i) from = row.find('|', from) + 1;
      return row.substr(from, row.find('|', from) - from);
    };
    db.query("INSERT INTO saldos VALUES ('" + id + "', " + cut(0) + ", '" + cut(1) + "', " + cut(2) + ", " + cut(3) +
             ", 0)");
  }
  db.query("INSERT INTO saldo_offsets (topic, \"partition\", next_offset, records, order_ms) VALUES ('" + topic +
           "', 0, 5, 5, 0)");

  ServiceProcess svc(bootstrap_servers(), topic, {}, {{"POSTGRES_URL", db.url()}});
  for (int i = 5; i < 7; ++i) producer.send(topic, numbered("c", i), value_of(numbered("c", i), "2.00"));
  producer.flush();
  const auto expected = expected_rows(read_all(topic));
  ASSERT_EQ(expected.size(), 7u);
  EXPECT_TRUE(wait_until([&] { return actual_rows(db.url()) == expected; }, 60s, 50ms)) << svc.log();
  expect_each_record_applied_once(db, topic);  // went on from offset 5: the first five were not read again
  EXPECT_EQ(db.query("SELECT version FROM saldo_schema"), (Rows{{"2"}}));
  EXPECT_EQ(db.query("SELECT tabela, topic FROM saldo_tabelas"), (Rows{{"saldos", topic}}));

  const std::string other = unique_topic("pg-v1-other");
  create_topic(other, 1);
  ServiceProcess intruder(bootstrap_servers(), other, {}, {{"POSTGRES_URL", db.url()}});
  const std::string refusal = "PostgreSQL table 'saldos' holds topic '" + topic + "', not '" + other + "'";
  EXPECT_TRUE(wait_until([&] { return intruder.log().find(refusal) != std::string::npos; }, 30s, 50ms))
      << intruder.log();
  EXPECT_EQ(actual_rows(db.url()), expected);
}

TEST(PostgresSink, PartitionsAddedWhileRunningAreWrittenFromTheirStart) {
  const std::string topic = unique_topic("pg-grown");
  create_topic(topic, 2);
  TestDatabase db("pg_grown");
  {
    RawProducer producer;
    for (int i = 0; i < 20; ++i) producer.send(topic, numbered("c", i), value_of(numbered("c", i), "1.00"));
    producer.flush();
  }
  ServiceProcess svc(bootstrap_servers(), topic, {}, {{"POSTGRES_URL", db.url()}});
  ASSERT_TRUE(wait_caught_up(db, 20)) << svc.log();

  add_partitions(topic, 4);
  RawProducer producer;  // a new client: its metadata has the new partitions
  for (int i = 0; i < 10; ++i) {
    producer.send(topic, numbered("d", i), value_of(numbered("d", i), "3.00"), 2 + i % 2);
  }
  producer.flush();
  const std::vector<Record> records = read_all(topic);
  ASSERT_EQ(records.size(), 30u);
  const auto expected = expected_rows(records);
  // Found within the sink's 5 s metadata check, then read.
  EXPECT_TRUE(wait_until([&] { return actual_rows(db.url()) == expected; }, 30s, 50ms)) << svc.log();
  expect_each_record_applied_once(db, topic);
  EXPECT_EQ(db.query("SELECT count(*) FROM saldo_offsets WHERE \"partition\" >= 2").at(0).at(0), "2");
}

TEST(PostgresSink, KillNineMidStreamThenRestartLeavesTheTableExactWithNoRecordAppliedTwice) {
  const std::string topic = unique_topic("pg-kill");
  create_topic(topic, 3);
  TestDatabase db("pg_kill");
  constexpr int kRecords = 60000;
  constexpr int kChunk = 2000;
  std::atomic<bool> killed{false};
  std::atomic<int> sent{0};
  // The stream runs alongside the sink: each chunk waits until the sink has committed all but the
  // last two chunks, so the kill below lands in the middle of it. After the kill the rest follows.
  std::thread writer([&] {
    RawProducer producer;
    for (int i = 0; i < kRecords; ++i) {
      const std::string id = std::to_string(i % 5000);
      if (i % 11 == 0) {
        producer.send(topic, id, std::nullopt);
      } else {
        producer.send(topic, id, value_of(id, std::to_string(i) + ".01"));
      }
      if (i % kChunk == kChunk - 1) {
        producer.flush();
        sent = i + 1;
        wait_until([&] { return killed || committed_records(db) >= sent - 2 * kChunk; }, 60s, 5ms);
      }
    }
    producer.flush();
    sent = kRecords;
  });
  {
    ServiceProcess svc(bootstrap_servers(), topic, {}, {{"POSTGRES_URL", db.url()}});
    const bool mid = wait_until([&] { return committed_records(db) > 10000; }, 60s, 5ms);
    const int sent_at_kill = sent.load();
    svc.stop(SIGKILL, 5s);
    killed = true;
    ASSERT_TRUE(mid) << svc.log();
    EXPECT_LT(sent_at_kill, kRecords) << "the stream ended before the kill";
  }
  writer.join();
  const std::int64_t before_restart = committed_records(db);
  EXPECT_LT(before_restart, kRecords);

  ServiceProcess again(bootstrap_servers(), topic, {}, {{"POSTGRES_URL", db.url()}});
  const std::vector<Record> records = read_all(topic);
  ASSERT_TRUE(wait_caught_up(db, static_cast<std::int64_t>(records.size()))) << again.log();
  EXPECT_EQ(actual_rows(db.url()), expected_rows(records));
  expect_each_record_applied_once(db, topic);
  EXPECT_EQ(committed_records(db), kRecords);
  // The restart resumed from saldo_offsets instead of rewriting everything from offset 0.
  EXPECT_NE(again.log().find("from partition:offset"), std::string::npos);
  EXPECT_EQ(again.log().find("0:beginning 1:beginning 2:beginning"), std::string::npos) << again.log();
}

// The first load into empty tables copies each customer's first row straight in (postgres_first_load.h):
// across several batches, with keys updated many times within a batch and across batches, values sent
// to other partitions, deletes and poison, the table must still be exactly the topic's map.
TEST(PostgresSink, TheFirstLoadIntoEmptyTablesEqualsTheTopicsMapAcrossBatches) {
  const std::string topic = unique_topic("pg-first");
  create_topic(topic, 3);
  TestDatabase db("pg_first");
  RawProducer producer;
  std::mt19937 rng(23);
  churn(producer, topic, rng, 80000, 4000);  // 20 records a key; at most 20,000 records a batch

  ServiceProcess svc(bootstrap_servers(), topic, {}, {{"POSTGRES_URL", db.url()}});
  const std::vector<Record> records = read_all(topic);
  ASSERT_TRUE(wait_caught_up(db, static_cast<std::int64_t>(records.size()))) << svc.log();
  const auto expected = expected_rows(records);
  ASSERT_GT(expected.size(), 1000u);
  EXPECT_EQ(actual_rows(db.url()), expected);
  expect_each_record_applied_once(db, topic);
  EXPECT_GT(std::stoll(db.query("SELECT count(*) FROM saldos_excluidos").at(0).at(0)), 100);
  EXPECT_NE(svc.log().find("saldos is empty: first load"), std::string::npos) << svc.log();
  EXPECT_TRUE(wait_until([&] { return svc.log().find("first load done") != std::string::npos; }, 10s, 20ms))
      << svc.log();
  const std::string metrics = svc.get("/metrics").body;
  const std::string name = "\nsaldo_postgres_sink_transactions_total ";
  const auto at = metrics.find(name);
  ASSERT_NE(at, std::string::npos) << metrics;
  EXPECT_GT(std::stoll(metrics.substr(at + name.size())), 1) << "one batch: nothing crossed a batch";

  // The tail after the load compares as before.
  churn(producer, topic, rng, 3000, 4000);
  const std::vector<Record> all = read_all(topic);
  ASSERT_TRUE(wait_caught_up(db, static_cast<std::int64_t>(all.size()))) << svc.log();
  EXPECT_EQ(actual_rows(db.url()), expected_rows(all));
  expect_each_record_applied_once(db, topic);
}

// A kill -9 in the middle of the first load: what was committed stays with its positions, and the
// restart (tables no longer empty) goes on through the upserts to the exact map.
TEST(PostgresSink, KillNineInTheMiddleOfTheFirstLoadThenRestartLeavesTheTableExact) {
  const std::string topic = unique_topic("pg-first-kill");
  create_topic(topic, 3);
  TestDatabase db("pg_first_kill");
  RawProducer producer;
  std::mt19937 rng(29);
  churn(producer, topic, rng, 300000, 30000);
  const std::vector<Record> records = read_all(topic);
  const auto total = static_cast<std::int64_t>(records.size());
  std::int64_t at_kill = 0;
  {
    ServiceProcess svc(bootstrap_servers(), topic, {}, {{"POSTGRES_URL", db.url()}});
    ASSERT_TRUE(wait_until([&] { return committed_records(db) > 0; }, 60s, 2ms)) << svc.log();
    svc.stop(SIGKILL, 5s);
    at_kill = committed_records(db);
    EXPECT_NE(svc.log().find("saldos is empty: first load"), std::string::npos) << svc.log();
  }
  ASSERT_LT(at_kill, total) << "the load ended before the kill";

  ServiceProcess again(bootstrap_servers(), topic, {}, {{"POSTGRES_URL", db.url()}});
  ASSERT_TRUE(wait_caught_up(db, total)) << again.log();
  EXPECT_EQ(actual_rows(db.url()), expected_rows(records));
  expect_each_record_applied_once(db, topic);
  EXPECT_EQ(again.log().find("first load"), std::string::npos) << again.log();
}

TEST(PostgresSink, ASecondInstanceOnTheSameDatabaseStandsByAndTakesOverWhenTheFirstStops) {
  const std::string topic = unique_topic("pg-standby");
  create_topic(topic, 3);
  TestDatabase db("pg_standby");
  RawProducer producer;
  for (int i = 0; i < 500; ++i) producer.send(topic, std::to_string(i), value_of(std::to_string(i), "1.00"));
  producer.flush();
  auto first = std::make_unique<ServiceProcess>(bootstrap_servers(), topic, std::vector<std::string>{},
                                                EnvVars{{"POSTGRES_URL", db.url()}});
  ASSERT_TRUE(wait_caught_up(db, 500)) << first->log();
  ServiceProcess second(bootstrap_servers(), topic, {}, {{"POSTGRES_URL", db.url()}});
  ASSERT_TRUE(wait_until([&] { return second.get("/ready").body.find("\"state\":\"standby\"") != std::string::npos; },
                         30s)) << second.get("/ready").body << second.log();
  first->stop(SIGTERM, 10s);
  first.reset();
  for (int i = 0; i < 500; ++i) producer.send(topic, std::to_string(i), value_of(std::to_string(i), "2.00"));
  producer.flush();
  ASSERT_TRUE(wait_caught_up(db, 1000)) << second.log();
  const std::vector<Record> records = read_all(topic);
  EXPECT_EQ(actual_rows(db.url()), expected_rows(records));
  expect_each_record_applied_once(db, topic);
}

TEST(ProducerFromPostgres, SendsOneUpdatePerValidRowAndReportsBadRowsByNumber) {
  const std::string topic = unique_topic("pg-producer");
  create_topic(topic, 3);
  TestDatabase db("pg_producer");
  db.query("CREATE TABLE clientes (cliente_id text, saldo numeric, criado timestamp)");
  db.query("INSERT INTO clientes VALUES ('a1', 10.50, '2025-01-02 03:04:05'), ('a2', -0.07, NULL), "
           "('a3', 9999999999999.99, NULL), ('bad id', 1, NULL), ('a4', 1.005, NULL), ('a5', NULL, NULL)");
  const CommandResult r = run_command({binary_path("producer/producer"), "-b", bootstrap_servers(), "-t", topic,
                                       "--from-postgres", db.url(), "--query",
                                       "SELECT cliente_id, saldo, criado FROM clientes ORDER BY cliente_id"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;  // rejected rows make the exit status 1, as with --file
  EXPECT_NE(r.out.find("sent 3, delivered 3, failed 0, rejected rows 3"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.err.find("invalid cliente_id 'bad id'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("saldo is NULL"), std::string::npos) << r.err;
  std::map<std::string, std::string> sent;
  for (const Record& rec : read_all(topic)) sent[*rec.key] = *rec.value;
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent["a1"], R"({"cliente_id":"a1","saldo":10.50,"timestamp":"2025-01-02 03:04:05"})");
  EXPECT_NE(sent["a2"].find(R"("saldo":-0.07,)"), std::string::npos) << sent["a2"];
  EXPECT_NE(sent["a3"].find(R"("saldo":9999999999999.99,)"), std::string::npos) << sent["a3"];

  const CommandResult wrong = run_command({binary_path("producer/producer"), "-b", bootstrap_servers(), "-t", topic,
                                           "--from-postgres", with_database(db.url(), "no_such_db_here"),
                                           "--query", "SELECT 1, 2"});
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.err.find("does not exist"), std::string::npos) << wrong.err;
}

}  // namespace
}  // namespace saldo::test
