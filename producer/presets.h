#pragma once
// Producer presets as users of Kafka data-generation tools know them. Each is a list of librdkafka
// properties applied before the user's -X, so any of them can still be overridden.
#include <optional>
#include <string_view>

#include "common/config.h"

namespace saldo {

enum class Preset {
  kReliable,      // default: acks=all, idempotent, lz4, linger 5 ms
  kFast,          // big batches, linger 100 ms: throughput over latency
  kEventByEvent,  // no batching: each record leaves at once (demos, the interactive prompt)
};

std::optional<Preset> parse_preset(std::string_view name);
std::string_view to_string(Preset preset);

// The preset's properties plus what every saldo producer needs (murmur2_random partitioner,
// idempotence, acks=all), in the order they must be applied.
KeyValues preset_properties(Preset preset);

}  // namespace saldo
