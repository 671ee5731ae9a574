#pragma once
// One declaration per option: the table a binary's --help, validation, --print-config and its
// generated configuration page (docs/configuration.md) are all made from.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace saldo {

enum class OptionType {
  kSwitch,  // present or not, no value (--help)
  kText,
  kInt,
  kBool,    // true/false; `implicit` makes a bare --name mean true
  kList,    // repeatable (-X key=value)
};

// What may be seen of a value, and where it may come from.
enum class Exposure {
  kShown,           // printed by --print-config
  kPasswordMasked,  // a connection string: refused on the command line when it holds a password,
                    // printed by --print-config with the password as ***
  kOmitted,         // left out of --print-config (names of secret files, kept out since the first release)
  kSecret,          // the secret itself: environment or .env only, never printed
};

struct IntRange {
  long long min;
  long long max;
};

struct OptionSpec {
  std::string_view name = {};          // long name, ",x" for a short one: "topic,t"
  std::string_view env = {};           // NAME in the environment and .env; "" for the command line only
  OptionType type = OptionType::kText;
  std::optional<std::string_view> default_value = std::nullopt;  // as it would be typed; nullopt: none (or derived, see help)
  std::optional<IntRange> range = std::nullopt;  // kInt only: refused outside it, with the range in the message
  std::string_view help = {};
  Exposure exposure = Exposure::kShown;
  bool implicit = false;               // kBool: --name alone means true
  std::string_view value_name = {};    // the value's placeholder in --help ("key=value")
};

// "topic" of "topic,t".
std::string_view long_name(const OptionSpec& spec);

// The Markdown page of one binary's options, from its table: a title, the intro paragraph, and one
// row per option (option, NAME, default, range, description, secret).
std::string options_markdown(std::string_view title, std::string_view intro, const std::vector<OptionSpec>& specs);

}  // namespace saldo
