#include "common/config.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/text.h"

namespace saldo {
namespace {

// No abbreviated option names: "--top" must not silently mean "--topic".
constexpr int kStyle = po::command_line_style::unix_style & ~po::command_line_style::allow_guessing;

bool is_env_key(std::string_view k) {
  if (k.empty() || std::isdigit(static_cast<unsigned char>(k[0]))) return false;
  return std::all_of(k.begin(), k.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
  });
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Stores "--name=value" pairs from one source with the usual program_options checks.
void store_from(const po::options_description& desc, const std::vector<std::string>& args,
                const std::string& source, po::variables_map& vm) {
  if (args.empty()) return;
  try {
    po::store(po::command_line_parser(args).options(desc).style(kStyle).run(), vm);
  } catch (const po::error& e) {
    throw ConfigError(source + ": " + e.what());
  }
}

// The text of an option's value, whatever type it was declared with.
std::string value_text(const po::variable_value& v) {
  const boost::any& a = v.value();
  if (const auto* s = boost::any_cast<std::string>(&a)) return *s;
  if (const auto* i = boost::any_cast<int>(&a)) return std::to_string(*i);
  if (const auto* u = boost::any_cast<std::uint64_t>(&a)) return std::to_string(*u);
  if (const auto* b = boost::any_cast<bool>(&a)) return *b ? "true" : "false";
  if (const auto* d = boost::any_cast<double>(&a)) {
    std::ostringstream out;
    out << *d;
    return out.str();
  }
  throw std::logic_error("--print-config: an option has a type without a text form");
}

// 'value' with every ' written as '\'' : one word to a POSIX shell, whatever the value holds.
std::string shell_quoted(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  out += '\'';
  return out;
}

}  // namespace

ConfigLoader::ConfigLoader(std::string program, std::string usage)
    : program_(std::move(program)), usage_(std::move(usage)), cli_only_("Options"), with_env_("Options (also from the environment or .env, under the NAME shown)") {
  cli_only_.add_options()("help,h", "print this help and exit")(
      "print-config", "print the resolved NAME='value' settings (no secrets) and exit");
  env_option("env-file", "ENV_FILE", po::value<std::string>(),
             "a .env file of NAME=value lines (default ./.env when it exists)");
}

po::options_description_easy_init ConfigLoader::options() { return cli_only_.add_options(); }

ConfigLoader& ConfigLoader::env_option(const char* name, const char* env_name, const po::value_semantic* semantic,
                                       const char* help) {
  std::string text = std::string(help) + " [" + env_name + "]";
  with_env_.add_options()(name, semantic, text.c_str());
  std::string long_name = name;
  if (auto comma = long_name.find(','); comma != std::string::npos) long_name.resize(comma);
  env_names_.emplace_back(long_name, env_name);
  return *this;
}

void ConfigLoader::add_kafka_options() {
  env_option("bootstrap-servers,b", "BOOTSTRAP_SERVERS", po::value<std::string>()->default_value("localhost:9092"),
             "Kafka bootstrap servers, host:port[,host:port...]");
  env_option("topic,t", "TOPIC", po::value<std::string>()->default_value("contas"), "the balances topic");
  env_option("group", "GROUP", po::value<std::string>()->default_value("consulta-saldo"),
             "consumer group name (kept for the original .env; the table reader uses no group)");
  cli_only_.add_options()("property,X", po::value<std::vector<std::string>>()->value_name("key=value"),
                          "any librdkafka property, e.g. -X security.protocol=SASL_SSL (repeatable)");
  env_option("kafka-password", "KAFKA_PASSWORD", po::value<std::string>(),
             "sasl.password, from the environment or .env only (a command line is visible in ps)");
  env_option("kafka-password-file", "KAFKA_PASSWORD_FILE", po::value<std::string>(),
             "a file whose first line is sasl.password");
  env_only_.push_back("kafka-password");
}

void ConfigLoader::add_http_options() {
  env_option("http-host", "HTTP_HOST", po::value<std::string>()->default_value("127.0.0.1"),
             "HTTP listen address (0.0.0.0: every interface, as in a container)");
  env_option("http-port", "HTTP_PORT", po::value<int>()->default_value(5000), "HTTP listen port");
}

void ConfigLoader::add_log_options() {
  env_option("log-level", "LOG_LEVEL", po::value<std::string>()->default_value("info"),
             "trace, debug, info, warn, error or off");
  env_option("log-format", "LOG_FORMAT", po::value<std::string>()->default_value("text"), "text or json (one object per line)");
}

std::optional<po::variables_map> ConfigLoader::parse(int argc, const char* const argv[]) {
  po::options_description all;
  all.add(cli_only_).add(with_env_);
  po::variables_map vm;

  // store() keeps the first value stored for an option, so sources go from strongest to weakest.
  try {
    po::parsed_options parsed = po::command_line_parser(argc, argv).options(all).style(kStyle).run();
    // Without a positional description, program_options would silently drop stray words.
    auto stray = po::collect_unrecognized(parsed.options, po::include_positional);
    if (!stray.empty()) throw ConfigError("unexpected argument '" + stray.front() + "' (see --help)");
    po::store(parsed, vm);
    for (const std::string& name : env_only_) {
      if (vm.count(name) != 0) {
        throw ConfigError("--" + name + " is not taken on the command line (visible in ps): set " +
                          env_name_of(name) + " in the environment or .env");
      }
    }
    if (vm.count("property") != 0) {
      for (const std::string& kv : vm["property"].as<std::vector<std::string>>()) {
        const std::string name = parse_kafka_property(kv).first;
        if (name == "sasl.password" || name == "ssl.key.password" || name == "ssl.keystore.password") {
          throw ConfigError("-X " + name + " is not taken on the command line (visible in ps): set KAFKA_PASSWORD "
                            "or KAFKA_PASSWORD_FILE (sasl.password), or use an unencrypted key file readable by "
                            "this user only");
        }
      }
    }
  } catch (const po::error& e) {
    throw ConfigError(e.what());
  }
  if (vm.count("help") != 0) {
    std::cout << usage_ << "\n\n" << all << std::flush;
    return std::nullopt;
  }

  std::vector<std::string> env_args;
  std::string env_file;
  for (const auto& [option, env_name] : env_names_) {
    const char* v = std::getenv(env_name.c_str());
    if (v == nullptr || *v == '\0') continue;  // an empty variable counts as unset
    env_args.push_back("--" + option + "=" + v);
  }
  store_from(with_env_, env_args, "environment", vm);

  bool explicit_file = vm.count("env-file") != 0 && !vm["env-file"].defaulted();
  env_file = explicit_file ? vm["env-file"].as<std::string>() : ".env";
  if (explicit_file || std::filesystem::exists(env_file)) {
    KeyValues pairs;
    try {
      pairs = parse_dotenv(read_file(env_file));
    } catch (const ConfigError& e) {
      throw ConfigError(env_file + ": " + e.what());
    }
    std::vector<std::string> file_args;
    for (const auto& [option, env_name] : env_names_) {
      if (option == "env-file") continue;
      // The last assignment of a name in the file wins, as when a shell sources it.
      // (A named copy: clang 14 cannot capture a structured binding, and the fuzz build uses clang.)
      const std::string& name = env_name;
      auto it = std::find_if(pairs.rbegin(), pairs.rend(), [&](const auto& kv) { return kv.first == name; });
      if (it != pairs.rend() && !it->second.empty()) file_args.push_back("--" + option + "=" + it->second);
    }
    store_from(with_env_, file_args, env_file, vm);
  }
  try {
    po::notify(vm);
  } catch (const po::error& e) {
    throw ConfigError(e.what());
  }
  if (vm.count("print-config") != 0) {
    print_config(vm);
    return std::nullopt;
  }
  return vm;
}

std::string ConfigLoader::env_name_of(const std::string& option) const {
  for (const auto& [name, env] : env_names_) {
    if (name == option) return env;
  }
  return option;
}

void ConfigLoader::print_config(const po::variables_map& vm) const {
  for (const auto& [option, env_name] : env_names_) {
    if (option == "env-file" || masked_value(env_name, "") == "***") continue;
    std::cout << env_name << '=' << shell_quoted(vm.count(option) != 0 ? value_text(vm[option]) : "") << '\n';
  }
  std::cout << std::flush;
}

int run_main(const char* program, int (*run)(int, const char* const[]), int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const ConfigError& e) {
    std::cerr << program << ": " << e.what() << std::endl;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << program << ": " << e.what() << std::endl;
    return 1;
  }
}

