#include "producer/prompt_line.h"

#include <algorithm>
#include <vector>

#include "common/customer_id.h"
#include "common/text.h"

namespace saldo {
namespace {

std::vector<std::string_view> words_of(std::string_view line) {
  std::vector<std::string_view> words;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) words.push_back(line.substr(start, i - start));
  }
  return words;
}

PromptLine invalid(std::string why) {
  PromptLine p;
  p.kind = PromptLine::Kind::kInvalid;
  p.error = std::move(why);
  return p;
}

PromptLine invalid_id(std::string_view id) {
  return invalid("invalid cliente_id '" + std::string(id) + "': use 1 to 64 of [A-Za-z0-9._-]");
}

PromptLine update(std::string_view id, std::string_view amount_text) {
  std::string why;
  const std::optional<Centavos> amount = parse_typed_amount(amount_text, &why);
  if (!amount) return invalid(std::move(why));
  PromptLine p;
  p.kind = PromptLine::Kind::kUpdate;
  p.id = std::string(id);
  p.amount = *amount;
  return p;
}

}  // namespace

std::optional<Centavos> parse_typed_amount(std::string_view text, std::string* error) {
  std::string typed(text);
  if (std::count(typed.begin(), typed.end(), ',') == 1 && typed.find('.') == std::string::npos) {
    typed[typed.find(',')] = '.';
  }
  MoneyError why = MoneyError::kEmpty;
  const std::optional<Centavos> amount = parse_money(typed, &why);
  if (!amount && error != nullptr) {
    *error = "invalid saldo '" + std::string(text) + "': " + std::string(to_string(why));
    if (text.find(',') != std::string_view::npos) *error += " (a comma is the decimal separator only alone: 12,50 or 12.50)";
  }
  return amount;
}

PromptLine parse_prompt_line(std::string_view line, PromptAt at, std::string_view id) {
  const std::vector<std::string_view> words = words_of(trim(line));
  PromptLine p;
  if (words.empty()) return p;
  const std::string_view first = words[0];
  if (words.size() == 1 && (first == "quit" || first == "exit" || first == "q")) {
    p.kind = PromptLine::Kind::kQuit;
    return p;
  }
  if (words.size() == 1 && (first == "help" || first == "?")) {
    p.kind = PromptLine::Kind::kHelp;
    return p;
  }
  if (first == "del" || first == "delete") {
    if (words.size() != 2) return invalid("usage: del <id>");
    if (!is_valid_customer_id(words[1])) return invalid_id(words[1]);
    p.kind = PromptLine::Kind::kDelete;
    p.id = std::string(words[1]);
    return p;
  }
  if (at == PromptAt::kAmount) {
    if (words.size() != 1) return invalid("type a balance, or an empty line to go back to the id; 'help' for commands");
    return update(id, first);
  }
  if (words.size() > 2) return invalid("too many words; type 'help'");
  if (!is_valid_customer_id(first)) return invalid_id(first);
  if (words.size() == 2) return update(first, words[1]);
  p.kind = PromptLine::Kind::kId;
  p.id = std::string(first);
  return p;
}

}  // namespace saldo
