#pragma once
// JSON string literal output, shared by the codec and the JSON log format.
#include <string>
#include <string_view>

namespace saldo {

// Appends `s` as a quoted JSON string. Control characters and invalid UTF-8 bytes are escaped
// (an invalid byte becomes U+FFFD), so the output is always valid JSON.
void append_json_string(std::string& out, std::string_view s);

}  // namespace saldo
