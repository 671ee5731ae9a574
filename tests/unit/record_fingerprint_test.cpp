// The identity of what a reader read: a snapshot (and the PostgreSQL sink's positions) name the last
// record read in each partition, and a start compares it with what the topic holds at that offset.
#include <gtest/gtest.h>

#include "consumer_service/topic/record_fingerprint.h"

namespace saldo {
namespace {

TopicRecord rec(std::int64_t offset, std::int64_t ts, std::optional<std::string_view> key,
                std::optional<std::string_view> value) {
  return TopicRecord{0, offset, ts, key, value};
}

TEST(RecordFingerprint, DependsOnOffsetTimestampKeyAndValue) {
  const auto base = fingerprint_of(rec(7, 1000, "1", R"({"saldo":1})"));
  EXPECT_EQ(base, fingerprint_of(rec(7, 1000, "1", R"({"saldo":1})")));
  EXPECT_NE(base, fingerprint_of(rec(8, 1000, "1", R"({"saldo":1})")));
  EXPECT_NE(base, fingerprint_of(rec(7, 1001, "1", R"({"saldo":1})")));
  EXPECT_NE(base.content_hash, fingerprint_of(rec(7, 1000, "2", R"({"saldo":1})")).content_hash);
  EXPECT_NE(base.content_hash, fingerprint_of(rec(7, 1000, "1", R"({"saldo":2})")).content_hash);
  // A tombstone is not an empty value, and a key's end cannot pass for the value's start.
  EXPECT_NE(fingerprint_of(rec(7, 1000, "1", std::nullopt)).content_hash,
            fingerprint_of(rec(7, 1000, "1", "")).content_hash);
  EXPECT_NE(fingerprint_of(rec(7, 1000, "ab", "c")).content_hash, fingerprint_of(rec(7, 1000, "a", "bc")).content_hash);
  EXPECT_NE(fingerprint_of(rec(7, 1000, std::nullopt, "x")).content_hash,
            fingerprint_of(rec(7, 1000, "", "x")).content_hash);
}

TEST(CheckFingerprint, TheSameRecordAtTheOffsetIsTheSameTopic) {
  const auto fp = fingerprint_of(rec(41, 5000, "9", "v"));
  EXPECT_FALSE(check_fingerprint("contas", 0, fp, fp));
  EXPECT_FALSE(check_fingerprint("contas", 0, RecordFingerprint{}, std::nullopt)) << "nothing read: nothing to check";
}

TEST(CheckFingerprint, AnotherRecordAtTheOffsetIsANewTopic) {
  const auto fp = fingerprint_of(rec(41, 5000, "9", "v"));
  const auto other = fingerprint_of(rec(41, 9000, "77", "w"));
  const auto why = check_fingerprint("contas", 2, fp, other);
  ASSERT_TRUE(why);
  EXPECT_EQ(why->result, "topic_changed");
  EXPECT_NE(why->reason.find("partition 2 offset 41"), std::string::npos) << why->reason;
  // Same timestamp, other contents (a producer replaying with CreateTime): still another topic.
  EXPECT_EQ(check_fingerprint("contas", 2, fp, fingerprint_of(rec(41, 5000, "9", "x")))->result, "topic_changed");
}

TEST(CheckFingerprint, ARecordGoneOrNotHandedOverCannotBeVerified) {
  const auto fp = fingerprint_of(rec(41, 5000, "9", "v"));
  EXPECT_EQ(check_fingerprint("contas", 0, fp, fingerprint_of(rec(44, 6000, "9", "w")))->result, "unverifiable");
  EXPECT_EQ(check_fingerprint("contas", 0, fp, std::nullopt)->result, "unverifiable");
}

}  // namespace
}  // namespace saldo
