// The direct catch-up's wire protocol: the Fetch v4 request it sends, the response it parses and the
// record batches (message format v2, plain or lz4) it reads, fed bytes built here the way a broker lays
// them out.
#include <gtest/gtest.h>
#include <lz4frame.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "consumer_service/topic/fetch_protocol.h"

namespace saldo {
namespace {

// ---- byte builders ----

void be16(std::string& out, std::int16_t v) {
  const auto u = static_cast<std::uint16_t>(v);
  out.push_back(static_cast<char>(u >> 8));
  out.push_back(static_cast<char>(u & 0xff));
}
void be32(std::string& out, std::int32_t v) {
  const auto u = static_cast<std::uint32_t>(v);
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((u >> shift) & 0xff));
}
void be64(std::string& out, std::int64_t v) {
  const auto u = static_cast<std::uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((u >> shift) & 0xff));
}
void kafka_string(std::string& out, std::string_view s) {
  be16(out, static_cast<std::int16_t>(s.size()));
  out.append(s);
}
// Kafka's varint: zigzag, then unsigned LEB128.
void varint(std::string& out, std::int64_t v) {
  std::uint64_t u = (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
  while (u >= 0x80) {
    out.push_back(static_cast<char>((u & 0x7f) | 0x80));
    u >>= 7;
  }
  out.push_back(static_cast<char>(u));
}
void varbytes(std::string& out, const std::optional<std::string>& s) {
  if (!s) {
    varint(out, -1);
    return;
  }
  varint(out, static_cast<std::int64_t>(s->size()));
  out.append(*s);
}

struct Rec {
  std::int64_t timestamp_delta = 0;
  std::int64_t offset_delta = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

std::string encode_record(const Rec& r) {
  std::string body;
  body.push_back(0);  // attributes
  varint(body, r.timestamp_delta);
  varint(body, r.offset_delta);
  varbytes(body, r.key);
  varbytes(body, r.value);
  varint(body, static_cast<std::int64_t>(r.headers.size()));
  for (const auto& [k, v] : r.headers) {
    varint(body, static_cast<std::int64_t>(k.size()));
    body.append(k);
    varbytes(body, v);
  }
  std::string out;
  varint(out, static_cast<std::int64_t>(body.size()));
  out += body;
  return out;
}

std::string records_section(const std::vector<Rec>& records) {
  std::string out;
  for (const Rec& r : records) out += encode_record(r);
  return out;
}

std::string lz4_frame(std::string_view plain) {
  std::string out(LZ4F_compressFrameBound(plain.size(), nullptr), '\0');
  const std::size_t n = LZ4F_compressFrame(out.data(), out.size(), plain.data(), plain.size(), nullptr);
  if (LZ4F_isError(n)) throw std::runtime_error(LZ4F_getErrorName(n));
  out.resize(n);
  return out;
}

constexpr std::int16_t kGzip = 1, kSnappy = 2, kLz4 = 3, kZstd = 4;
constexpr std::int16_t kLogAppendTimeAttr = 0x08, kTransactionalAttr = 0x10, kControlAttr = 0x20;

struct Batch {
  std::int64_t base_offset = 0;
  std::int16_t attributes = 0;
  std::optional<std::int32_t> last_offset_delta;  // default: the last record's offset delta
  std::int64_t base_timestamp = 1'700'000'000'000;
  std::int64_t max_timestamp = 1'700'000'009'999;
  std::int8_t magic = 2;
  std::optional<std::int32_t> count;         // default: records.size()
  std::vector<Rec> records;
  std::optional<std::string> section;        // default: the records, lz4-framed when the codec is lz4
  std::optional<std::int32_t> length;        // default: the true batch length
};

std::string encode_batch(const Batch& b) {
  std::string section;
  if (b.section) {
    section = *b.section;
  } else {
    section = records_section(b.records);
    if ((b.attributes & 0x07) == kLz4) section = lz4_frame(section);
  }
  std::int32_t last_delta = 0;
  if (b.last_offset_delta) {
    last_delta = *b.last_offset_delta;
  } else if (!b.records.empty()) {
    last_delta = static_cast<std::int32_t>(b.records.back().offset_delta);
  }
  std::string rest;
  be32(rest, 0);  // partition leader epoch
  rest.push_back(static_cast<char>(b.magic));
  be32(rest, 0);  // crc: not checked
  be16(rest, b.attributes);
  be32(rest, last_delta);
  be64(rest, b.base_timestamp);
  be64(rest, b.max_timestamp);
  be64(rest, -1);  // producer id
  be16(rest, -1);  // producer epoch
  be32(rest, -1);  // base sequence
  be32(rest, b.count.value_or(static_cast<std::int32_t>(b.records.size())));
  rest += section;
  std::string out;
  be64(out, b.base_offset);
  be32(out, b.length.value_or(static_cast<std::int32_t>(rest.size())));
  out += rest;
  return out;
}

// Records with keys "k<offset delta>" and values "v<offset delta>", offset deltas 0..n-1.
std::vector<Rec> simple_records(int n, std::string_view tag = "") {
  std::vector<Rec> out;
  for (int i = 0; i < n; ++i) {
    Rec r;
    r.timestamp_delta = i;
    r.offset_delta = i;
    r.key = "k" + std::string(tag) + std::to_string(i);
    r.value = "v" + std::string(tag) + std::to_string(i);
    out.push_back(r);
  }
  return out;
}
// An uncompressed batch of simple_records(n, tag) at `base_offset`.
Batch plain_batch(std::int64_t base_offset, int n, std::string_view tag = "") {
  Batch b;
  b.base_offset = base_offset;
  b.records = simple_records(n, tag);
  return b;
}

// ---- fetch response builder ----

struct PartResp {
  std::int32_t partition = 0;
  std::int16_t error = 0;
  std::int64_t high_watermark = 0;
  std::int64_t last_stable = 0;
  std::optional<std::vector<std::pair<std::int64_t, std::int64_t>>> aborted;  // nullopt: null (-1)
  std::optional<std::string> records;                                           // nullopt: null (-1)
};
struct TopicResp {
  std::string name;
  std::vector<PartResp> partitions;
};

std::string fetch_response(std::int32_t correlation_id, const std::vector<TopicResp>& topics) {
  std::string out;
  be32(out, correlation_id);
  be32(out, 0);  // throttle time
  be32(out, static_cast<std::int32_t>(topics.size()));
  for (const TopicResp& t : topics) {
    kafka_string(out, t.name);
    be32(out, static_cast<std::int32_t>(t.partitions.size()));
    for (const PartResp& p : t.partitions) {
      be32(out, p.partition);
      be16(out, p.error);
      be64(out, p.high_watermark);
      be64(out, p.last_stable);
      if (!p.aborted) {
        be32(out, -1);
      } else {
        be32(out, static_cast<std::int32_t>(p.aborted->size()));
        for (const auto& [producer, first] : *p.aborted) {
          be64(out, producer);
          be64(out, first);
        }
      }
      if (!p.records) {
        be32(out, -1);
      } else {
        be32(out, static_cast<std::int32_t>(p.records->size()));
        out += *p.records;
      }
    }
  }
  return out;
}

bool inside(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}
bool inside_any(std::string_view part, const std::deque<std::string>& buffers) {
  for (const std::string& b : buffers) {
    if (inside(part, b)) return true;
  }
  return false;
}

// What read_record_set returned, with the bytes its views point into (the set and what it inflated).
struct Read {
  std::shared_ptr<const std::string> set;
  std::vector<TopicRecord> records;
  std::deque<std::string> inflated;
  RecordSetEnd end;
};
Read read(std::string set, std::int64_t from, std::int32_t partition = 3) {
  Read r;
  r.set = std::make_shared<const std::string>(std::move(set));
  r.end = read_record_set(*r.set, partition, from, r.records, r.inflated);
  return r;
}
std::vector<std::int64_t> offsets(const std::vector<TopicRecord>& records) {
  std::vector<std::int64_t> out;
  for (const TopicRecord& r : records) out.push_back(r.offset);
  return out;
}
// The records of a first batch at offsets 0 and 1, then a stop at offset 2 whose reason names `reason`.
template <typename T>
std::string to_text(const T& what) {
  if constexpr (std::is_convertible_v<T, std::string>) {
    return std::string(what);
  } else {
    return std::to_string(what);
  }
}
void expect_stopped_at_two(const Read& r, std::string_view reason, const std::string& what) {
  EXPECT_EQ(offsets(r.records), (std::vector<std::int64_t>{0, 1})) << what;
  EXPECT_EQ(r.end.next, 2) << what;
  EXPECT_NE(r.end.stopped.find(reason), std::string::npos) << what << ": " << r.end.stopped;
}

// ---- encode_fetch_request ----

TEST(EncodeFetchRequest, LaysOutAFetchV4RequestByteForByte) {
  const FetchPartitionAsk asks[] = {{0, 42}, {5, 0x0102030405060708}};
  FetchLimits limits;
  limits.max_wait_ms = 250;
  limits.max_bytes = 1 << 22;
  limits.partition_max_bytes = 1 << 16;
  const std::string got = encode_fetch_request(0x11223344, "saldo-1", "contas", asks, limits);

  std::string want;
  be16(want, 1);  // api key: Fetch
  be16(want, 4);  // version
  be32(want, 0x11223344);
  kafka_string(want, "saldo-1");
  be32(want, -1);  // replica id
  be32(want, 250);
  be32(want, 1);  // min bytes
  be32(want, 1 << 22);
  want.push_back(0);  // isolation level
  be32(want, 1);      // one topic
  kafka_string(want, "contas");
  be32(want, 2);
  be32(want, 0);
  be64(want, 42);
  be32(want, 1 << 16);
  be32(want, 5);
  be64(want, 0x0102030405060708);
  be32(want, 1 << 16);
  std::string sized;
  be32(sized, static_cast<std::int32_t>(want.size()));
  sized += want;

  EXPECT_EQ(got, sized);
  ASSERT_GE(got.size(), 4u);
  const auto prefix = (static_cast<std::uint32_t>(static_cast<unsigned char>(got[0])) << 24) |
                      (static_cast<std::uint32_t>(static_cast<unsigned char>(got[1])) << 16) |
                      (static_cast<std::uint32_t>(static_cast<unsigned char>(got[2])) << 8) |
                      static_cast<std::uint32_t>(static_cast<unsigned char>(got[3]));
  EXPECT_EQ(prefix, got.size() - 4);
  EXPECT_EQ(got.size(), 4u + 2 + 2 + 4 + (2 + 7) + 4 + 4 + 4 + 4 + 1 + 4 + (2 + 6) + 4 + 2 * 16);
}

TEST(EncodeFetchRequest, NoPartitionsStillNamesTheTopic) {
  const std::string got = encode_fetch_request(7, "", "t", {}, FetchLimits{});
  std::string want;
  be16(want, 1);
  be16(want, 4);
  be32(want, 7);
  kafka_string(want, "");
  be32(want, -1);
  be32(want, FetchLimits{}.max_wait_ms);
  be32(want, 1);
  be32(want, FetchLimits{}.max_bytes);
  want.push_back(0);
  be32(want, 1);
  kafka_string(want, "t");
  be32(want, 0);
  std::string sized;
  be32(sized, static_cast<std::int32_t>(want.size()));
  EXPECT_EQ(got, sized + want);
}

// ---- parse_fetch_response ----

std::string two_topic_response(std::int32_t correlation_id) {
  PartResp other0{0, 0, 9, 9, std::vector<std::pair<std::int64_t, std::int64_t>>{}, std::string("other-0")};
  PartResp other1{1, 0, 3, 3, std::nullopt, std::string("other-1")};
  PartResp a{2, 0, 1234, 1200, std::vector<std::pair<std::int64_t, std::int64_t>>{{77, 10}, {78, 20}},
             std::string("records-of-2")};
  PartResp b{0, 6, -1, -1, std::nullopt, std::nullopt};  // NOT_LEADER_OR_FOLLOWER, null records
  PartResp c{1, 0, 50, 50, std::nullopt, std::string()};
  return fetch_response(correlation_id, {{"contas-old", {other0, other1}}, {"contas", {a, b, c}}, {"x", {other0}}});
}

TEST(ParseFetchResponse, ReturnsOnlyTheAskedTopicsPartitions) {
  const std::string body = two_topic_response(99);
  const std::vector<FetchedPartition> got = parse_fetch_response(body, 99, "contas");
  ASSERT_EQ(got.size(), 3u);

  EXPECT_EQ(got[0].partition, 2);
  EXPECT_EQ(got[0].error, 0);
  EXPECT_EQ(got[0].high_watermark, 1234);
  EXPECT_EQ(got[0].records, "records-of-2");  // past two aborted transactions
  EXPECT_TRUE(inside(got[0].records, body));

  EXPECT_EQ(got[1].partition, 0);
  EXPECT_EQ(got[1].error, 6);
  EXPECT_EQ(got[1].high_watermark, -1);
  EXPECT_TRUE(got[1].records.empty());  // null records

  EXPECT_EQ(got[2].partition, 1);
  EXPECT_EQ(got[2].high_watermark, 50);
  EXPECT_TRUE(got[2].records.empty());
}

TEST(ParseFetchResponse, AnotherTopicNameGivesItsPartitionsOnly) {
  const std::string body = two_topic_response(99);
  const std::vector<FetchedPartition> got = parse_fetch_response(body, 99, "contas-old");
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].partition, 0);
  EXPECT_EQ(got[0].records, "other-0");  // an empty aborted list
  EXPECT_EQ(got[0].high_watermark, 9);
  EXPECT_EQ(got[1].partition, 1);
  EXPECT_EQ(got[1].records, "other-1");  // a null aborted list
  EXPECT_TRUE(parse_fetch_response(body, 99, "nope").empty());
  EXPECT_TRUE(parse_fetch_response(fetch_response(99, {}), 99, "contas").empty());
}