KafkaOptions kafka_options(const po::variables_map& vm) {
  KafkaOptions o;
  o.bootstrap_servers = vm["bootstrap-servers"].as<std::string>();
  o.topic = vm["topic"].as<std::string>();
  o.group = vm["group"].as<std::string>();
  if (trim(o.bootstrap_servers).empty()) throw ConfigError("--bootstrap-servers: empty");
  if (o.topic.empty() || o.topic.size() > 249 || o.topic == "." || o.topic == ".." ||
      !std::all_of(o.topic.begin(), o.topic.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
      })) {
    throw ConfigError("--topic: '" + o.topic + "' is not a valid Kafka topic name (1-249 of [A-Za-z0-9._-])");
  }
  if (o.group.empty()) throw ConfigError("--group: empty");
  if (vm.count("property") != 0) {
    for (const std::string& kv : vm["property"].as<std::vector<std::string>>()) {
      o.properties.push_back(parse_kafka_property(kv));
    }
  }
  if (vm.count("kafka-password") != 0 && vm.count("kafka-password-file") != 0) {
    throw ConfigError("KAFKA_PASSWORD and KAFKA_PASSWORD_FILE are both set: keep one");
  }
  if (vm.count("kafka-password") != 0) {
    o.properties.emplace_back("sasl.password", vm["kafka-password"].as<std::string>());
  } else if (vm.count("kafka-password-file") != 0) {
    const std::string path = vm["kafka-password-file"].as<std::string>();
    std::string text;
    try {
      text = read_file(path);
    } catch (const ConfigError&) {
      throw ConfigError("KAFKA_PASSWORD_FILE: cannot read " + path);
    }
    const std::string_view first_line = trim(std::string_view(text).substr(0, text.find('\n')));
    if (first_line.empty()) throw ConfigError("KAFKA_PASSWORD_FILE: " + path + " is empty");
    o.properties.emplace_back("sasl.password", std::string(first_line));
  }
  return o;
}

