#include "consumer_service/topic/log_range.h"

#include <array>

namespace saldo {

std::string_view to_string(ResetCause cause) {
  static constexpr std::array<std::string_view, static_cast<std::size_t>(ResetCause::kCount)> kNames = {
      "recreated", "truncated", "shrunk", "gone"};
  return kNames.at(static_cast<std::size_t>(cause));
}

std::optional<TopicReset> position_outside_log(std::string_view topic, std::int32_t partition,
                                               std::int64_t position, std::int64_t low, std::int64_t high) {
  if (position < 0) return std::nullopt;
  const std::string where = "partition " + std::to_string(partition) + " of '" + std::string(topic) + "'";
  if (high >= 0 && high < position) {
    return TopicReset{ResetCause::kRecreated, where + " ends at " + std::to_string(high) + ", below the " +
                                                  std::to_string(position) +
                                                  " already read (the topic was recreated or truncated)"};
  }
  if (low > position) {
    return TopicReset{ResetCause::kTruncated, where + " now starts at " + std::to_string(low) +
                                                  ", past the unread offset " + std::to_string(position) +
                                                  " (records were deleted before they were read)"};
  }
  return std::nullopt;
}

std::optional<TopicReset> partitions_shrank(std::string_view topic, int now, int read) {
  if (now < 0 || now >= read) return std::nullopt;
  if (now == 0) return TopicReset{ResetCause::kGone, "topic '" + std::string(topic) + "' was deleted"};
  return TopicReset{ResetCause::kShrunk, "topic '" + std::string(topic) + "' has " + std::to_string(now) +
                                             " partitions, fewer than the " + std::to_string(read) +
                                             " read (it was recreated)"};
}

}  // namespace saldo
