#include "consumer_service/app/configuration.h"
#include "consumer_service/app/service_options.h"

#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace saldo {
namespace {

using ::testing::HasSubstr;

class ServiceConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Only the command line of each test: no NAME from the environment, no ./.env.
    ConfigLoader loader("consumer_service", kServiceUsage);
    add_service_options(loader);
    for (const OptionSpec& s : loader.specs()) {
      if (!s.env.empty()) ::unsetenv(std::string(s.env).c_str());
    }
    ::setenv("ENV_FILE", "/dev/null", 1);
  }
  void TearDown() override { ::unsetenv("ENV_FILE"); }

  static ServiceConfig config(std::vector<const char*> args) {
    ConfigLoader loader("consumer_service", kServiceUsage);
    add_service_options(loader);
    loader.defer_print_config();
    args.insert(args.begin(), "consumer_service");
    const auto vm = loader.parse(static_cast<int>(args.size()), args.data());
    if (!vm) throw std::logic_error("parse answered on stdout");
    return service_config(*vm);
  }

  static std::string error_of(std::vector<const char*> args) {
    try {
      config(std::move(args));
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "(accepted)";
  }
};

TEST_F(ServiceConfigTest, TheTableDeclaresEveryOptionOnceWithTheNamesTheReadmeMissed) {
  ConfigLoader loader("consumer_service", kServiceUsage);
  add_service_options(loader);
  std::set<std::string> names, envs;
  for (const OptionSpec& s : loader.specs()) {
    EXPECT_TRUE(names.insert(std::string(long_name(s))).second) << s.name;
    if (!s.env.empty()) {
      EXPECT_TRUE(envs.insert(std::string(s.env)).second) << s.env;
    }
    EXPECT_FALSE(s.help.empty()) << s.name;
    if (s.range) {
      EXPECT_EQ(s.type, OptionType::kInt) << s.name;
    }
    // A NAME that looks secret is never printed by --print-config (scripts and people trust that).
    if (s.exposure == Exposure::kShown && !s.env.empty()) {
      EXPECT_FALSE(is_secret_property(s.env, "")) << s.env;
    }
  }
  for (const char* env : {"HTTP_THREADS", "DEAD_LETTER_TOPIC", "REQUIRE_COMPACTED", "POSTGRES_URL", "TOPIC",
                          "BOOTSTRAP_SERVERS", "SSE_HEARTBEAT", "SNAPSHOT_INTERVAL", "KAFKA_PASSWORD"}) {
    EXPECT_EQ(envs.count(env), 1u) << env;
  }
  const std::string md = loader.options_markdown();
  EXPECT_THAT(md, HasSubstr("| `--http-threads VALUE` | `HTTP_THREADS` | `512` | 1–20000 |"));
  EXPECT_THAT(md, HasSubstr("`REQUIRE_COMPACTED` | `false`"));
}

TEST_F(ServiceConfigTest, DefaultsResolveAsBefore) {
  const ServiceConfig c = config({});
  EXPECT_EQ(c.kafka.topic, "contas");
  EXPECT_EQ(c.http_threads, 512);
  EXPECT_EQ(c.max_waiting, 64);
  EXPECT_EQ(c.max_streams, 32);
  EXPECT_EQ(c.heartbeat_s, 15);
  EXPECT_EQ(c.snapshot_interval_s, 60);
  EXPECT_FALSE(c.require_compacted);
  EXPECT_TRUE(c.warnings.empty());
  // A smaller pool caps the derived defaults at a half and a quarter of it.
  const ServiceConfig small = config({"--http-threads", "64"});
  EXPECT_EQ(small.max_waiting, 32);
  EXPECT_EQ(small.max_streams, 16);
}

