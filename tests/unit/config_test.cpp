#include "common/config.h"

#include "common/text.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace saldo {
namespace {

using ::testing::HasSubstr;

// Sets (or unsets, with nullptr) environment variables for one test and restores them after.
class ScopedEnv {
 public:
  ScopedEnv& set(const std::string& name, const char* value) {
    if (saved_.count(name) == 0) {
      const char* old = std::getenv(name.c_str());
      saved_[name] = old ? std::optional<std::string>(old) : std::nullopt;
    }
    if (value) ::setenv(name.c_str(), value, 1);
    else ::unsetenv(name.c_str());
    return *this;
  }
  ~ScopedEnv() {
    for (const auto& [name, value] : saved_) {
      if (value) ::setenv(name.c_str(), value->c_str(), 1);
      else ::unsetenv(name.c_str());
    }
  }

 private:
  std::map<std::string, std::optional<std::string>> saved_;
};

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* n : {"BOOTSTRAP_SERVERS", "TOPIC", "GROUP", "HTTP_HOST", "HTTP_PORT", "LOG_LEVEL", "LOG_FORMAT",
                          "KAFKA_PASSWORD", "KAFKA_PASSWORD_FILE"}) {
      env_.set(n, nullptr);
    }
    dotenv_ = std::filesystem::temp_directory_path() / ("saldo-config-test-" + std::to_string(::getpid()) + ".env");
    write_dotenv("");
    env_.set("ENV_FILE", dotenv_.c_str());
  }
  void TearDown() override { std::filesystem::remove(dotenv_); }

  void write_dotenv(const std::string& text) { std::ofstream(dotenv_) << text; }

  po::variables_map parse(std::vector<const char*> args) {
    ConfigLoader loader("prog", "prog: test");
    loader.add_kafka_options();
    loader.add_http_options();
    loader.add_log_options();
    loader.options()("count", po::value<int>()->default_value(1), "a cli-only option");
    args.insert(args.begin(), "prog");
    auto vm = loader.parse(static_cast<int>(args.size()), args.data());
    EXPECT_TRUE(vm.has_value());
    return vm ? *vm : po::variables_map();
  }

  ScopedEnv env_;
  std::filesystem::path dotenv_;
};

TEST_F(ConfigTest, Defaults) {
  auto vm = parse({});
  KafkaOptions k = kafka_options(vm);
  EXPECT_EQ(k.bootstrap_servers, "localhost:9092");
  EXPECT_EQ(k.topic, "contas");
  EXPECT_EQ(k.group, "consulta-saldo");
  EXPECT_TRUE(k.properties.empty());
  HttpOptions h = http_options(vm);
  EXPECT_EQ(h.host, "127.0.0.1");  // loopback unless told otherwise
  EXPECT_EQ(h.port, 5000);
  LogOptions l = log_options(vm);
  EXPECT_EQ(l.level, "info");
  EXPECT_EQ(l.format, "text");
}

TEST_F(ConfigTest, PrecedenceCommandLineOverEnvironmentOverDotenvOverDefault) {
  write_dotenv("BOOTSTRAP_SERVERS=dotenv:1\nTOPIC=dotenv-topic\nGROUP=dotenv-group\nHTTP_PORT=7001\n");
  env_.set("TOPIC", "env-topic").set("GROUP", "env-group");
  auto vm = parse({"--group", "cli-group"});
  KafkaOptions k = kafka_options(vm);
  EXPECT_EQ(k.group, "cli-group");            // command line
  EXPECT_EQ(k.topic, "env-topic");            // environment
  EXPECT_EQ(k.bootstrap_servers, "dotenv:1"); // .env
  EXPECT_EQ(http_options(vm).port, 7001);     // .env
  EXPECT_EQ(http_options(vm).host, "127.0.0.1");  // default
  EXPECT_EQ(vm["count"].as<int>(), 1);
}

TEST_F(ConfigTest, OriginalDemoDotenvWorksUnchanged) {
  write_dotenv("# demo\nBOOTSTRAP_SERVERS=localhost:9092\nTOPIC=contas\nGROUP=consulta-saldo\n");
  KafkaOptions k = kafka_options(parse({}));
  EXPECT_EQ(k.bootstrap_servers, "localhost:9092");
  EXPECT_EQ(k.topic, "contas");
  EXPECT_EQ(k.group, "consulta-saldo");
}

