#pragma once
// What a reader of a compacted topic must do after looking at the broker: nothing, read partitions
// that were added, or start over because the topic no longer holds what was read. A value, decided
// here once; the table and the PostgreSQL sink only act on it. Pure.
#include <cstdint>
#include <string>
#include <string_view>

#include "consumer_service/topic/log_range.h"

namespace saldo {

struct TopicChange {
  enum class Kind { kNone, kPartitionsAdded, kReset };
  Kind kind = Kind::kNone;
  int partitions = 0;                        // kPartitionsAdded: the topic's new partition count
  ResetCause cause = ResetCause::kRecreated;  // kReset only
  std::string why;                           // kReset only: the log's text

  static TopicChange none() { return {}; }
  static TopicChange added(int partitions) { return {Kind::kPartitionsAdded, partitions, {}, {}}; }
  static TopicChange reset(TopicReset r) { return {Kind::kReset, 0, r.cause, std::move(r.why)}; }
  explicit operator bool() const noexcept { return kind != Kind::kNone; }
};

// The topic has `now` partitions (-1: the broker did not say, 0: gone) and the reader read `read`.
TopicChange partition_count_change(std::string_view topic, int now, int read);

// A partition's log is [low, high) and the reader's next offset in it is `position` (< 0: none read).
TopicChange log_change(std::string_view topic, std::int32_t partition, std::int64_t position, std::int64_t low,
                       std::int64_t high);

}  // namespace saldo
