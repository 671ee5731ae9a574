#include "common/shared_options.h"

namespace saldo {

const std::vector<OptionSpec>& builtin_option_specs() {
  static const std::vector<OptionSpec> specs = {
      {.name = "help,h", .type = OptionType::kSwitch, .help = "print this help and exit"},
      {.name = "print-config",
       .type = OptionType::kSwitch,
       .help = "print the resolved settings as NAME='value' lines (passwords masked, secret names left out) and "
               "exit; settings that are not valid: one line saying why and exit 2"},
      {.name = "env-file",
       .env = "ENV_FILE",
       .help = "a .env file of NAME=value lines (default ./.env when it exists)",
       .value_name = "PATH"},
  };
  return specs;
}

const std::vector<OptionSpec>& kafka_option_specs() {
  static const std::vector<OptionSpec> specs = {
      {.name = "bootstrap-servers,b",
       .env = "BOOTSTRAP_SERVERS",
       .default_value = "localhost:9092",
       .help = "Kafka bootstrap servers, host:port[,host:port...]"},
      {.name = "topic,t", .env = "TOPIC", .default_value = "contas", .help = "the balances topic"},
      {.name = "group",
       .env = "GROUP",
       .default_value = "consulta-saldo",
       .help = "consumer group name (kept for the original .env; the table reader uses no group)"},
      {.name = "property,X",
       .type = OptionType::kList,
       .help = "any librdkafka property, e.g. -X security.protocol=SASL_SSL (repeatable); secrets are refused "
               "here (visible in ps): a password goes in KAFKA_PASSWORD(_FILE), a key in a file",
       .value_name = "key=value"},
      {.name = "kafka-password",
       .env = "KAFKA_PASSWORD",
       .help = "sasl.password, from the environment or .env only (a command line is visible in ps)",
       .exposure = Exposure::kSecret},
      {.name = "kafka-password-file",
       .env = "KAFKA_PASSWORD_FILE",
       .help = "a file whose first line is sasl.password",
       .exposure = Exposure::kOmitted,
       .value_name = "PATH"},
  };
  return specs;
}

const std::vector<OptionSpec>& http_option_specs() {
  static const std::vector<OptionSpec> specs = {
      {.name = "http-host",
       .env = "HTTP_HOST",
       .default_value = "127.0.0.1",
       .help = "HTTP listen address (0.0.0.0: every interface, as in a container)"},
      {.name = "http-port",
       .env = "HTTP_PORT",
       .type = OptionType::kInt,
       .default_value = "5000",
       .range = IntRange{1, 65535},
       .help = "HTTP listen port"},
  };
  return specs;
}

const std::vector<OptionSpec>& log_option_specs() {
  static const std::vector<OptionSpec> specs = {
      {.name = "log-level",
       .env = "LOG_LEVEL",
       .default_value = "info",
       .help = "trace, debug, info, warn, error or off"},
      {.name = "log-format",
       .env = "LOG_FORMAT",
       .default_value = "text",
       .help = "text or json (one object per line)"},
  };
  return specs;
}

}  // namespace saldo