TEST_F(ConfigTest, EnvFileFromCommandLine) {
  auto other = dotenv_.string() + ".other";
  std::ofstream(other) << "TOPIC=other\n";
  EXPECT_EQ(kafka_options(parse({"--env-file", other.c_str()})).topic, "other");
  std::filesystem::remove(other);
}

TEST_F(ConfigTest, MissingExplicitEnvFileIsAnError) {
  ConfigLoader loader("prog", "usage");
  const char* argv[] = {"prog", "--env-file", "/nonexistent/saldo.env"};
  EXPECT_THROW(loader.parse(3, argv), ConfigError);
}

TEST_F(ConfigTest, OnlyDeclaredOptionsReadTheEnvironment) {
  env_.set("HTTP_PORT", "9999").set("count", "5").set("COUNT", "5");
  ConfigLoader loader("prog", "usage");
  loader.add_kafka_options();
  loader.options()("count", po::value<int>()->default_value(1), "cli only");
  const char* argv[] = {"prog"};
  auto vm = loader.parse(1, argv);
  ASSERT_TRUE(vm);
  EXPECT_EQ(vm->count("http-port"), 0u);
  EXPECT_EQ((*vm)["count"].as<int>(), 1);
}

TEST_F(ConfigTest, KafkaPropertiesPassThroughInOrder) {
  auto vm = parse({"-X", "security.protocol=SASL_SSL", "-Xsasl.mechanism=PLAIN", "--property", "a=b=c", "-X",
                   "linger.ms="});
  KafkaOptions k = kafka_options(vm);
  ASSERT_EQ(k.properties.size(), 4u);
  EXPECT_EQ(k.properties[0], (std::pair<std::string, std::string>{"security.protocol", "SASL_SSL"}));
  EXPECT_EQ(k.properties[1], (std::pair<std::string, std::string>{"sasl.mechanism", "PLAIN"}));
  EXPECT_EQ(k.properties[2], (std::pair<std::string, std::string>{"a", "b=c"}));
  EXPECT_EQ(k.properties[3], (std::pair<std::string, std::string>{"linger.ms", ""}));
}

TEST_F(ConfigTest, BadValues) {
  ConfigLoader loader("prog", "usage");
  loader.add_http_options();
  const char* bad_int[] = {"prog", "--http-port", "abc"};
  EXPECT_THROW(loader.parse(3, bad_int), ConfigError);
  const char* unknown[] = {"prog", "--nope"};
  EXPECT_THROW(loader.parse(2, unknown), ConfigError);
  const char* positional[] = {"prog", "extra"};
  EXPECT_THROW(loader.parse(2, positional), ConfigError);
  const char* abbreviated[] = {"prog", "--http-po", "1"};
  EXPECT_THROW(loader.parse(3, abbreviated), ConfigError);

  EXPECT_THROW(http_options(parse({"--http-port", "70000"})), ConfigError);
  EXPECT_THROW(http_options(parse({"--http-port", "0"})), ConfigError);
  EXPECT_THROW(log_options(parse({"--log-level", "loud"})), ConfigError);
  EXPECT_THROW(log_options(parse({"--log-format", "xml"})), ConfigError);
  EXPECT_THROW(kafka_options(parse({"-X", "novalue"})), ConfigError);
  EXPECT_THROW(kafka_options(parse({"--topic", "bad topic"})), ConfigError);
  EXPECT_EQ(log_options(parse({"--log-level", "WARNING", "--log-format", "JSON"})).level, "warn");
}

TEST_F(ConfigTest, BadEnvironmentValueNamesItsSource) {
  env_.set("HTTP_PORT", "eighty");
  ConfigLoader loader("prog", "usage");
  loader.add_http_options();
  const char* argv[] = {"prog"};
  try {
    loader.parse(1, argv);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("environment"));
  }
}

TEST_F(ConfigTest, BadDotenvLineNamesFileAndLine) {
  write_dotenv("TOPIC=x\n# ok\nthis line is wrong\n");
  ConfigLoader loader("prog", "usage");
  loader.add_kafka_options();
  const char* argv[] = {"prog"};
  try {
    loader.parse(1, argv);
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr(dotenv_.string()));
    EXPECT_THAT(e.what(), HasSubstr("line 3"));
  }
}

