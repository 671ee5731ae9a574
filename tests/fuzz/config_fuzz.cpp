// libFuzzer target: the .env parser and the -X key=value parser on arbitrary text. They either
// return values or throw ConfigError; nothing else escapes, nothing crashes.
#include <cstdint>
#include <string_view>

#include "common/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    for (const auto& [key, value] : saldo::parse_dotenv(text)) {
      if (key.empty()) __builtin_trap();
    }
  } catch (const saldo::ConfigError&) {
  }
  try {
    auto [key, value] = saldo::parse_kafka_property(text);
    if (key.empty()) __builtin_trap();
  } catch (const saldo::ConfigError&) {
  }
  return 0;
}