TEST(ParseFetchResponse, AWrongCorrelationIdThrows) {
  const std::string body = two_topic_response(99);
  EXPECT_THROW(parse_fetch_response(body, 98, "contas"), ProtocolError);
  EXPECT_THROW(parse_fetch_response(body, -99, "contas"), ProtocolError);
  EXPECT_NO_THROW(parse_fetch_response(body, 99, "contas"));
}

TEST(ParseFetchResponse, EveryTruncationThrows) {
  const std::string body = two_topic_response(99);
  for (std::size_t n = 0; n < body.size(); ++n) {
    EXPECT_THROW(parse_fetch_response(std::string_view(body).substr(0, n), 99, "contas"), ProtocolError)
        << "cut at " << n << " of " << body.size();
  }
}

TEST(ParseFetchResponse, NegativeCountsAndANullTopicNameThrow) {
  std::string negative_topics;
  be32(negative_topics, 1);
  be32(negative_topics, 0);
  be32(negative_topics, -2);
  EXPECT_THROW(parse_fetch_response(negative_topics, 1, "t"), ProtocolError);

  std::string null_name;
  be32(null_name, 1);
  be32(null_name, 0);
  be32(null_name, 1);
  be16(null_name, -1);
  be32(null_name, 0);
  EXPECT_THROW(parse_fetch_response(null_name, 1, "t"), ProtocolError);

  std::string negative_partitions;
  be32(negative_partitions, 1);
  be32(negative_partitions, 0);
  be32(negative_partitions, 1);
  kafka_string(negative_partitions, "t");
  be32(negative_partitions, -1);
  EXPECT_THROW(parse_fetch_response(negative_partitions, 1, "t"), ProtocolError);
}

