#include "common/config.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "common/shared_options.h"
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

// program_options' form of a declaration; it owns the returned pointer once added.
const po::value_semantic* semantic_of(const OptionSpec& spec) {
  const std::string value_name(spec.value_name.empty() ? "arg" : spec.value_name);
  switch (spec.type) {
    case OptionType::kSwitch:
      return nullptr;
    case OptionType::kText: {
      auto* v = po::value<std::string>()->value_name(value_name);
      if (spec.default_value) v->default_value(std::string(*spec.default_value));
      return v;
    }
    case OptionType::kInt: {
      auto* v = po::value<int>()->value_name(value_name);
      if (spec.default_value) v->default_value(std::stoi(std::string(*spec.default_value)));
      return v;
    }
    case OptionType::kBool: {
      auto* v = po::value<bool>()->value_name(value_name);
      if (spec.default_value) v->default_value(*spec.default_value == "true");
      if (spec.implicit) v->implicit_value(true);
      return v;
    }
    case OptionType::kList:
      return po::value<std::vector<std::string>>()->value_name(value_name);
  }
  return nullptr;
}

}  // namespace

ConfigLoader::ConfigLoader(std::string program, std::string usage)
    : program_(std::move(program)), usage_(std::move(usage)), cli_only_("Options"), with_env_("Options (also from the environment or .env, under the NAME shown)") {
  add(builtin_option_specs());
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

ConfigLoader& ConfigLoader::add(const OptionSpec& spec) {
  std::string help(spec.help);
  if (spec.range) help += " (" + std::to_string(spec.range->min) + ".." + std::to_string(spec.range->max) + ")";
  const std::string name(spec.name);
  const po::value_semantic* semantic = semantic_of(spec);
  if (spec.env.empty()) {
    if (semantic == nullptr) cli_only_.add_options()(name.c_str(), help.c_str());
    else cli_only_.add_options()(name.c_str(), semantic, help.c_str());
  } else {
    const std::string env(spec.env);
    env_option(name.c_str(), env.c_str(), semantic, help.c_str());
  }
  if (spec.exposure == Exposure::kSecret) env_only_.emplace_back(long_name(spec));
  specs_.push_back(spec);
  return *this;
}

ConfigLoader& ConfigLoader::add(const std::vector<OptionSpec>& specs) {
  for (const OptionSpec& s : specs) add(s);
  return *this;
}

void ConfigLoader::add_kafka_options() { add(kafka_option_specs()); }
void ConfigLoader::add_http_options() { add(http_option_specs()); }
void ConfigLoader::add_log_options() { add(log_option_specs()); }

const OptionSpec* ConfigLoader::spec_of(const std::string& option) const {
  for (const OptionSpec& s : specs_) {
    if (long_name(s) == option) return &s;
  }
  return nullptr;
}

// A command line is readable by every user of the machine (ps, /proc/<pid>/cmdline).
void ConfigLoader::refuse_secrets_on_command_line(const po::variables_map& vm) const {
  for (const std::string& name : env_only_) {
    if (vm.count(name) != 0) {
      throw ConfigError("--" + name + " is not taken on the command line (visible in ps): set " +
                        env_name_of(name) + " in the environment or .env");
    }
  }
  for (const OptionSpec& s : specs_) {
    const std::string name(long_name(s));
    if (s.exposure != Exposure::kPasswordMasked || vm.count(name) == 0 || vm[name].defaulted()) continue;
    if (conninfo_has_password(vm[name].as<std::string>())) {
      throw ConfigError("--" + name + " holds a password, which the command line shows to every user (ps): set " +
                        std::string(s.env) + " in the environment or .env, or the password in PGPASSWORD or "
                        "~/.pgpass");
    }
  }
  if (vm.count("property") != 0) {
    for (const std::string& kv : vm["property"].as<std::vector<std::string>>()) {
      const auto [name, value] = parse_kafka_property(kv);
      if (carries_secret(name, value)) {
        throw ConfigError("-X " + name + " is not taken on the command line (visible in ps): set KAFKA_PASSWORD "
                          "or KAFKA_PASSWORD_FILE (sasl.password) in the environment or .env, and keep keys in "
                          "files readable by this user only (ssl.key.location, an unencrypted key)");
      }
    }
  }
}

void ConfigLoader::check_ranges(const po::variables_map& vm) const {
  for (const OptionSpec& s : specs_) {
    const std::string name(long_name(s));
    if (!s.range || vm.count(name) == 0) continue;
    const long long v = vm[name].as<int>();
    if (v < s.range->min || v > s.range->max) {
      throw ConfigError("--" + name + ": " + std::to_string(v) + " is not in " + std::to_string(s.range->min) + ".." +
                        std::to_string(s.range->max));
    }
  }
}

std::string ConfigLoader::options_markdown() const {
  return saldo::options_markdown(
      program_ + " configuration",
      "Generated from the option table by `" + program_ +
          " --print-options-markdown`; do not edit by hand (scripts/test.sh checks it is current).\n\n"
          "Every option is read from the command line, else the environment, else `.env` in the current "
          "directory (or `--env-file`/`ENV_FILE`), else its default. A value outside its range, or settings "
          "that do not fit together, get one line on stderr naming the option and exit status 2. "
          "`--print-config` runs the same checks as a start, then prints the resolved settings as shell-quoted "
          "`NAME='value'` lines (passwords masked, names of secrets left out); `scripts/start.sh` reads its "
          "settings that way.",
      specs_);
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
    refuse_secrets_on_command_line(vm);
  } catch (const po::error& e) {
    throw ConfigError(e.what());
  }
  if (vm.count("help") != 0) {
    std::cout << usage_ << "\n\n" << all << std::flush;
    return std::nullopt;
  }
  if (vm.count("print-options-markdown") != 0) {
    std::cout << options_markdown() << std::flush;
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
  check_ranges(vm);
  if (vm.count("print-config") != 0 && !defer_print_config_) {
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
    if (option == "env-file") continue;
    const OptionSpec* spec = spec_of(option);
    // An option declared without a table: left out when its name looks secret.
    const Exposure exposure = spec != nullptr ? spec->exposure
                              : is_secret_property(env_name, "") ? Exposure::kSecret
                                                                 : Exposure::kShown;
    if (exposure == Exposure::kOmitted || exposure == Exposure::kSecret) continue;
    std::string value = vm.count(option) != 0 ? value_text(vm[option]) : "";
    if (exposure == Exposure::kPasswordMasked) value = mask_conninfo_password(value);
    std::cout << env_name << '=' << shell_quoted(value) << '\n';
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

}  // namespace saldo