HttpOptions http_options(const po::variables_map& vm) {
  HttpOptions o;
  o.host = vm["http-host"].as<std::string>();
  o.port = vm["http-port"].as<int>();
  if (o.host.empty()) throw ConfigError("--http-host: empty");
  if (o.port < 1 || o.port > 65535) throw ConfigError("--http-port: " + std::to_string(o.port) + " is not in 1..65535");
  return o;
}

LogOptions log_options(const po::variables_map& vm) {
  LogOptions o;
  o.level = vm["log-level"].as<std::string>();
  o.format = vm["log-format"].as<std::string>();
  std::transform(o.level.begin(), o.level.end(), o.level.begin(), [](unsigned char c) { return std::tolower(c); });
  std::transform(o.format.begin(), o.format.end(), o.format.begin(), [](unsigned char c) { return std::tolower(c); });
  if (o.level == "warning") o.level = "warn";
  static constexpr std::string_view kLevels[] = {"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (std::find(std::begin(kLevels), std::end(kLevels), o.level) == std::end(kLevels)) {
    throw ConfigError("--log-level: '" + o.level + "' is not one of trace, debug, info, warn, error, off");
  }
  if (o.format != "text" && o.format != "json") {
    throw ConfigError("--log-format: '" + o.format + "' is not text or json");
  }
  return o;
}