// ---- read_record_set ----

TEST(ReadRecordSet, APlainBatchGivesItsRecords) {
  Batch b;
  b.base_offset = 100;
  b.base_timestamp = 1'700'000'000'000;
  b.records = {
      Rec{0, 0, "a", "1", {{"h", "v"}}},
      Rec{5, 1, std::nullopt, "2", {}},                                 // no key
      Rec{7, 2, "c", std::nullopt, {{"trace", std::nullopt}, {"x", "yz"}}},  // a tombstone, two headers
  };
  const std::string set = encode_batch(b);
  const Read r = read(set, 100, 4);

  EXPECT_EQ(r.end.next, 103);
  EXPECT_EQ(r.end.stopped, "");
  EXPECT_TRUE(r.inflated.empty());
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(offsets(r.records), (std::vector<std::int64_t>{100, 101, 102}));
  for (const TopicRecord& rec : r.records) EXPECT_EQ(rec.partition, 4);

  EXPECT_EQ(r.records[0].timestamp_ms, 1'700'000'000'000);
  EXPECT_EQ(r.records[0].key, std::optional<std::string_view>("a"));
  EXPECT_EQ(r.records[0].value, std::optional<std::string_view>("1"));

  EXPECT_EQ(r.records[1].timestamp_ms, 1'700'000'000'005);
  EXPECT_FALSE(r.records[1].key.has_value());
  EXPECT_EQ(r.records[1].value, std::optional<std::string_view>("2"));

  EXPECT_EQ(r.records[2].timestamp_ms, 1'700'000'000'007);
  EXPECT_EQ(r.records[2].key, std::optional<std::string_view>("c"));
  EXPECT_FALSE(r.records[2].value.has_value());

  for (const TopicRecord& rec : r.records) {
    if (rec.key) {
      EXPECT_TRUE(inside(*rec.key, *r.set));
    }
    if (rec.value) {
      EXPECT_TRUE(inside(*rec.value, *r.set));
    }
  }
}

