#pragma once
// Whether the topic still holds what a reader read from it: the in-memory table and the PostgreSQL
// sink both start over from the beginning when it does not. Pure: the callers fetch the watermarks.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace saldo {

// Why what was read from a topic no longer stands.
enum class ResetCause {
  kRecreated,  // a partition's log ends below what was read (recreated, or truncated at its end)
  kTruncated,  // a partition's log starts past what was still to be read (records deleted unread)
  kShrunk,     // fewer partitions than were read (recreated with fewer)
  kGone,       // the topic was deleted
  kCount,
};
std::string_view to_string(ResetCause cause);

struct TopicReset {
  ResetCause cause;
  std::string why;  // for the log: names the topic, the partition and the offsets
};

// Why a partition's log [low, high) no longer continues from `position` (the next offset to read;
// negative: nothing read yet), or nullopt when it does.
std::optional<TopicReset> position_outside_log(std::string_view topic, std::int32_t partition,
                                               std::int64_t position, std::int64_t low, std::int64_t high);

// Why a topic now having `now` partitions (0: gone) means it is a new topic for a reader of `read`,
// or nullopt (the same count, or more: added partitions are read from their start).
std::optional<TopicReset> partitions_shrank(std::string_view topic, int now, int read);

}  // namespace saldo