TEST_F(ConfigTest, HelpPrintsUsageAndOptions) {
  ConfigLoader loader("prog", "prog: does things");
  loader.add_kafka_options();
  const char* argv[] = {"prog", "--help"};
  ::testing::internal::CaptureStdout();
  auto vm = loader.parse(2, argv);
  std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_FALSE(vm.has_value());
  EXPECT_THAT(out, HasSubstr("prog: does things"));
  EXPECT_THAT(out, HasSubstr("--bootstrap-servers"));
  EXPECT_THAT(out, HasSubstr("BOOTSTRAP_SERVERS"));
}

// A main() body as the binaries write it: --help and --print-config answered by parse() return 0.
int run_with_http_options(int argc, const char* const argv[]) {
  ConfigLoader loader("prog", "usage");
  loader.add_http_options();
  return loader.parse(argc, argv) ? 7 : 0;
}

int run_that_throws(int, const char* const[]) { throw std::runtime_error("the broker said no"); }

int run_main_with(int (*run)(int, const char* const[]), std::vector<std::string> args, std::string* err) {
  args.insert(args.begin(), "prog");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  ::testing::internal::CaptureStderr();
  ::testing::internal::CaptureStdout();
  const int code = run_main("prog", run, static_cast<int>(args.size()), argv.data());
  ::testing::internal::GetCapturedStdout();
  *err = ::testing::internal::GetCapturedStderr();
  return code;
}

TEST_F(ConfigTest, RunMainIsTheOneWayToFail) {
  std::string err;
  EXPECT_EQ(run_main_with(run_with_http_options, {"--http-port", "x"}, &err), 2);
  EXPECT_THAT(err, ::testing::MatchesRegex("prog: [^\n]*http-port[^\n]*\n"));
  EXPECT_EQ(run_main_with(run_that_throws, {}, &err), 1);
  EXPECT_EQ(err, "prog: the broker said no\n");
  EXPECT_EQ(run_main_with(run_with_http_options, {"--help"}, &err), 0);
  EXPECT_EQ(err, "");
  EXPECT_EQ(run_main_with(run_with_http_options, {}, &err), 7);
}

TEST_F(ConfigTest, PrintConfigShowsTheResolvedValuesShellQuotedWithoutSecrets) {
  env_.set("TOPIC", "from-env");
  env_.set("SASL_PASSWORD", "hunter2");
  write_dotenv("TOPIC=from-file\nHTTP_PORT=6000 # inline comment\nHTTP_PORT=6001\nLOG_FORMAT='json'\n"
               "GROUP=\"it's\"\n");
  ConfigLoader loader("prog", "usage");
  loader.add_kafka_options();
  loader.add_http_options();
  loader.add_log_options();
  loader.env_option("sasl-password", "SASL_PASSWORD", po::value<std::string>(), "a secret");
  const char* argv[] = {"prog", "--print-config", "--http-host", "127.0.0.1"};
  ::testing::internal::CaptureStdout();
  auto vm = loader.parse(4, argv);
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_FALSE(vm.has_value());
  EXPECT_EQ(out,
            "BOOTSTRAP_SERVERS='localhost:9092'\n"  // default
            "TOPIC='from-env'\n"                    // environment over .env
            "GROUP='it'\\''s'\n"                   // one shell word whatever the value holds
            "HTTP_HOST='127.0.0.1'\n"               // command line over all
            "HTTP_PORT='6001'\n"                    // the last assignment in .env
            "LOG_LEVEL='info'\n"
            "LOG_FORMAT='json'\n");
  EXPECT_THAT(out, ::testing::Not(HasSubstr("hunter2")));
}

TEST(Text, TrimRemovesSpacesTabsAndLineEnds) {
  EXPECT_EQ(trim("  a b\t\r\n"), "a b");
  EXPECT_EQ(trim("\t"), "");
  EXPECT_EQ(trim(""), "");
  EXPECT_EQ(trim("x"), "x");
}

TEST(Text, PartitionListAsTheLogsNameIt) {
  EXPECT_EQ(partition_list_text({}), "[]");
  EXPECT_EQ(partition_list_text({4}), "[4]");
  EXPECT_EQ(partition_list_text({0, 2, 15}), "[0,2,15]");
}