TEST_F(ServiceConfigTest, ASmallPoolThatTurnsLiveStreamsOffSaysSo) {
  const ServiceConfig one = config({"--http-threads", "1"});
  EXPECT_EQ(one.max_streams, 0);
  EXPECT_EQ(one.max_waiting, 0);
  ASSERT_EQ(one.warnings.size(), 2u);
  EXPECT_THAT(one.warnings[0], HasSubstr("--http-threads 1 leaves no thread for live streams"));
  EXPECT_THAT(one.warnings[1], HasSubstr("read-your-writes"));
  const ServiceConfig three = config({"--http-threads", "3"});
  ASSERT_EQ(three.warnings.size(), 1u);
  EXPECT_THAT(three.warnings[0], HasSubstr("live streams"));
  // Zero on purpose is not a surprise.
  EXPECT_TRUE(config({"--http-threads", "1", "--sse-max-streams", "0", "--http-max-waiting", "0"}).warnings.empty());
  EXPECT_TRUE(config({"--http-threads", "4"}).warnings.empty());
}

TEST_F(ServiceConfigTest, BadValuesGetOneLineNamingTheOptionAndWhatItMayBe) {
  EXPECT_EQ(error_of({"--http-threads", "0"}), "--http-threads: 0 is not in 1..20000");
  EXPECT_EQ(error_of({"--sse-heartbeat", "30"}), "--sse-heartbeat: 30 is not in 1..25");
  EXPECT_EQ(error_of({"--snapshot-interval", "0"}), "--snapshot-interval: 0 is not in 1..86400");
  EXPECT_THAT(error_of({"--http-threads", "8", "--http-max-waiting", "8"}),
              HasSubstr("--http-max-waiting: 8 is not in 0..7"));
  EXPECT_THAT(error_of({"--http-threads", "8", "--http-max-waiting", "4", "--sse-max-streams", "4"}),
              HasSubstr("must be less than --http-threads (8)"));
  EXPECT_EQ(error_of({"--tls-cert", "c.pem"}), "--tls-cert and --tls-key go together");
  EXPECT_EQ(error_of({"--dead-letter-topic", "contas"}), "--dead-letter-topic must differ from --topic");
  EXPECT_THAT(error_of({"--topic", "bad topic"}), HasSubstr("is not a valid Kafka topic name"));
  EXPECT_THAT(error_of({"--log-level", "loud"}), HasSubstr("--log-level"));
  EXPECT_THAT(error_of({"--postgres-url", "postgresql://u:S3cr3t@h/db"}), HasSubstr("--postgres-url holds a password"));
  EXPECT_EQ(error_of({"--postgres-url", "postgresql://u@h/db"}), "(accepted)");
}

TEST_F(ServiceConfigTest, ShardedModeNeedsAnAdvertisedBaseUrlAndNoStateDir) {
  EXPECT_THAT(error_of({"--shard-group", "g"}), HasSubstr("--shard-group needs --advertise URL"));
  EXPECT_THAT(error_of({"--advertise", "http://h:5000"}), HasSubstr("it needs --shard-group"));
  for (const char* bad : {"h:5000", "http://h", "http://h:5000/x", "ftp://h:21", "http://:5000", "http://h:70000",
                          "http://h a:5000"}) {
    EXPECT_THAT(error_of({"--shard-group", "g", "--advertise", bad}), HasSubstr("give a base URL")) << bad;
  }
  EXPECT_THAT(error_of({"--shard-group", "g", "--advertise", "http://h:5000", "--state-dir", "/tmp/s"}),
              HasSubstr("--state-dir cannot be used with --shard-group"));
  const ServiceConfig c = config({"--shard-group", "g", "--advertise", "https://10.0.0.5:5443"});
  EXPECT_EQ(c.shard_group, "g");
  EXPECT_EQ(c.advertise, "https://10.0.0.5:5443");
  EXPECT_EQ(c.drain_timeout_s, 60);
  EXPECT_EQ(config({"--shard-group", "g", "--advertise", "http://[::1]:5000"}).advertise, "http://[::1]:5000");
}

}  // namespace
}  // namespace saldo
