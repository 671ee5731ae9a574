#pragma once
// The partition a key belongs on: the Java client's default partitioner (murmur2, as librdkafka's
// "murmur2_random"), which saldo's producers use. Pure, so the reader can check every record.
#include <cstdint>
#include <string_view>

namespace saldo {

std::uint32_t murmur2(std::string_view key) noexcept;
// (murmur2(key) & 0x7fffffff) % partitions; partitions > 0.
std::int32_t murmur2_partition(std::string_view key, std::int32_t partitions) noexcept;

}  // namespace saldo
