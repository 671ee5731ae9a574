#include "producer/presets.h"

namespace saldo {

std::optional<Preset> parse_preset(std::string_view name) {
  if (name == "reliable") return Preset::kReliable;
  if (name == "fast") return Preset::kFast;
  if (name == "event-by-event") return Preset::kEventByEvent;
  return std::nullopt;
}

std::string_view to_string(Preset preset) {
  switch (preset) {
    case Preset::kReliable: return "reliable";
    case Preset::kFast: return "fast";
    case Preset::kEventByEvent: return "event-by-event";
  }
  return "reliable";
}

KeyValues preset_properties(Preset preset) {
  // The Java client's partitioner, so Java, Python and our producers put a key in the same partition.
  KeyValues p = {{"partitioner", "murmur2_random"}, {"enable.idempotence", "true"}, {"acks", "all"}};
  switch (preset) {
    case Preset::kReliable:
      p.insert(p.end(), {{"compression.type", "lz4"}, {"linger.ms", "5"}});
      break;
    case Preset::kFast:
      p.insert(p.end(), {{"compression.type", "lz4"},
                         {"linger.ms", "100"},
                         {"batch.size", "1000000"},
                         {"batch.num.messages", "100000"},
                         {"queue.buffering.max.messages", "1000000"},
                         {"queue.buffering.max.kbytes", "1048576"}});
      break;
    case Preset::kEventByEvent:
      p.insert(p.end(), {{"linger.ms", "0"}, {"batch.num.messages", "1"}});
      break;
  }
  return p;
}

}  // namespace saldo