TEST(Dotenv, Parses) {
  KeyValues kv = parse_dotenv(
      "# comment\n"
      "\n"
      "A=1\n"
      "export B = two words \n"
      "C=\"quoted # not a comment\" # comment\n"
      "D='single $x \\n'\n"
      "E=\"esc\\n\\\"q\\\"\"\r\n"
      "F=value # inline comment\n"
      "G=a#b\n"
      "H=\n"
      "I=x=y");
  KeyValues expected = {{"A", "1"},
                        {"B", "two words"},
                        {"C", "quoted # not a comment"},
                        {"D", "single $x \\n"},
                        {"E", "esc\n\"q\""},
                        {"F", "value"},
                        {"G", "a#b"},
                        {"H", ""},
                        {"I", "x=y"}};
  EXPECT_EQ(kv, expected);
  EXPECT_TRUE(parse_dotenv("").empty());
  EXPECT_TRUE(parse_dotenv("\n\n# x\n").empty());
}

TEST(Dotenv, ErrorsNameTheLine) {
  auto message = [](std::string_view text) {
    try {
      parse_dotenv(text);
    } catch (const ConfigError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(message("A=1\nnoequals\n"), HasSubstr("line 2"));
  EXPECT_THAT(message("A=1\n\n\n=value\n"), HasSubstr("line 4"));
  EXPECT_THAT(message("1A=x"), HasSubstr("line 1"));
  EXPECT_THAT(message("A=1\nB=\"open\n"), HasSubstr("line 2"));
  EXPECT_THAT(message("A='x' trailing"), HasSubstr("line 1"));
  EXPECT_THAT(message("A B=1"), HasSubstr("line 1"));
}

TEST(KafkaProperty, Parses) {
  EXPECT_EQ(parse_kafka_property("a=b"), (std::pair<std::string, std::string>{"a", "b"}));
  EXPECT_EQ(parse_kafka_property("sasl.jaas.config=x=y;"), (std::pair<std::string, std::string>{"sasl.jaas.config", "x=y;"}));
  EXPECT_THROW(parse_kafka_property("ab"), ConfigError);
  EXPECT_THROW(parse_kafka_property("=b"), ConfigError);
}

TEST(MaskedValue, HidesSecrets) {
  EXPECT_EQ(masked_value("sasl.password", "hunter2"), "***");
  EXPECT_EQ(masked_value("ssl.key.password", "x"), "***");
  EXPECT_EQ(masked_value("SASL_SECRET", "x"), "***");
  EXPECT_EQ(masked_value("linger.ms", "5"), "5");
}

// Every librdkafka property (CONFIGURATION.md, 2.0 and later) that can carry a secret, one by one.
TEST(MaskedValue, EveryLibrdkafkaSecretProperty) {
  for (const char* name : {
           "sasl.password",
           "sasl.oauthbearer.config",              // "principal=x clientSecret=..."
           "sasl.oauthbearer.client.secret",
           "sasl.oauthbearer.extensions",          // free-form key=value, may carry a secret
           "sasl.oauthbearer.assertion.private.key.passphrase",
           "sasl.oauthbearer.assertion.private.key.pem",
           "sasl.jaas.config",
           "ssl.key.password",
           "ssl.key.pem",
           "ssl.certificate.pem",                  // a PEM bundle may hold the key as well
           "ssl.ca.pem",
           "ssl.keystore.password",
           "ssl_key",
           "https.ca.pem",
       }) {
    EXPECT_EQ(masked_value(name, "value-1"), "***") << name;
    EXPECT_TRUE(is_secret_property(name, "value-1")) << name;
  }
  EXPECT_EQ(masked_value("sasl.oauthbearer.config", "principal=svc clientSecret=s3cr3t"), "***");
}

TEST(MaskedValue, ValuesThatNameASecretAreHiddenWhateverTheProperty) {
  EXPECT_EQ(masked_value("some.future.property", "user=a password=b"), "***");
  EXPECT_EQ(masked_value("x", "-----BEGIN PRIVATE KEY-----"), "***");
  EXPECT_EQ(masked_value("x", "clientSecret=abc"), "***");
}

TEST(MaskedValue, OrdinarySettingsStayReadable) {
  for (const auto& [name, value] : std::vector<std::pair<const char*, const char*>>{
           {"security.protocol", "SASL_SSL"},
           {"sasl.mechanisms", "SCRAM-SHA-512"},
           {"sasl.username", "saldo-service"},
           {"ssl.ca.location", "/etc/saldo/ca.pem"},
           {"ssl.endpoint.identification.algorithm", "https"},
           {"linger.ms", "5"},
       }) {
    EXPECT_EQ(masked_value(name, value), value) << name;
  }
}

TEST_F(ConfigTest, KafkaPasswordFromEnvironmentDotenvOrFileNeverTheCommandLine) {
  env_.set("KAFKA_PASSWORD", "from-env");
  KafkaOptions k = kafka_options(parse({"-X", "sasl.username=u"}));
  ASSERT_EQ(k.properties.size(), 2u);
  EXPECT_EQ(k.properties[1], (std::pair<std::string, std::string>{"sasl.password", "from-env"}));
  env_.set("KAFKA_PASSWORD", nullptr);

  write_dotenv("KAFKA_PASSWORD=from-dotenv\n");
  EXPECT_EQ(kafka_options(parse({})).properties.back().second, "from-dotenv");
  write_dotenv("");

  const auto file = std::filesystem::temp_directory_path() / ("saldo-pw-" + std::to_string(::getpid()));
  std::ofstream(file) << "from-file\nignored second line\n";
  env_.set("KAFKA_PASSWORD_FILE", file.c_str());
  EXPECT_EQ(kafka_options(parse({})).properties.back().second, "from-file");
  env_.set("KAFKA_PASSWORD", "also");
  EXPECT_THROW(kafka_options(parse({})), ConfigError);
  env_.set("KAFKA_PASSWORD", nullptr);
  std::filesystem::remove(file);
  try {
    kafka_options(parse({}));
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "KAFKA_PASSWORD_FILE: cannot read " + file.string());
  }
  env_.set("KAFKA_PASSWORD_FILE", nullptr);

  ConfigLoader loader("prog", "usage");
  loader.add_kafka_options();
  const char* argv1[] = {"prog", "--kafka-password=hunter2"};
  try {
    loader.parse(2, argv1);
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("not taken on the command line"));
    EXPECT_THAT(e.what(), HasSubstr("KAFKA_PASSWORD"));
    EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("hunter2")));
  }
  const char* argv2[] = {"prog", "-X", "sasl.password=hunter2"};
  try {
    loader.parse(3, argv2);
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("-X sasl.password is not taken on the command line"));
    EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("hunter2")));
  }
}