TEST(ReadRecordSet, AnEmptyKeyOrValueIsNotNull) {
  Batch b;
  b.base_offset = 0;
  b.records = {Rec{0, 0, "", "", {}}};
  const Read r = read(encode_batch(b), 0);
  ASSERT_EQ(r.records.size(), 1u);
  ASSERT_TRUE(r.records[0].key.has_value());
  ASSERT_TRUE(r.records[0].value.has_value());
  EXPECT_TRUE(r.records[0].key->empty());
  EXPECT_TRUE(r.records[0].value->empty());
}

TEST(ReadRecordSet, AnEmptySetReadsNothing) {
  const Read r = read("", 17);
  EXPECT_EQ(r.end.next, 17);
  EXPECT_EQ(r.end.stopped, "");
  EXPECT_TRUE(r.records.empty());
}

TEST(ReadRecordSet, RecordsBeforeFromAreSkipped) {
  Batch b = plain_batch(100, 5);
  const std::string set = encode_batch(b);
  const Read r = read(set, 102);
  EXPECT_EQ(offsets(r.records), (std::vector<std::int64_t>{102, 103, 104}));
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_EQ(r.records[0].key, std::optional<std::string_view>("k2"));
  EXPECT_EQ(r.records[0].timestamp_ms, b.base_timestamp + 2);
  EXPECT_EQ(r.end.next, 105);
  EXPECT_EQ(r.end.stopped, "");
}

TEST(ReadRecordSet, ABatchWhollyBeforeFromIsSkipped) {
  Batch first = plain_batch(100, 3, "a");  // 100..102
  Batch second = plain_batch(103, 2, "b");  // 103..104
  const std::string set = encode_batch(first) + encode_batch(second);
  const Read r = read(set, 103);
  EXPECT_EQ(offsets(r.records), (std::vector<std::int64_t>{103, 104}));
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[0].key, std::optional<std::string_view>("kb0"));
  EXPECT_EQ(r.end.next, 105);
  EXPECT_EQ(r.end.stopped, "");
}

