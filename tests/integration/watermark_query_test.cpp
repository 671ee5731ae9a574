// ask_watermarks (common/watermark_query.h) against the real broker: each partition's
// log start and end, for a partition whose start was moved by DeleteRecords too, over any range of
// partitions; a topic that does not exist is an error, never an answer.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "common/kafka_handles.h"
#include "common/watermark_query.h"
#include "tests/support/kafka_test_support.h"

namespace saldo {
namespace {

constexpr int kTimeoutMs = 10000;

KafkaHandle new_consumer() {
  KafkaConf conf(rd_kafka_conf_new());
  set_kafka_property(conf.get(), "bootstrap.servers", test::bootstrap_servers());
  set_kafka_property(conf.get(), "group.id", "saldo-watermark-query-test");
  return make_kafka_handle(RD_KAFKA_CONSUMER, std::move(conf));
}

// DeleteRecords: partition `partition`'s log starts at `before` from then on (throws on failure).
void delete_records(rd_kafka_t* rk, const std::string& topic, std::int32_t partition, std::int64_t before) {
  rd_kafka_topic_partition_list_t* offsets = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(offsets, topic.c_str(), partition)->offset = before;
  rd_kafka_DeleteRecords_t* del = rd_kafka_DeleteRecords_new(offsets);
  rd_kafka_topic_partition_list_destroy(offsets);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk);
  rd_kafka_DeleteRecords(rk, &del, 1, nullptr, queue);
  rd_kafka_DeleteRecords_destroy(del);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, 30000);
  std::string error = ev == nullptr ? "no answer in 30 s" : "";
  if (ev != nullptr) {
    if (rd_kafka_event_error(ev)) error = rd_kafka_event_error_string(ev);
    const rd_kafka_DeleteRecords_result_t* result = rd_kafka_event_DeleteRecords_result(ev);
    const rd_kafka_topic_partition_list_t* done = result ? rd_kafka_DeleteRecords_result_offsets(result) : nullptr;
    if (error.empty() && (done == nullptr || done->cnt != 1)) error = "no partition in the result";
    if (error.empty() && done->elems[0].err) error = rd_kafka_err2str(done->elems[0].err);
    rd_kafka_event_destroy(ev);
  }
  rd_kafka_queue_destroy(queue);
  if (!error.empty()) throw std::runtime_error("DeleteRecords: " + error);
}

std::string text(const std::vector<PartitionMarks>& marks) {
  std::string out;
  for (const PartitionMarks& m : marks) {
    out += "[" + std::to_string(m.partition) + ": " + std::to_string(m.low) + ", " + std::to_string(m.high) + ") ";
  }
  return out;
}

TEST(WatermarkQuery, StartAndEndOfEveryPartitionAStartMovedByDeleteRecordsAndAnyRange) {
  const std::string topic = test::unique_topic("watermarks");
  // The broker refuses DeleteRecords on a topic that only compacts.
  test::create_topic(topic, 3, {{"cleanup.policy", "compact,delete"}, {"retention.ms", "-1"}});
  {
    test::RawProducer producer;
    for (std::int32_t p = 0; p < 3; ++p) {
      for (int i = 0; i < 10 * (p + 1); ++i) {
        producer.send(topic, test::numbered("c", p * 100 + i), std::string(R"({"saldo":1.00})"), p);
      }
    }
    producer.flush();
  }
  const KafkaHandle rk = new_consumer();
  delete_records(rk.get(), topic, 1, 5);

  const WatermarkAnswer all = ask_watermarks(rk.get(), topic, 0, 3, kTimeoutMs);
  ASSERT_EQ(all.error, "");
  ASSERT_EQ(all.marks.size(), 3u) << text(all.marks);
  const std::vector<std::vector<std::int64_t>> want = {{0, 0, 10}, {1, 5, 20}, {2, 0, 30}};
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(all.marks[i].partition, want[i][0]) << text(all.marks);
    EXPECT_EQ(all.marks[i].low, want[i][1]) << text(all.marks);
    EXPECT_EQ(all.marks[i].high, want[i][2]) << text(all.marks);
  }

  const WatermarkAnswer tail = ask_watermarks(rk.get(), topic, 1, 3, kTimeoutMs);
  ASSERT_EQ(tail.error, "");
  ASSERT_EQ(tail.marks.size(), 2u) << text(tail.marks);
  EXPECT_EQ(tail.marks[0].partition, 1);
  EXPECT_EQ(tail.marks[0].low, 5);
  EXPECT_EQ(tail.marks[1].partition, 2);
  EXPECT_EQ(tail.marks[1].high, 30);

  const WatermarkAnswer none = ask_watermarks(rk.get(), topic, 2, 2, kTimeoutMs);
  EXPECT_EQ(none.error, "");
  EXPECT_TRUE(none.marks.empty());
  test::delete_topic(topic);
}

TEST(WatermarkQuery, AnEmptyPartitionIsZeroToZero) {
  const std::string topic = test::unique_topic("watermarks-empty");
  test::create_topic(topic, 2);
  const KafkaHandle rk = new_consumer();
  const WatermarkAnswer a = ask_watermarks(rk.get(), topic, 0, 2, kTimeoutMs);
  ASSERT_EQ(a.error, "");
  ASSERT_EQ(a.marks.size(), 2u);
  for (const PartitionMarks& m : a.marks) {
    EXPECT_EQ(m.low, 0) << text(a.marks);
    EXPECT_EQ(m.high, 0) << text(a.marks);
  }
  test::delete_topic(topic);
}

TEST(WatermarkQuery, ATopicThatDoesNotExistIsAnErrorNotAnAnswer) {
  const KafkaHandle rk = new_consumer();
  const WatermarkAnswer a = ask_watermarks(rk.get(), test::unique_topic("watermarks-missing"), 0, 1, 3000);
  EXPECT_NE(a.error, "");
  EXPECT_TRUE(a.marks.empty());
}

}  // namespace
}  // namespace saldo
