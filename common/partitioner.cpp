#include "common/partitioner.h"

namespace saldo {

std::uint32_t murmur2(std::string_view key) noexcept {
  constexpr std::uint32_t kSeed = 0x9747b28c, kM = 0x5bd1e995;
  constexpr int kR = 24;
  const auto byte = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(key[i])); };
  const std::size_t n = key.size();
  std::uint32_t h = kSeed ^ static_cast<std::uint32_t>(n);
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    std::uint32_t k = byte(i) | byte(i + 1) << 8 | byte(i + 2) << 16 | byte(i + 3) << 24;
    k *= kM;
    k ^= k >> kR;
    k *= kM;
    h *= kM;
    h ^= k;
  }
  switch (n - i) {
    case 3: h ^= byte(i + 2) << 16; [[fallthrough]];
    case 2: h ^= byte(i + 1) << 8; [[fallthrough]];
    case 1: h ^= byte(i); h *= kM; break;
    default: break;
  }
  h ^= h >> 13;
  h *= kM;
  h ^= h >> 15;
  return h;
}

std::int32_t murmur2_partition(std::string_view key, std::int32_t partitions) noexcept {
  return static_cast<std::int32_t>((murmur2(key) & 0x7fffffff) % static_cast<std::uint32_t>(partitions));
}

}  // namespace saldo
