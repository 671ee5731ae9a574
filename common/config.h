#pragma once
// One configuration loader for every binary. Precedence: command line > environment > .env > defaults.
// Names of the original demo's .env work unchanged: BOOTSTRAP_SERVERS, TOPIC, GROUP.
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/program_options.hpp>

#include "common/option_spec.h"
#include "common/secrets.h"

namespace saldo {

namespace po = boost::program_options;

// A bad value or a malformed file. At the edge it becomes one line on stderr and exit code 2.
struct ConfigError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

using KeyValues = std::vector<std::pair<std::string, std::string>>;

struct KafkaOptions {
  std::string bootstrap_servers;  // BOOTSTRAP_SERVERS, default localhost:9092
  std::string topic;              // TOPIC, default contas
  std::string group;              // GROUP, default consulta-saldo (kept for the original .env)
  KeyValues properties;           // -X key=value, passed to librdkafka as is, in order
};

struct HttpOptions {
  std::string host;  // HTTP_HOST, default 127.0.0.1
  int port = 5000;   // HTTP_PORT
};

struct LogOptions {
  std::string level;   // LOG_LEVEL: trace|debug|info|warn|error|off, default info
  std::string format;  // LOG_FORMAT: text|json, default text
};

class ConfigLoader {
 public:
  // `usage` is the first paragraph of --help (what the binary does, one example).
  ConfigLoader(std::string program, std::string usage);

  // Command-line-only options of this binary.
  po::options_description_easy_init options();
  // An option that may also come from the environment or .env under `env_name`.
  ConfigLoader& env_option(const char* name, const char* env_name, const po::value_semantic* semantic,
                           const char* help);
  // Options declared by a table (option_spec.h): their ranges are checked by parse(), their
  // exposure decides what the command line refuses and --print-config shows, and options_markdown()
  // lists them.
  ConfigLoader& add(const OptionSpec& spec);
  ConfigLoader& add(const std::vector<OptionSpec>& specs);

  // --bootstrap-servers, --topic, --group, -X/--property key=value; sasl.password from KAFKA_PASSWORD
  // (environment or .env only) or KAFKA_PASSWORD_FILE. -X with a secret (carries_secret) is refused:
  // argv is public.
  void add_kafka_options();
  void add_http_options();   // --http-host, --http-port
  void add_log_options();    // --log-level, --log-format
  // Always present: --help, --env-file PATH (ENV_FILE; default ./.env when it exists), and
  // --print-config: the resolved value of every option that has a NAME, as shell-quoted
  // NAME='value' lines (names that look secret are left out), so that scripts read .env through
  // this parser instead of their own.

  // Returns nullopt when --help, --print-config or --print-options-markdown (when declared) was
  // answered on stdout (main returns 0). Throws ConfigError on bad input.
  std::optional<po::variables_map> parse(int argc, const char* const argv[]);

  // For a binary that checks more than each option alone (cross-option rules, files that must parse)
  // before --print-config answers, as a start would: parse() then returns the values with
  // --print-config too, and main checks, then calls print_config() when print_config_requested().
  void defer_print_config() { defer_print_config_ = true; }
  static bool print_config_requested(const po::variables_map& vm) { return vm.count("print-config") != 0; }
  void print_config(const po::variables_map& vm) const;

  // This binary's options as a Markdown page (docs/configuration.md for consumer_service).
  std::string options_markdown() const;
  const std::vector<OptionSpec>& specs() const { return specs_; }

  const std::string& program() const { return program_; }

 private:
  void refuse_secrets_on_command_line(const po::variables_map& vm) const;
  void check_ranges(const po::variables_map& vm) const;
  const OptionSpec* spec_of(const std::string& option) const;

  std::string program_;
  std::string usage_;
  po::options_description cli_only_;
  po::options_description with_env_;
  std::vector<std::pair<std::string, std::string>> env_names_;  // option name -> ENV_NAME
  std::vector<std::string> env_only_;  // options refused on the command line (secrets)
  std::vector<OptionSpec> specs_;      // the options declared by a table, in order
  bool defer_print_config_ = false;

  std::string env_name_of(const std::string& option) const;
};

// The edge of every binary's main(), its one way to fail: runs `run`, and turns an escaping
// ConfigError into one line "<program>: <message>" on stderr and exit code 2, any other exception
// into that line and exit code 1.
int run_main(const char* program, int (*run)(int, const char* const[]), int argc, char** argv);

KafkaOptions kafka_options(const po::variables_map& vm);  // validates; throws ConfigError
HttpOptions http_options(const po::variables_map& vm);    // throws ConfigError
LogOptions log_options(const po::variables_map& vm);      // known level and format; throws ConfigError

// Pure parsers, exposed for unit tests and fuzzing.
// .env text: KEY=VALUE lines, '#' comments, blank lines, optional "export ", '...' or "..." quotes.
// Throws ConfigError naming the line number of a malformed line.
KeyValues parse_dotenv(std::string_view text);
// "key=value" -> {key, value}; throws ConfigError when '=' or the key is missing.
std::pair<std::string, std::string> parse_kafka_property(std::string_view key_value);

}  // namespace saldo
