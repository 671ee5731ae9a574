#include "common/option_spec.h"

namespace saldo {
namespace {

// A table cell: '|' would end it, a line break would end the row, <id> would be read as HTML.
std::string cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += "\\|";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

std::string code(std::string_view text) { return text.empty() ? std::string() : "`" + std::string(text) + "`"; }

std::string option_cell(const OptionSpec& spec) {
  std::string out = "`--" + std::string(long_name(spec));
  const std::size_t comma = spec.name.find(',');
  if (spec.type != OptionType::kSwitch && !(spec.type == OptionType::kBool && spec.implicit)) {
    out += " " + std::string(spec.value_name.empty() ? "VALUE" : spec.value_name);
  }
  out += "`";
  if (comma != std::string_view::npos) out += ", `-" + std::string(spec.name.substr(comma + 1)) + "`";
  return out;
}

std::string_view secrecy_cell(Exposure e) {
  switch (e) {
    case Exposure::kShown: return "";
    case Exposure::kPasswordMasked: return "password masked; refused on the command line when it holds one";
    case Exposure::kOmitted: return "not printed by `--print-config`";
    case Exposure::kSecret: return "secret: environment or `.env` only, never printed";
  }
  return "";
}

}  // namespace

std::string_view long_name(const OptionSpec& spec) { return spec.name.substr(0, spec.name.find(',')); }

std::string options_markdown(std::string_view title, std::string_view intro, const std::vector<OptionSpec>& specs) {
  std::string out = "# " + std::string(title) + "\n\n" + std::string(intro) + "\n\n";
  out += "| option | environment / `.env` | default | range | description | secrecy |\n";
  out += "|---|---|---|---|---|---|\n";
  for (const OptionSpec& s : specs) {
    std::string range;
    if (s.range) range = std::to_string(s.range->min) + "–" + std::to_string(s.range->max);
    out += "| " + option_cell(s) + " | " + code(s.env) + " | " +
           (s.default_value ? code(s.default_value->empty() ? "''" : *s.default_value) : std::string()) + " | " +
           range + " | " + cell(s.help) + " | " + std::string(secrecy_cell(s.exposure)) + " |\n";
  }
  return out;
}

}  // namespace saldo
