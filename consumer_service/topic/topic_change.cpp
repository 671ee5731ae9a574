#include "consumer_service/topic/topic_change.h"

namespace saldo {

TopicChange partition_count_change(std::string_view topic, int now, int read) {
  if (auto reset = partitions_shrank(topic, now, read)) return TopicChange::reset(std::move(*reset));
  if (now > read) return TopicChange::added(now);
  return TopicChange::none();
}

TopicChange log_change(std::string_view topic, std::int32_t partition, std::int64_t position, std::int64_t low,
                       std::int64_t high) {
  if (auto reset = position_outside_log(topic, partition, position, low, high)) {
    return TopicChange::reset(std::move(*reset));
  }
  return TopicChange::none();
}

}  // namespace saldo