TEST(ReadRecordSet, ABatchWhollyBeforeFromIsSkippedWhateverItHolds) {
  // Skipped before its attributes are looked at: a transactional batch and a corrupt one already read.
  Batch txn;
  txn.base_offset = 0;
  txn.attributes = kTransactionalAttr;
  txn.records = simple_records(2);
  Batch corrupt;
  corrupt.base_offset = 2;
  corrupt.last_offset_delta = 1;
  corrupt.count = 5;
  corrupt.section = std::string("\x7f\x7f", 2);
  Batch wanted = plain_batch(4, 1);
  const Read r = read(encode_batch(txn) + encode_batch(corrupt) + encode_batch(wanted), 4);
  EXPECT_EQ(offsets(r.records), (std::vector<std::int64_t>{4}));
  EXPECT_EQ(r.end.next, 5);
  EXPECT_EQ(r.end.stopped, "");
}

TEST(ReadRecordSet, NextIsPastTheBatchEvenWhenItsLastRecordsWereCompactedAway) {
  Batch b;
  b.base_offset = 10;
  b.last_offset_delta = 7;
  b.records = {Rec{0, 0, "a", "1", {}}, Rec{1, 3, "b", "2", {}}};  // offsets 10 and 13 of 10..17
  const Read r = read(encode_batch(b), 10);
  EXPECT_EQ(offsets(r.records), (std::vector<std::int64_t>{10, 13}));
  EXPECT_EQ(r.end.next, 18);
  EXPECT_EQ(r.end.stopped, "");

  // All of them compacted away: an empty batch still moves next.
  Batch empty;
  empty.base_offset = 18;
  empty.last_offset_delta = 4;
  const Read e = read(encode_batch(b) + encode_batch(empty), 10);
  EXPECT_EQ(offsets(e.records), (std::vector<std::int64_t>{10, 13}));
  EXPECT_EQ(e.end.next, 23);
}

TEST(ReadRecordSet, LogAppendTimeGivesEveryRecordTheBatchsMaxTimestamp) {
  Batch b;
  b.base_offset = 0;
  b.attributes = kLogAppendTimeAttr;
  b.base_timestamp = 1000;
  b.max_timestamp = 5000;
  b.records = simple_records(3);
  const Read r = read(encode_batch(b), 0);
  ASSERT_EQ(r.records.size(), 3u);
  for (const TopicRecord& rec : r.records) EXPECT_EQ(rec.timestamp_ms, 5000);

  b.attributes = 0;  // CreateTime: base + delta
  const Read c = read(encode_batch(b), 0);
  ASSERT_EQ(c.records.size(), 3u);
  EXPECT_EQ(c.records[0].timestamp_ms, 1000);
  EXPECT_EQ(c.records[2].timestamp_ms, 1002);
}

TEST(ReadRecordSet, ANegativeTimestampDeltaCounts) {
  Batch b;
  b.base_offset = 0;
  b.base_timestamp = 1000;
  b.records = {Rec{-300, 0, "a", "1", {}}};
  const Read r = read(encode_batch(b), 0);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].timestamp_ms, 700);
}

TEST(ReadRecordSet, TwoBatchesInARow) {
  Batch first = plain_batch(0, 3, "a");
  Batch second;
  second.base_offset = 3;
  second.base_timestamp = 2000;
  second.records = simple_records(2, "b");
  const Read r = read(encode_batch(first) + encode_batch(second), 0);
  EXPECT_EQ(offsets(r.records), (std::vector<std::int64_t>{0, 1, 2, 3, 4}));
  ASSERT_EQ(r.records.size(), 5u);
  EXPECT_EQ(r.records[3].key, std::optional<std::string_view>("kb0"));
  EXPECT_EQ(r.records[4].value, std::optional<std::string_view>("vb1"));
  EXPECT_EQ(r.records[4].timestamp_ms, 2001);
  EXPECT_EQ(r.end.next, 5);
  EXPECT_EQ(r.end.stopped, "");
}

TEST(ReadRecordSet, ATrailingBatchCutShortIsLeftForTheNextFetch) {
  Batch first = plain_batch(50, 2, "a");
  Batch second = plain_batch(52, 4, "b");
  const std::string whole_first = encode_batch(first);
  const std::string whole_second = encode_batch(second);
  for (std::size_t cut = 0; cut < whole_second.size(); ++cut) {
    const std::string set = whole_first + whole_second.substr(0, cut);
    const Read r = read(set, 50);
    EXPECT_EQ(offsets(r.records), (std::vector<std::int64_t>{50, 51})) << "cut at " << cut;
    EXPECT_EQ(r.end.next, 52) << "cut at " << cut;
    EXPECT_EQ(r.end.stopped, "") << "cut at " << cut;
  }
  // Only a cut batch: nothing, next unchanged.
  const Read alone = read(whole_second.substr(0, whole_second.size() - 1), 52);
  EXPECT_TRUE(alone.records.empty());
  EXPECT_EQ(alone.end.next, 52);
  EXPECT_EQ(alone.end.stopped, "");
}

