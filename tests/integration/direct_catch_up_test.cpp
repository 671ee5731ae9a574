// The direct catch-up against the real broker: what it hands over is record for record what an
// independent librdkafka consumer reads (offset, timestamp, key, value), whatever batches the topic
// holds, and librdkafka takes over exactly where it ended (nothing twice, nothing skipped).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "common/worker_thread.h"
#include "consumer_service/topic/consumer_settings.h"
#include "consumer_service/topic/topic_reader.h"
#include "tests/support/kafka_test_support.h"

namespace saldo {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::Record;

constexpr std::int64_t kBaseTime = 1'700'000'000'000;

TopicReaderSettings settings_for(const std::string& topic, bool direct) {
  TopicReaderSettings s{.kafka = KafkaOptions{test::bootstrap_servers(), topic, "", {}},
                        .defaults = table_consumer_defaults()};
  s.defaults.emplace_back("group.id", "saldo-direct-catch-up-test");
  s.direct_catch_up = direct;
  s.max_batch = 1000;
  return s;
}

Record copy_of(const TopicRecord& r) {
  Record out;
  out.partition = r.partition;
  out.offset = r.offset;
  out.timestamp = r.timestamp_ms;
  if (r.key) out.key = std::string(*r.key);
  if (r.value) out.value = std::string(*r.value);
  return out;
}

// Reads with the catch-up from `start` (per partition, -1: the beginning) until `want` records came,
// then until librdkafka was assigned; the records in the order they came.
struct Read {
  std::vector<Record> records;
  bool caught_up_directly = false;
};
Read read_catching_up(CompactedTopicReader& reader, int partitions, const std::map<std::int32_t, std::int64_t>& start,
                      std::size_t want) {
  const auto marks = reader.read_watermarks(0, partitions);
  EXPECT_TRUE(marks.has_value());
  std::vector<std::int32_t> all;
  for (std::int32_t p = 0; p < partitions; ++p) all.push_back(p);
  reader.assign_catching_up(
      partitions, all, [&](std::int32_t p) { return start.count(p) ? start.at(p) : -1; }, *marks);
  Read out;
  out.caught_up_directly = reader.catching_up();
  const auto deadline = Clock::now() + 60s;
  while ((out.records.size() < want || reader.catching_up()) && Clock::now() < deadline) {
    reader.poll(100ms);
    for (const TopicRecord& r : reader.records()) out.records.push_back(copy_of(r));
    reader.release();
  }
  EXPECT_FALSE(reader.catching_up()) << "librdkafka was never assigned";
  return out;
}

void expect_same(std::vector<Record> got, const std::vector<Record>& expected) {
  // Each partition's records in offset order, nothing twice.
  std::map<std::int32_t, std::int64_t> last;
  for (const Record& r : got) {
    if (last.count(r.partition)) {
      ASSERT_GT(r.offset, last[r.partition]) << "partition " << r.partition;
    }
    last[r.partition] = r.offset;
  }
  std::sort(got.begin(), got.end(), [](const Record& a, const Record& b) {
    return std::tie(a.partition, a.offset) < std::tie(b.partition, b.offset);
  });
  ASSERT_EQ(got.size(), expected.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE("record " + std::to_string(i));
    EXPECT_EQ(got[i].partition, expected[i].partition);
    EXPECT_EQ(got[i].offset, expected[i].offset);
    EXPECT_EQ(got[i].timestamp, expected[i].timestamp);
    EXPECT_EQ(got[i].key, expected[i].key);
    EXPECT_EQ(got[i].value, expected[i].value);
  }
}

// A reader of its own reads the topic as read_catching_up() does; its records must be `expected`.
// Returns whether the catch-up ran.
bool expect_reads(const std::string& topic, bool direct, int partitions,
                  const std::map<std::int32_t, std::int64_t>& start, const std::vector<Record>& expected) {
  WorkerThread worker;
  CompactedTopicReader reader(settings_for(topic, direct), worker);
  const Read read = read_catching_up(reader, partitions, start, expected.size());
  expect_same(read.records, expected);
  reader.close();
  return read.caught_up_directly;
}

// Keys spread over every partition, tombstones and empty values among them, each record with a
// timestamp of its own (CreateTime topic).
void send_updates(test::RawProducer& producer, const std::string& topic, int from, int n) {
  for (int i = from; i < from + n; ++i) {
    const std::string key = test::numbered("k", i % 700);
    std::optional<std::string> value;
    if (i % 37 != 0) value = i % 53 == 0 ? std::string() : "{\"saldo\":\"" + std::to_string(i) + ".01\"}";
    producer.send(topic, key, value, -1, kBaseTime + i);
  }
  producer.flush();
}

TEST(DirectCatchUp, HandsOverWhatLibrdkafkaReadsAndLibrdkafkaGoesOnFromThere) {
  const std::string topic = test::unique_topic("direct-catch-up");
  test::create_topic(topic, 3, {{"message.timestamp.type", "CreateTime"}});
  test::RawProducer lz4({{"compression.type", "lz4"}, {"linger.ms", "20"}});
  test::RawProducer plain({{"compression.type", "none"}, {"linger.ms", "20"}});
  send_updates(lz4, topic, 0, 3000);
  send_updates(plain, topic, 3000, 1000);
  send_updates(lz4, topic, 4000, 2000);
  const std::vector<Record> expected = test::read_all(topic);
  ASSERT_EQ(expected.size(), 6000u);

  WorkerThread worker;
  CompactedTopicReader reader(settings_for(topic, true), worker);
  const Read read = read_catching_up(reader, 3, {}, expected.size());
  EXPECT_TRUE(read.caught_up_directly);
  expect_same(read.records, expected);

  // After the hand-over, librdkafka reads what comes next, and only that.
  send_updates(plain, topic, 6000, 30);
  std::vector<Record> more;
  const auto deadline = Clock::now() + 30s;
  while (more.size() < 30 && Clock::now() < deadline) {
    reader.poll(100ms);
    for (const TopicRecord& r : reader.records()) more.push_back(copy_of(r));
    reader.release();
  }
  std::map<std::int32_t, std::int64_t> read_up_to;
  for (const Record& r : expected) read_up_to[r.partition] = r.offset + 1;
  std::vector<Record> after;
  for (const Record& r : test::read_all(topic)) {
    if (r.offset >= read_up_to[r.partition]) after.push_back(r);
  }
  expect_same(more, after);
  reader.close();
}

TEST(DirectCatchUp, ABatchItDoesNotReadIsLeftToLibrdkafkaFromThatOffset) {
  const std::string topic = test::unique_topic("direct-catch-up-codecs");
  test::create_topic(topic, 3);  // LogAppendTime: every record of a batch has the batch's time
  test::RawProducer lz4({{"compression.type", "lz4"}, {"linger.ms", "20"}});
  test::RawProducer gzip({{"compression.type", "gzip"}, {"linger.ms", "20"}});
  send_updates(lz4, topic, 0, 1500);
  send_updates(gzip, topic, 1500, 300);
  send_updates(lz4, topic, 1800, 1500);
  const std::vector<Record> expected = test::read_all(topic);

  EXPECT_TRUE(expect_reads(topic, true, 3, {}, expected));
}

TEST(DirectCatchUp, StartsWhereThePositionsSay) {
  const std::string topic = test::unique_topic("direct-catch-up-positions");
  test::create_topic(topic, 3, {{"message.timestamp.type", "CreateTime"}});
  test::RawProducer lz4({{"compression.type", "lz4"}, {"linger.ms", "20"}});
  send_updates(lz4, topic, 0, 3000);
  const std::vector<Record> all = test::read_all(topic);
  // A warm start's positions: partition 0 from the middle of a batch, 1 from its end, 2 from 0.
  std::map<std::int32_t, std::int64_t> start;
  std::map<std::int32_t, std::int64_t> ends;
  for (const Record& r : all) ends[r.partition] = r.offset + 1;
  start[0] = ends[0] / 2 + 1;
  start[1] = ends[1];
  start[2] = 0;
  std::vector<Record> expected;
  for (const Record& r : all) {
    if (r.offset >= start[r.partition]) expected.push_back(r);
  }

  EXPECT_TRUE(expect_reads(topic, true, 3, start, expected));
}

TEST(DirectCatchUp, OffReadsWithLibrdkafkaOnly) {
  const std::string topic = test::unique_topic("direct-catch-up-off");
  test::create_topic(topic, 2);
  test::RawProducer lz4(KeyValues{{"compression.type", "lz4"}});
  send_updates(lz4, topic, 0, 500);
  const std::vector<Record> expected = test::read_all(topic);

  EXPECT_FALSE(expect_reads(topic, false, 2, {}, expected));
}

}  // namespace
}  // namespace saldo
