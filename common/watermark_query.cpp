#include "common/watermark_query.h"

#include <algorithm>

#include "common/kafka_handles.h"

namespace saldo {

std::string list_offsets(rd_kafka_t* rk, const std::string& topic, std::int32_t from, std::int32_t to,
                         std::int64_t timestamp, int timeout_ms, std::vector<std::int64_t>& out) {
  if (from >= to) return "no partitions to ask about";
  const PartitionList list(rd_kafka_topic_partition_list_new(to - from));
  for (std::int32_t p = from; p < to; ++p) rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), p)->offset = timestamp;
  const char* which = timestamp == RD_KAFKA_OFFSET_BEGINNING ? "start" : "end";
  if (const rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk, list.get(), timeout_ms)) {
    return std::string("the partitions' ") + which + " offsets: " + rd_kafka_err2str(err);
  }
  out.assign(static_cast<std::size_t>(to - from), -1);
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& p = list->elems[i];
    if (p.err) return "partition " + std::to_string(p.partition) + "'s " + which + " offset: " + rd_kafka_err2str(p.err);
    // A partition the answers left out keeps the timestamp asked with, which is negative.
    if (p.offset < 0 || p.partition < from || p.partition >= to) {
      return "partition " + std::to_string(p.partition) + "'s " + which + " offset: no answer";
    }
    out[static_cast<std::size_t>(p.partition - from)] = p.offset;
  }
  return {};
}

WatermarkAnswer ask_watermarks(rd_kafka_t* rk, const std::string& topic, std::int32_t from, std::int32_t to,
                               int timeout_ms) {
  WatermarkAnswer answer;
  if (from >= to) return answer;
  std::vector<std::int64_t> low, high;
  answer.error = list_offsets(rk, topic, from, to, RD_KAFKA_OFFSET_BEGINNING, timeout_ms, low);
  if (answer.error.empty()) answer.error = list_offsets(rk, topic, from, to, RD_KAFKA_OFFSET_END, timeout_ms, high);
  if (!answer.error.empty()) return answer;
  for (std::int32_t p = from; p < to; ++p) {
    const auto i = static_cast<std::size_t>(p - from);
    // The end is the last stable offset for a read_committed client: below the start only when an
    // open transaction began before records deleted (DeleteRecords). Nothing to read there yet.
    answer.marks.push_back({p, low[i], std::max(low[i], high[i])});
  }
  return answer;
}

}  // namespace saldo