KeyValues parse_dotenv(std::string_view text) {
  KeyValues out;
  int line_no = 0;
  while (!text.empty() || line_no == 0) {
    ++line_no;
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    auto fail = [&](const std::string& why) -> ConfigError {
      return ConfigError("line " + std::to_string(line_no) + ": " + why);
    };

    line = trim(line);
    if (line.empty() || line.front() == '#') {
      if (text.empty()) break;
      continue;
    }
    if (line.substr(0, 7) == "export " || line.substr(0, 7) == "export\t") line = trim(line.substr(7));
    std::size_t eq = line.find('=');
    if (eq == std::string_view::npos) throw fail("expected NAME=value");
    std::string_view key = trim(line.substr(0, eq));
    if (!is_env_key(key)) throw fail("'" + std::string(key) + "' is not a valid variable name");
    std::string_view rest = trim(line.substr(eq + 1));
    std::string value;
    if (!rest.empty() && (rest.front() == '"' || rest.front() == '\'')) {
      char quote = rest.front();
      std::size_t i = 1;
      bool closed = false;
      for (; i < rest.size(); ++i) {
        char c = rest[i];
        if (c == quote) {
          closed = true;
          ++i;
          break;
        }
        if (quote == '"' && c == '\\' && i + 1 < rest.size()) {
          char e = rest[++i];
          switch (e) {
            case 'n': value.push_back('\n'); break;
            case 't': value.push_back('\t'); break;
            case 'r': value.push_back('\r'); break;
            default: value.push_back(e); break;
          }
          continue;
        }
        value.push_back(c);
      }
      if (!closed) throw fail(std::string("unterminated ") + quote + " quote");
      std::string_view after = trim(rest.substr(i));
      if (!after.empty() && after.front() != '#') throw fail("unexpected text after the closing quote");
    } else {
      // An unquoted value ends at a '#' that follows whitespace (an inline comment).
      std::size_t hash = std::string_view::npos;
      for (std::size_t i = 1; i < rest.size(); ++i) {
        if (rest[i] == '#' && (rest[i - 1] == ' ' || rest[i - 1] == '\t')) {
          hash = i;
          break;
        }
      }
      if (!rest.empty() && rest.front() == '#') hash = 0;
      value = std::string(trim(rest.substr(0, hash)));
    }
    out.emplace_back(std::string(key), std::move(value));
    if (text.empty()) break;
  }
  return out;
}

std::pair<std::string, std::string> parse_kafka_property(std::string_view key_value) {
  std::size_t eq = key_value.find('=');
  if (eq == std::string_view::npos) {
    throw ConfigError("-X " + std::string(key_value) + ": expected key=value");
  }
  std::string_view key = trim(key_value.substr(0, eq));
  if (key.empty()) throw ConfigError("-X " + std::string(key_value) + ": the property name is missing");
  return {std::string(key), std::string(key_value.substr(eq + 1))};
}

bool is_secret_property(std::string_view name, std::string_view value) {
  auto lower = [](std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
  };
  const std::string n = lower(name);
  // By name: librdkafka's passwords and secrets (sasl.password, ssl.key.password,
  // ssl.keystore.password, sasl.oauthbearer.client.secret, *.passphrase), inline key material and
  // every inline PEM (ssl.key.pem, ssl.certificate.pem may carry a key too), the OAUTHBEARER
  // config and extensions (clientSecret=..., free-form key=value), JAAS configs, tokens.
  for (std::string_view secret : {"password", "passphrase", "secret", "key", "jaas", "token", "credential",
                                  "sasl.oauthbearer.config", "sasl.oauthbearer.extensions"}) {
    if (n.find(secret) != std::string::npos) return true;
  }
  if (n.ends_with(".pem")) return true;
  // By value: whatever the name, text that names a secret or holds PEM key material.
  const std::string v = lower(value);
  for (std::string_view secret : {"password", "secret", "passphrase", "private key", "token="}) {
    if (v.find(secret) != std::string::npos) return true;
  }
  return false;
}

std::string masked_value(std::string_view name, std::string_view value) {
  return is_secret_property(name, value) ? "***" : std::string(value);
}

}  // namespace saldo
