// Sharded mode's pure parts: where a partition is answered (route_partition) and the members'
// /shard/status JSON.
#include "consumer_service/shard/shard_map.h"
#include "consumer_service/shard/shard_member_json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "common/partitioner.h"

namespace saldo {
namespace {

constexpr auto kNone = PartitionHold::kNone;
constexpr auto kRebuilding = PartitionHold::kRebuilding;
constexpr auto kReady = PartitionHold::kReady;

ShardMember member(std::string url, std::vector<std::int32_t> assigned, std::vector<PartitionHold> holds,
                   bool draining = false) {
  return ShardMember{std::move(url), std::move(assigned), std::move(holds), draining};
}

// a holds 0 and 1 (1 still rebuilding), b holds 2 and 3 ready; 3 is b's but a member handing it over
// (c) also holds it.
ShardPicture picture(std::string self) {
  ShardPicture p;
  p.partitions = 4;
  p.self = std::move(self);
  p.members = {member("http://a", {0, 1}, {kReady, kRebuilding, kNone, kNone}),
               member("http://b", {2, 3}, {kNone, kNone, kReady, kReady}),
               member("http://c", {}, {kNone, kNone, kNone, kReady}, true)};
  return p;
}

ShardRoute local(std::int32_t p) { return ShardRoute{ShardRoute::Kind::kLocal, p, ""}; }
ShardRoute forward(std::int32_t p, std::string url) { return ShardRoute{ShardRoute::Kind::kForward, p, std::move(url)}; }
ShardRoute unavailable(std::int32_t p) { return ShardRoute{ShardRoute::Kind::kUnavailable, p, ""}; }

TEST(ShardRoute, LocalWhenHeldReadyHereWhateverTheAssignment) {
  EXPECT_EQ(route_partition(picture("http://a"), 0), local(0));
  EXPECT_EQ(route_partition(picture("http://b"), 2), local(2));
  // c is draining and no longer assigned 3, but holds it ready: it still answers it itself.
  EXPECT_EQ(route_partition(picture("http://c"), 3), local(3));
}

TEST(ShardRoute, TheAssignedOwnerWhenItHoldsItReady) {
  EXPECT_EQ(route_partition(picture("http://a"), 2), forward(2, "http://b"));
  EXPECT_EQ(route_partition(picture("http://a"), 3), forward(3, "http://b"));
  EXPECT_EQ(route_partition(picture("http://b"), 0), forward(0, "http://a"));
}

TEST(ShardRoute, AMemberHandingItOverWhileTheNewOwnerRebuilds) {
  ShardPicture p = picture("http://a");
  p.members[1].holds[3] = kRebuilding;  // b was assigned 3 and is still reading it
  EXPECT_EQ(route_partition(p, 3), forward(3, "http://c"));
}

TEST(ShardRoute, UnavailableWhileNobodyHoldsItReady) {
  EXPECT_EQ(route_partition(picture("http://b"), 1), unavailable(1));  // a still rebuilds it
  EXPECT_EQ(route_partition(picture("http://a"), 1), unavailable(1));  // even a itself
  EXPECT_EQ(route_partition(picture("http://a"), 4), unavailable(4));  // no such partition
  EXPECT_EQ(route_partition(picture("http://a"), -1), unavailable(-1));
  EXPECT_EQ(route_partition(ShardPicture{}, 0), unavailable(0));  // partition count unknown
}

TEST(ShardRoute, ADrainingMemberIsNotTheOwnerEvenWhenStillAssigned) {
  ShardPicture p = picture("http://a");
  p.members[1].draining = true;  // b stops: it left the group but the picture still lists its assignment
  EXPECT_EQ(p.owner(2), nullptr);
  // It holds 2 ready, so it is still asked (as a member handing over) until a new owner is ready.
  EXPECT_EQ(route_partition(p, 2), forward(2, "http://b"));
  p.members[0].assigned.push_back(2);
  p.members[0].holds[2] = kRebuilding;
  EXPECT_EQ(p.owner(2)->url, "http://a");
  EXPECT_EQ(route_partition(p, 2), forward(2, "http://b"));
  p.members[0].holds[2] = kReady;
  EXPECT_EQ(route_partition(p, 2), local(2));
}

TEST(ShardReady, OnlyWhenThisInstanceCanAnswerAnyCustomer) {
  // a still rebuilds its partition 1: not ready for a load balancer.
  EXPECT_EQ(shard_unready_reason(picture("http://a")), "rebuilding its partitions [1]");
  // b holds its own; partition 1 is held ready nowhere.
  EXPECT_EQ(shard_unready_reason(picture("http://b")), "no instance holds partitions [1] ready");
  ShardPicture all = picture("http://b");
  all.members[0].holds[1] = kReady;
  EXPECT_EQ(shard_unready_reason(all), "");
  all.members[1].draining = true;
  EXPECT_THAT(shard_unready_reason(all), ::testing::HasSubstr("draining"));
  EXPECT_EQ(shard_unready_reason(ShardPicture{}), "not in the shard group yet");
}

TEST(ShardMap, RoutesAKeyByTheProducersMurmur2) {
  ShardMap map("http://a");
  EXPECT_EQ(map.partition_of("1"), -1);
  EXPECT_EQ(map.route("1").kind, ShardRoute::Kind::kUnavailable);
  ShardPicture p = picture("ignored: the map's own url wins");
  map.update(p);
  EXPECT_EQ(map.picture()->self, "http://a");
  for (const char* id : {"1", "2", "abc", "cliente-42"}) {
    const std::int32_t partition = murmur2_partition(id, 4);
    EXPECT_EQ(map.partition_of(id), partition);
    EXPECT_EQ(map.route(id), route_partition(picture("http://a"), partition)) << id;
  }
}

TEST(ShardStatusJson, NamesSelfAndOnlyThePartitionsItHolds) {
  const std::string body = shard_status_json(picture("http://a"));
  EXPECT_EQ(body, R"({"assigned":[0,1],"draining":false,"holds":{"0":"ready","1":"rebuilding"},)"
                  R"("partitions":4,"url":"http://a"})");
}

TEST(ShardStatusJson, RoundTrips) {
  for (const char* self : {"http://a", "http://b", "http://c"}) {
    const ShardPicture p = picture(self);
    const auto parsed = parse_shard_status(shard_status_json(p));
    ASSERT_TRUE(parsed) << self;
    EXPECT_EQ(*parsed, *p.member(self));
  }
}

TEST(ShardStatusJson, ANewcomerNotAmongTheMembersYet) {
  ShardPicture p = picture("http://d");
  const auto parsed = parse_shard_status(shard_status_json(p));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->url, "http://d");
  EXPECT_TRUE(parsed->assigned.empty());
  EXPECT_EQ(parsed->holds, std::vector<PartitionHold>(4, kNone));
  EXPECT_FALSE(parsed->draining);
}

TEST(ShardStatusJson, MalformedIsNulloptNeverAThrow) {
  const std::string ok = R"({"url":"http://a","partitions":2,"assigned":[1],"holds":{"1":"ready"},"draining":false})";
  ASSERT_TRUE(parse_shard_status(ok));
  for (const std::string& bad : {
           std::string(), std::string("null"), std::string("[]"), std::string("{"), std::string("not json"),
           std::string(R"({"partitions":2,"assigned":[1],"holds":{},"draining":false})"),            // no url
           std::string(R"({"url":"","partitions":2,"assigned":[1],"holds":{},"draining":false})"),   // empty url
           std::string(R"({"url":7,"partitions":2,"assigned":[1],"holds":{},"draining":false})"),
           std::string(R"({"url":"u","partitions":"2","assigned":[1],"holds":{},"draining":false})"),
           std::string(R"({"url":"u","partitions":-1,"assigned":[],"holds":{},"draining":false})"),
           std::string(R"({"url":"u","partitions":1e9,"assigned":[],"holds":{},"draining":false})"),
           std::string(R"({"url":"u","partitions":100001,"assigned":[],"holds":{},"draining":false})"),
           std::string(R"({"url":"u","partitions":2,"assigned":[2],"holds":{},"draining":false})"),   // out of range
           std::string(R"({"url":"u","partitions":2,"assigned":["1"],"holds":{},"draining":false})"),
           std::string(R"({"url":"u","partitions":2,"assigned":[1.5],"holds":{},"draining":false})"),
           std::string(R"({"url":"u","partitions":2,"assigned":{},"holds":{},"draining":false})"),
           std::string(R"({"url":"u","partitions":2,"assigned":[],"holds":[],"draining":false})"),
           std::string(R"({"url":"u","partitions":2,"assigned":[],"holds":{"2":"ready"},"draining":false})"),
           std::string(R"({"url":"u","partitions":2,"assigned":[],"holds":{"-1":"ready"},"draining":false})"),
           std::string(R"({"url":"u","partitions":2,"assigned":[],"holds":{"1x":"ready"},"draining":false})"),
           std::string(R"({"url":"u","partitions":2,"assigned":[],"holds":{"":"ready"},"draining":false})"),
           std::string(R"({"url":"u","partitions":2,"assigned":[],"holds":{"1":"READY"},"draining":false})"),
           std::string(R"({"url":"u","partitions":2,"assigned":[],"holds":{"1":1},"draining":false})"),
           std::string(R"({"url":"u","partitions":2,"assigned":[],"holds":{}})"),                     // no draining
           std::string(R"({"url":"u","partitions":2,"assigned":[],"holds":{},"draining":"no"})"),
           ok + "x", ok.substr(0, ok.size() - 1)}) {
    std::optional<ShardMember> parsed;
    EXPECT_NO_THROW(parsed = parse_shard_status(bad)) << bad;
    EXPECT_FALSE(parsed) << bad;
  }
}

}  // namespace
}  // namespace saldo