TEST(ReadRecordSet, AnLz4BatchReadsAsThePlainOne) {
  Batch plain;
  plain.base_offset = 7;
  plain.records = {Rec{0, 0, "a", "1", {{"h", "v"}}}, Rec{3, 1, std::nullopt, "2", {}},
                   Rec{9, 2, "c", std::nullopt, {}}};
  Batch lz4 = plain;
  lz4.attributes = kLz4;
  const std::string plain_set = encode_batch(plain);
  const std::string lz4_set = encode_batch(lz4);
  ASSERT_NE(lz4_set.find("\x04\x22\x4d\x18", 61), std::string::npos);  // an lz4 frame's magic after the header

  const Read p = read(plain_set, 7);
  const Read z = read(lz4_set, 7);
  EXPECT_EQ(z.end.next, p.end.next);
  EXPECT_EQ(z.end.next, 10);
  EXPECT_EQ(z.end.stopped, "");
  ASSERT_EQ(z.records.size(), p.records.size());
  ASSERT_EQ(z.records.size(), 3u);
  for (std::size_t i = 0; i < z.records.size(); ++i) {
    EXPECT_EQ(z.records[i].partition, p.records[i].partition);
    EXPECT_EQ(z.records[i].offset, p.records[i].offset);
    EXPECT_EQ(z.records[i].timestamp_ms, p.records[i].timestamp_ms);
    EXPECT_EQ(z.records[i].key, p.records[i].key);
    EXPECT_EQ(z.records[i].value, p.records[i].value);
  }
  ASSERT_EQ(z.inflated.size(), 1u);
  for (const TopicRecord& rec : z.records) {
    if (rec.key) {
      EXPECT_TRUE(inside(*rec.key, z.inflated.front()));
    }
    if (rec.value) {
      EXPECT_TRUE(inside(*rec.value, z.inflated.front()));
    }
  }
}

TEST(ReadRecordSet, ViewsIntoInflatedBatchesStayValidAsMoreAreInflated) {
  constexpr int kBatches = 40;
  std::string set;
  std::vector<std::string> want_values;
  for (int b = 0; b < kBatches; ++b) {
    Batch batch;
    batch.base_offset = b * 3;
    batch.attributes = (b % 4 == 3) ? 0 : kLz4;  // mostly lz4, some plain between
    for (int i = 0; i < 3; ++i) {
      Rec r;
      r.timestamp_delta = i;
      r.offset_delta = i;
      r.key = "key-" + std::to_string(b) + "-" + std::to_string(i);
      r.value = std::string(static_cast<std::size_t>(20 + 37 * b + i), static_cast<char>('a' + (b + i) % 26));
      want_values.push_back(*r.value);
      batch.records.push_back(r);
    }
    set += encode_batch(batch);
  }
  Read r;
  // Already some buffers from earlier sets: those stay too.
  r.inflated.emplace_back("earlier");
  r.end = read_record_set(set, 1, 0, r.records, r.inflated);
  EXPECT_EQ(r.end.next, kBatches * 3);
  EXPECT_EQ(r.end.stopped, "");
  ASSERT_EQ(r.records.size(), static_cast<std::size_t>(kBatches * 3));
  EXPECT_EQ(r.inflated.size(), 1u + kBatches - kBatches / 4);
  EXPECT_EQ(r.inflated.front(), "earlier");
  for (std::size_t i = 0; i < r.records.size(); ++i) {
    const TopicRecord& rec = r.records[i];
    const int b = static_cast<int>(i / 3);
    EXPECT_EQ(rec.offset, static_cast<std::int64_t>(i));
    const std::string want_key = "key-" + std::to_string(b) + "-" + std::to_string(i % 3);
    EXPECT_EQ(rec.key, std::optional<std::string_view>(want_key));
    EXPECT_EQ(rec.value, std::optional<std::string_view>(want_values[i]));
    if (b % 4 == 3) {
      EXPECT_TRUE(inside(*rec.value, set));
    } else {
      EXPECT_TRUE(inside_any(*rec.value, r.inflated));
    }
  }
}

TEST(ReadRecordSet, GzipSnappyAndZstdBatchesStopThePartitionAtTheirBase) {
  const std::pair<std::int16_t, const char*> codecs[] = {{kGzip, "gzip"}, {kSnappy, "snappy"}, {kZstd, "zstd"}};
  for (const auto& [codec, name] : codecs) {
    Batch before = plain_batch(20, 2);
    Batch compressed;
    compressed.base_offset = 22;
    compressed.attributes = codec;
    compressed.last_offset_delta = 2;
    compressed.count = 3;
    compressed.section = "opaque compressed bytes";
    Batch after = plain_batch(25, 1);
    const Read r = read(encode_batch(before) + encode_batch(compressed) + encode_batch(after), 20);
    EXPECT_EQ(offsets(r.records), (std::vector<std::int64_t>{20, 21})) << name;
    EXPECT_EQ(r.end.next, 22) << name;
    EXPECT_NE(r.end.stopped.find(name), std::string::npos) << name << ": " << r.end.stopped;
  }
}

TEST(ReadRecordSet, AnUnknownCodecStops) {
  Batch b;
  b.base_offset = 0;
  b.attributes = 6;
  b.last_offset_delta = 0;
  b.count = 1;
  b.section = "x";
  const Read r = read(encode_batch(b), 0);
  EXPECT_TRUE(r.records.empty());
  EXPECT_EQ(r.end.next, 0);
  EXPECT_FALSE(r.end.stopped.empty());
}

