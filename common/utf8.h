#pragma once
// The one UTF-8 rule of the project: well formed, shortest form, no surrogates, at most U+10FFFF.
#include <cstddef>
#include <string_view>

namespace saldo {

// Length (2 to 4) of the valid multi-byte sequence starting at s[i], or 0 when it is not one.
// ASCII bytes are not sequences here: callers handle them on their own fast path.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept;

}  // namespace saldo