// A table-declared option that may hold a password, as consumer_service's --postgres-url.
const OptionSpec kUrlSpec{.name = "db-url",
                          .env = "SALDO_TEST_DB_URL",
                          .default_value = "",
                          .help = "a connection string",
                          .exposure = Exposure::kPasswordMasked};

TEST_F(ConfigTest, EverySecretBearingPropertyIsRefusedOnTheCommandLine) {
  ConfigLoader loader("prog", "usage");
  loader.add_kafka_options();
  for (const char* kv : {"ssl.key.pem=-----BEGIN PRIVATE KEY-----", "sasl.oauthbearer.client.secret=s3cr3t",
                         "ssl.keystore.password=s3cr3t", "sasl.oauthbearer.config=clientSecret=s3cr3t"}) {
    const char* argv[] = {"prog", "-X", kv};
    try {
      loader.parse(3, argv);
      ADD_FAILURE() << kv;
    } catch (const ConfigError& e) {
      EXPECT_THAT(e.what(), HasSubstr("is not taken on the command line (visible in ps)")) << kv;
      EXPECT_THAT(e.what(), HasSubstr("environment")) << kv;
      EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("s3cr3t"))) << kv;
    }
  }
  // A path to a key is the way to give one.
  const char* ok[] = {"prog", "-X", "ssl.key.location=/etc/saldo/client.key", "-X", "ssl.ca.location=/etc/ca.pem"};
  EXPECT_TRUE(loader.parse(5, ok).has_value());
}