TEST(ReadRecordSet, TransactionalAndControlBatchesStop) {
  for (const std::int16_t attributes : {kTransactionalAttr, static_cast<std::int16_t>(kTransactionalAttr | kControlAttr),
                                        kControlAttr}) {
    Batch before = plain_batch(0, 2);
    Batch stop;
    stop.base_offset = 2;
    stop.attributes = attributes;
    stop.records = simple_records(2);
    const Read r = read(encode_batch(before) + encode_batch(stop), 0);
    expect_stopped_at_two(r, "transaction", to_text(attributes));
  }
}

TEST(ReadRecordSet, AnotherMessageFormatStops) {
  Batch before = plain_batch(0, 2);
  Batch v1;
  v1.base_offset = 2;
  v1.magic = 1;
  v1.records = simple_records(2);
  const Read r = read(encode_batch(before) + encode_batch(v1), 0);
  EXPECT_EQ(offsets(r.records), (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(r.end.next, 2);
  EXPECT_EQ(r.end.stopped, "message format v1");

  v1.magic = 0;
  EXPECT_EQ(read(encode_batch(v1), 2).end.stopped, "message format v0");
}

// A message-format v1 message as it sits in an old segment: offset, size, crc, magic 1, attributes,
// timestamp, key and value with int32 lengths. Much shorter than a v2 batch header.
std::string v1_message(std::int64_t offset, std::string_view key, std::string_view value) {
  std::string rest;
  be32(rest, 0);  // crc
  rest.push_back(1);
  rest.push_back(0);
  be64(rest, 1'700'000'000'000);
  be32(rest, static_cast<std::int32_t>(key.size()));
  rest.append(key);
  be32(rest, static_cast<std::int32_t>(value.size()));
  rest.append(value);
  std::string out;
  be64(out, offset);
  be32(out, static_cast<std::int32_t>(rest.size()));
  return out + rest;
}

// DISABLED: fails against the current fetch_protocol.cpp (reported, not fixed here). A real v1 message
// of 24 bytes is taken for a v2 batch "of length 24", shorter than a v2 header: ProtocolError instead
// of the "message format v1" stop the header documents.
TEST(ReadRecordSet, ARealV1MessageSetStopsWithTheFormat) {
  const std::string set = v1_message(0, "k", "v") + v1_message(1, "k", "w");
  Read r;
  EXPECT_NO_THROW(r.end = read_record_set(set, 0, 0, r.records, r.inflated));
  EXPECT_EQ(r.end.stopped, "message format v1");
  EXPECT_EQ(r.end.next, 0);
}

// DISABLED: as above; a lone short v1 message (36 bytes, under a v2 header's 61) is taken for a batch
// cut short: no stop reason, so direct_catch_up reports "a record batch larger than the fetch".
TEST(ReadRecordSet, ALoneShortV1MessageStopsWithTheFormat) {
  const Read r = read(v1_message(0, "k", "v"), 0);
  EXPECT_EQ(r.end.stopped, "message format v1");
  EXPECT_EQ(r.end.next, 0);
}

// A record section: one good record, then a second (attributes 0, timestamp delta 0, offset delta 1)
// whose bytes from its key length on are `key_and_after`, its length prefix counting them all.
std::string good_record_then_one_with(std::string_view key_and_after) {
  std::string body;
  body.push_back(0);
  varint(body, 0);
  varint(body, 1);
  body += key_and_after;
  std::string section = encode_record(simple_records(1, "b")[0]);
  varint(section, static_cast<std::int64_t>(body.size()));
  return section + body;
}

TEST(ReadRecordSet, ACorruptRecordInAWholeBatchStopsWithNoneOfThatBatch) {
  Batch good = plain_batch(0, 2, "a");
  Batch after = plain_batch(5, 1, "c");

  std::vector<std::pair<std::string, Batch>> corrupt;
  {
    Batch b;  // claims more records than it holds: the first two parse, the third runs out
    b.base_offset = 2;
    b.records = simple_records(2, "b");
    b.last_offset_delta = 2;
    b.count = 3;
    corrupt.emplace_back("count past the records", b);
  }
  {
    Batch b;  // a key longer than its record
    b.base_offset = 2;
    b.last_offset_delta = 2;
    b.count = 2;
    std::string key_and_after;
    varint(key_and_after, 50);  // key length 50
    key_and_after += "short";
    b.section = good_record_then_one_with(key_and_after);
    corrupt.emplace_back("key past its record", b);
  }
  {
    Batch b;  // a negative record length
    b.base_offset = 2;
    b.last_offset_delta = 0;
    b.count = 1;
    std::string section;
    varint(section, -3);
    section += "abc";
    b.section = section;
    corrupt.emplace_back("negative record length", b);
  }
  {
    Batch b;  // a key length of -2
    b.base_offset = 2;
    b.last_offset_delta = 1;
    b.count = 2;
    std::string key_and_after;
    varint(key_and_after, -2);  // key length -2
    varint(key_and_after, -1);
    varint(key_and_after, 0);
    b.section = good_record_then_one_with(key_and_after);
    corrupt.emplace_back("negative key length", b);
  }
  {
    Batch b;  // a varint of 11 bytes
    b.base_offset = 2;
    b.last_offset_delta = 0;
    b.count = 1;
    b.section = std::string(11, '\x80') + std::string(1, '\x00');
    corrupt.emplace_back("overlong varint", b);
  }
  for (const auto& [what, batch] : corrupt) {
    const std::string set = encode_batch(good) + encode_batch(batch) + encode_batch(after);
    Read r;
    ASSERT_NO_THROW(r.end = read_record_set(set, 0, 0, r.records, r.inflated)) << what;
    expect_stopped_at_two(r, "does not parse", to_text(what));
  }
}

TEST(ReadRecordSet, ACorruptRecordInAnLz4BatchStopsToo) {
  Batch good;
  good.base_offset = 0;
  good.attributes = kLz4;
  good.records = simple_records(2, "a");
  Batch bad;
  bad.base_offset = 2;
  bad.attributes = kLz4;
  bad.records = simple_records(2, "b");
  bad.count = 4;  // two more than inside
  bad.last_offset_delta = 3;
  const Read r = read(encode_batch(good) + encode_batch(bad), 0);
  EXPECT_EQ(offsets(r.records), (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(r.end.next, 2);
  EXPECT_FALSE(r.end.stopped.empty());
  ASSERT_EQ(r.records.size(), 2u);
  EXPECT_EQ(r.records[1].value, std::optional<std::string_view>("va1"));  // still readable
}

TEST(ReadRecordSet, AnLz4FrameThatDoesNotInflateStops) {
  Batch good = plain_batch(0, 1);
  const std::string frame = lz4_frame(records_section(simple_records(3)));

  std::vector<std::pair<std::string, std::string>> sections = {
      {"not a frame", "this is not an lz4 frame at all"},
      {"cut short", frame.substr(0, frame.size() - 6)},
      {"header only", frame.substr(0, 7)},
      {"empty", ""},
  };
  std::string flipped = frame;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x5a);
  flipped[5] = static_cast<char>(flipped[5] ^ 0x01);  // the header checksum no longer matches
  sections.emplace_back("header corrupted", flipped);

  for (const auto& [what, section] : sections) {
    Batch bad;
    bad.base_offset = 1;
    bad.attributes = kLz4;
    bad.last_offset_delta = 2;
    bad.count = 3;
    bad.section = section;
    Read r;
    ASSERT_NO_THROW(r.end = read_record_set(encode_batch(good) + encode_batch(bad), 0, 0, r.records, r.inflated))
        << what;
    EXPECT_EQ(offsets(r.records), (std::vector<std::int64_t>{0})) << what;
    EXPECT_EQ(r.end.next, 1) << what;
    EXPECT_NE(r.end.stopped.find("lz4"), std::string::npos) << what << ": " << r.end.stopped;
  }
}

TEST(ReadRecordSet, ABatchLengthShorterThanItsHeaderThrows) {
  Batch good = plain_batch(0, 1);
  for (const std::int32_t length : {48, 0, -1, -100000}) {
    Batch bad = plain_batch(1, 1);
    bad.length = length;
    EXPECT_THROW(read(encode_batch(good) + encode_batch(bad), 0), ProtocolError) << length;
  }
  // 49, the header alone, is a batch with no records.
  Batch empty;
  empty.base_offset = 1;
  empty.last_offset_delta = 0;
  const Read r = read(encode_batch(good) + encode_batch(empty), 0);
  EXPECT_EQ(r.end.next, 2);
  EXPECT_EQ(r.end.stopped, "");
}

TEST(ReadRecordSet, ANegativeRecordCountThrows) {
  Batch b = plain_batch(0, 1);
  b.count = -1;
  EXPECT_THROW(read(encode_batch(b), 0), ProtocolError);
}

TEST(ReadRecordSet, AppendsToRecordsAlreadyThere) {
  Batch b = plain_batch(0, 2);
  Read r;
  r.records.push_back(TopicRecord{9, 999, 1, std::nullopt, std::nullopt});
  r.end = read_record_set(encode_batch(b), 2, 0, r.records, r.inflated);
  EXPECT_EQ(offsets(r.records), (std::vector<std::int64_t>{999, 0, 1}));
  EXPECT_EQ(r.records[0].partition, 9);
  EXPECT_EQ(r.records[1].partition, 2);

  // A corrupt batch removes only what it appended.
  Batch bad = b;
  bad.base_offset = 2;
  bad.count = 3;
  r.end = read_record_set(encode_batch(bad), 2, 2, r.records, r.inflated);
  EXPECT_EQ(offsets(r.records), (std::vector<std::int64_t>{999, 0, 1}));
  EXPECT_FALSE(r.end.stopped.empty());
}

}  // namespace
}  // namespace saldo
