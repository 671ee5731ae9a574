// producer and producer_interactive against the real broker, read back with a plain consumer.
#include <filesystem>
#include <fstream>
#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/codec.h"
#include "producer/load_generator.h"
#include "support/kafka_test_support.h"
#include "support/service_process.h"

namespace saldo {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using test::Record;

constexpr int kPartitions = 3;

class ProducerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    bootstrap_ = test::bootstrap_servers();  // throws (fails the test) when unset
    topic_ = test::unique_topic("producer");
    test::create_topic(topic_, kPartitions);
  }

  test::CommandResult producer(std::vector<std::string> args, const std::string& binary = "producer/producer",
                               const std::string& input = {}) {
    std::vector<std::string> argv = {test::binary_path(binary), "--bootstrap-servers", bootstrap_, "--topic", topic_,
                                     "--timeout", "20"};
    argv.insert(argv.end(), args.begin(), args.end());
    return test::run_command(argv, input, {}, std::chrono::seconds(60));
  }

  // Every record is keyed, on the partition the Java client would choose, and (unless a tombstone)
  // a valid update for its key.
  std::vector<Record> read_checked() {
    std::vector<Record> records = test::read_all(topic_);
    for (const Record& r : records) {
      EXPECT_TRUE(r.key.has_value());
      if (!r.key) continue;
      EXPECT_EQ(r.partition, test::murmur2_partition(*r.key, kPartitions)) << *r.key;
      if (r.value) {
        DecodeResult d = decode_update(*r.key, *r.value);
        EXPECT_TRUE(std::holds_alternative<BalanceUpdate>(d)) << *r.value;
      }
    }
    return records;
  }

  static Centavos saldo_of(const Record& r) {
    return std::get<BalanceUpdate>(decode_update(*r.key, *r.value)).saldo;
  }

  std::string bootstrap_;
  std::string topic_;
};

TEST_F(ProducerTest, DefaultRunSendsTheSamples) {
  auto res = producer({});
  ASSERT_EQ(res.exit_code, 0) << res.err;
  EXPECT_THAT(res.out, HasSubstr("delivered 5, failed 0"));
  std::map<std::string, Centavos> got;
  for (const Record& r : read_checked()) got[*r.key] = saldo_of(r);
  EXPECT_EQ(got, (std::map<std::string, Centavos>{{"1", 15000}, {"2", 230050}, {"3", 9999}, {"4", 0}, {"5", -2575}}));
}

TEST_F(ProducerTest, OneUpdateIsExactDecimal) {
  auto res = producer({"--id", "cliente-42", "--saldo", "0.1"});
  ASSERT_EQ(res.exit_code, 0) << res.err;
  auto records = read_checked();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].key, "cliente-42");
  EXPECT_THAT(*records[0].value, HasSubstr("\"saldo\":0.10,"));
}

TEST_F(ProducerTest, DeleteSendsANullValue) {
  ASSERT_EQ(producer({"--id", "7", "--saldo", "10"}).exit_code, 0);
  auto res = producer({"--delete", "7"});
  ASSERT_EQ(res.exit_code, 0) << res.err;
  auto records = read_checked();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].key, "7");
  EXPECT_FALSE(records[1].value.has_value());  // null, not ""
  EXPECT_EQ(records[1].partition, records[0].partition);
}

TEST_F(ProducerTest, FileImportSendsGoodLinesAndNamesBadOnes) {
  auto path = std::filesystem::temp_directory_path() / (topic_ + ".txt");
  std::ofstream(path) << "cliente_id,saldo\n"
                         "1,10.50\n"
                         "bad id,1\n"
                         "2,1.234\n"
                         "{\"cliente_id\":\"3\",\"saldo\":1e2}\n"
                         "{\"cliente_id\":\"4\",\"saldo\":\n"
                         "\n"
                         "5,\"7\",2025-10-14T10:30:45\n";
  auto res = producer({"--file", path.string()});
  std::filesystem::remove(path);
  EXPECT_EQ(res.exit_code, 1) << "bad lines make the run fail";
  EXPECT_THAT(res.err, HasSubstr(":3: invalid cliente_id"));
  EXPECT_THAT(res.err, HasSubstr(":4: invalid saldo"));
  EXPECT_THAT(res.err, HasSubstr(":6: not valid JSON"));
  EXPECT_THAT(res.out, HasSubstr("delivered 3, failed 0, rejected lines 3"));
  std::map<std::string, Record> got;
  for (const Record& r : read_checked()) got[*r.key] = r;
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(saldo_of(got["1"]), 1050);
  EXPECT_EQ(saldo_of(got["3"]), 10000);
  EXPECT_EQ(saldo_of(got["5"]), 700);
  EXPECT_THAT(*got["5"].value, HasSubstr("2025-10-14T10:30:45"));
}

class ProducerPresetTest : public ProducerTest, public ::testing::WithParamInterface<const char*> {};

TEST_P(ProducerPresetTest, LoadIsReproducibleAndInKeyOrder) {
  auto res = producer({"--preset", GetParam(), "--customers", "40", "--updates", "300", "--seed", "9"});
  ASSERT_EQ(res.exit_code, 0) << res.err;
  EXPECT_THAT(res.out, HasSubstr("sent 300, delivered 300, failed 0"));
  // Per key, the topic holds exactly the generator's sequence for that key, in order.
  std::map<std::string, std::vector<Centavos>> expected, got;
  LoadGenerator gen(LoadSpec{40, 300, 9});
  while (!gen.done()) {
    GeneratedUpdate u = gen.next();
    expected[u.cliente_id].push_back(u.saldo);
  }
  for (const Record& r : read_checked()) got[*r.key].push_back(saldo_of(r));
  EXPECT_EQ(got, expected);
}

