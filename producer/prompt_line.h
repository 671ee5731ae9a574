#pragma once
// What a line typed at producer_interactive's prompts asks for. The commands (quit, help, del <id>)
// mean the same at every prompt, so a person who changes their mind at "saldo>" is never stuck
// there; an empty line at "saldo>" goes back to the id. Pure: the prompt only does what it says.
#include <optional>
#include <string>
#include <string_view>

#include "common/money.h"

namespace saldo {

enum class PromptAt { kId, kAmount };

struct PromptLine {
  enum class Kind {
    kNothing,  // an empty line: at the id prompt, ask again; at the balance prompt, back to the id
    kQuit,
    kHelp,
    kDelete,   // id
    kId,       // id alone: the balance is asked next
    kUpdate,   // id and amount ("<id> <saldo>" at the id prompt, or the balance at the balance prompt)
    kInvalid,  // error
  };
  Kind kind = Kind::kNothing;
  std::string id;
  Centavos amount = 0;
  std::string error;
};

// `id`: the id the balance prompt is asking about (used at PromptAt::kAmount).
PromptLine parse_prompt_line(std::string_view line, PromptAt at, std::string_view id = {});

// A balance as a person types it: as parse_money, and a single comma with no dot is the decimal
// separator ("12,50" is 12.50, as written in Brazil). Sets *error to why it is not one.
std::optional<Centavos> parse_typed_amount(std::string_view text, std::string* error);

}  // namespace saldo