TEST_F(ConfigTest, AConnectionStringWithAPasswordIsRefusedOnTheCommandLineAndMaskedWhenPrinted) {
  env_.set("SALDO_TEST_DB_URL", nullptr);
  ConfigLoader loader("prog", "usage");
  loader.add(kUrlSpec);
  const char* with_password[] = {"prog", "--db-url", "postgresql://u:S3cr3t@h/db"};
  try {
    loader.parse(3, with_password);
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_THAT(e.what(), HasSubstr("--db-url holds a password"));
    EXPECT_THAT(e.what(), HasSubstr("SALDO_TEST_DB_URL in the environment"));
    EXPECT_THAT(e.what(), ::testing::Not(HasSubstr("S3cr3t")));
  }
  const char* without[] = {"prog", "--db-url", "postgresql://u@h/db"};
  EXPECT_TRUE(loader.parse(3, without).has_value());

  env_.set("SALDO_TEST_DB_URL", "host=h user=u password=S3cr3t dbname=db");
  const char* print[] = {"prog", "--print-config"};
  ::testing::internal::CaptureStdout();
  EXPECT_FALSE(loader.parse(2, print).has_value());
  const std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(out, "SALDO_TEST_DB_URL='host=h user=u password=*** dbname=db'\n");
}

TEST_F(ConfigTest, ATableRangeIsCheckedWithTheOptionAndTheRangeInOneLine) {
  ConfigLoader loader("prog", "usage");
  loader.add(OptionSpec{.name = "threads", .env = "SALDO_TEST_THREADS", .type = OptionType::kInt,
                        .default_value = "8", .range = IntRange{1, 100}, .help = "threads"});
  const char* argv[] = {"prog", "--threads", "0"};
  try {
    loader.parse(3, argv);
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "--threads: 0 is not in 1..100");
  }
  // --print-config checks too: scripts rely on its exit status.
  const char* print[] = {"prog", "--print-config", "--threads", "101"};
  EXPECT_THROW(loader.parse(4, print), ConfigError);
  const char* help[] = {"prog", "--help"};
  ::testing::internal::CaptureStdout();
  loader.parse(2, help);
  EXPECT_THAT(::testing::internal::GetCapturedStdout(), HasSubstr("threads (1..100) [SALDO_TEST_THREADS]"));
}

TEST_F(ConfigTest, DeferredPrintConfigLeavesTheChecksToMainThenPrints) {
  ConfigLoader loader("prog", "usage");
  loader.add_http_options();
  loader.defer_print_config();
  const char* argv[] = {"prog", "--print-config", "--http-port", "6000"};
  ::testing::internal::CaptureStdout();
  const auto vm = loader.parse(4, argv);
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "");
  ASSERT_TRUE(vm.has_value());
  EXPECT_TRUE(ConfigLoader::print_config_requested(*vm));
  ::testing::internal::CaptureStdout();
  loader.print_config(*vm);
  EXPECT_EQ(::testing::internal::GetCapturedStdout(), "HTTP_HOST='127.0.0.1'\nHTTP_PORT='6000'\n");
}

TEST(OptionsMarkdown, OneRowPerOptionWithItsNameDefaultRangeAndSecrecy) {
  const std::string md = options_markdown(
      "prog configuration", "Intro.",
      {OptionSpec{.name = "topic,t", .env = "TOPIC", .default_value = "contas", .help = "the topic <t> | with a bar"},
       OptionSpec{.name = "threads", .env = "THREADS", .type = OptionType::kInt, .default_value = "8",
                  .range = IntRange{1, 100}, .help = "threads"},
       OptionSpec{.name = "verbose", .type = OptionType::kSwitch, .help = "more"},
       kUrlSpec});
  EXPECT_THAT(md, ::testing::StartsWith("# prog configuration\n\nIntro.\n\n| option |"));
  EXPECT_THAT(md, HasSubstr("| `--topic VALUE`, `-t` | `TOPIC` | `contas` |  | the topic &lt;t&gt; \\| with a bar |  |\n"));
  EXPECT_THAT(md, HasSubstr("| `--threads VALUE` | `THREADS` | `8` | 1–100 | threads |  |\n"));
  EXPECT_THAT(md, HasSubstr("| `--verbose` |  |  |  | more |  |\n"));
  EXPECT_THAT(md, HasSubstr("| `--db-url VALUE` | `SALDO_TEST_DB_URL` | `''` |  | a connection string | password masked"));
}

}  // namespace
}  // namespace saldo