INSTANTIATE_TEST_SUITE_P(Presets, ProducerPresetTest, ::testing::Values("reliable", "fast", "event-by-event"),
                         [](const auto& info) {
                           std::string n = info.param;
                           return n == "event-by-event" ? std::string("event_by_event") : n;
                         });

TEST_F(ProducerTest, RateAndDurationBoundTheLoad) {
  auto res = producer({"--customers", "10", "--rate", "100", "--duration", "1"});
  ASSERT_EQ(res.exit_code, 0) << res.err;
  auto records = read_checked();
  EXPECT_GE(records.size(), 70u);
  EXPECT_LE(records.size(), 110u);
}

TEST_F(ProducerTest, UnreachableBrokerFailsClearlyInBoundedTime) {
  auto res = test::run_command(
      {test::binary_path("producer/producer"), "--bootstrap-servers", "127.0.0.1:1", "--topic", topic_, "--timeout", "3"},
      {}, {}, std::chrono::seconds(30));
  EXPECT_EQ(res.exit_code, 1);
  EXPECT_THAT(res.err, HasSubstr("cannot reach Kafka at 127.0.0.1:1"));
  EXPECT_LT(res.seconds, 10.0);
}

TEST_F(ProducerTest, MissingTopicFailsClearly) {
  auto res = test::run_command({test::binary_path("producer/producer"), "--bootstrap-servers", bootstrap_, "--topic",
                                topic_ + "-absent", "--timeout", "5"},
                               {}, {}, std::chrono::seconds(30));
  EXPECT_EQ(res.exit_code, 1);
  EXPECT_THAT(res.err, HasSubstr("not available at " + bootstrap_));
}

TEST_F(ProducerTest, BadOptionIsOneLineAndExitTwo) {
  auto res = producer({"--saldo", "1.234", "--id", "1"});
  EXPECT_EQ(res.exit_code, 2);
  EXPECT_THAT(res.err, HasSubstr("producer: --saldo"));
  EXPECT_EQ(std::count(res.err.begin(), res.err.end(), '\n'), 1);
  EXPECT_EQ(producer({"--preset", "turbo"}).exit_code, 2);
  EXPECT_EQ(producer({"--delete", "1", "--file", "x"}).exit_code, 2);
}

TEST_F(ProducerTest, InteractiveThroughAPipe) {
  auto res = producer({}, "producer/producer_interactive",
                      "11\n150\n"              // id, then balance
                      "bad id\n"               // rejected ('id' is no balance), the prompt goes on
                      "12 1.234\n"             // rejected: 3 decimals
                      "12\n1.234\n12,50\n"     // a bad balance is asked again; a lone comma is the decimal point
                      "!!\n"                   // rejected id
                      "15\nhelp\n\n"           // commands work at "saldo>", an empty line goes back: 15 not sent
                      "16\ndel 11\n"            // del at "saldo>" deletes, and 16 is not sent
                      "17\nquit\n"             // quit at "saldo>" leaves
                      "13 99\n");              // after quit: never sent
  ASSERT_EQ(res.exit_code, 0) << res.err;
  EXPECT_THAT(res.err, HasSubstr("invalid saldo '1.234'"));
  EXPECT_THAT(res.err, HasSubstr("invalid saldo 'id'"));
  EXPECT_THAT(res.err, HasSubstr("invalid cliente_id '!!'"));
  EXPECT_THAT(res.err, Not(HasSubstr("'help'")));
  EXPECT_THAT(res.err, Not(HasSubstr("'quit'")));
  EXPECT_THAT(res.out, HasSubstr("del <id>"));

  auto records = read_checked();
  ASSERT_EQ(records.size(), 3u);
  std::map<std::string, std::vector<std::optional<std::string>>> by_key;
  for (const Record& r : records) {
    by_key[*r.key].push_back(r.value);
    // What the prompt printed is where the broker put it.
    std::string where = "partition " + std::to_string(r.partition) + ", offset " + std::to_string(r.offset);
    EXPECT_THAT(res.out, HasSubstr("cliente_id=" + *r.key + (r.value ? " saldo=" : " -> ")));
    EXPECT_THAT(res.out, HasSubstr(where));
  }
  ASSERT_EQ(by_key["11"].size(), 2u);
  EXPECT_THAT(*by_key["11"][0], HasSubstr("\"saldo\":150.00"));
  EXPECT_FALSE(by_key["11"][1].has_value());
  ASSERT_EQ(by_key["12"].size(), 1u);
  EXPECT_THAT(*by_key["12"][0], HasSubstr("\"saldo\":12.50"));
  for (const char* never : {"13", "15", "16", "17"}) EXPECT_EQ(by_key.count(never), 0u) << never;
}

TEST_F(ProducerTest, InteractiveEndOfInputFlushesAndExits) {
  auto res = producer({}, "producer/producer_interactive", "21 5\n22\n");  // EOF while asking a balance
  ASSERT_EQ(res.exit_code, 0) << res.err;
  auto records = read_checked();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].key, "21");
}

TEST_F(ProducerTest, InteractiveUnreachableBroker) {
  auto res = test::run_command({test::binary_path("producer/producer_interactive"), "--bootstrap-servers",
                                "127.0.0.1:1", "--topic", topic_, "--timeout", "3"},
                               "1 1\n", {}, std::chrono::seconds(30));
  EXPECT_EQ(res.exit_code, 1);
  EXPECT_THAT(res.err, HasSubstr("cannot reach Kafka at 127.0.0.1:1"));
}

}  // namespace
}  // namespace saldo
