// Sharded mode's decision (consumer_service/shard/shard_plan.h): what the table holds and the picture
// routes use, through a scale-out, a graceful leave and a member that stops answering.
#include "consumer_service/shard/shard_plan.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace saldo {
namespace {

using P = std::vector<std::int32_t>;
constexpr auto kReady = PartitionHold::kReady;
constexpr auto kRebuilding = PartitionHold::kRebuilding;
constexpr auto kNone = PartitionHold::kNone;

ShardMember member(std::string url, P assigned, std::vector<PartitionHold> holds, bool draining = false) {
  ShardMember m;
  m.url = std::move(url);
  m.assigned = std::move(assigned);
  m.holds = std::move(holds);
  m.draining = draining;
  return m;
}

ShardInputs inputs(P assigned, P serving, std::vector<PartitionHold> local, std::vector<ShardMember> peers) {
  ShardInputs in;
  in.self = "http://a:1";
  in.partitions = 4;
  in.joined = true;
  in.assigned = std::move(assigned);
  in.serving = std::move(serving);
  in.local = std::move(local);
  in.peers = std::move(peers);
  return in;
}

TEST(ShardPlan, BeforeTheFirstAssignmentNothingIsHeldAndNothingRoutesHere) {
  ShardInputs in = inputs({}, {}, {kNone, kNone, kNone, kNone}, {});
  in.joined = false;
  const ShardPlan plan = plan_shards(in);
  EXPECT_TRUE(plan.serve.empty());
  EXPECT_EQ(route_partition(plan.picture, 0).kind, ShardRoute::Kind::kUnavailable);
}

TEST(ShardPlan, ARevokedPartitionIsKeptAndAnsweredHereUntilItsNewOwnerIsReady) {
  // Scale-out: partition 1 went to b, which is still rebuilding it.
  const auto rebuilding = member("http://b:1", {1}, {kNone, kRebuilding, kNone, kNone});
  ShardPlan plan = plan_shards(inputs({0}, {0, 1}, {kReady, kReady, kNone, kNone}, {rebuilding}));
  EXPECT_EQ(plan.serve, (P{0, 1}));
  EXPECT_TRUE(plan.released.empty());
  EXPECT_EQ(route_partition(plan.picture, 1).kind, ShardRoute::Kind::kLocal);
  // b is ready: let go, and routed there at once (the picture no longer says it is held here).
  const auto ready = member("http://b:1", {1}, {kNone, kReady, kNone, kNone});
  plan = plan_shards(inputs({0}, {0, 1}, {kReady, kReady, kNone, kNone}, {ready}));
  EXPECT_EQ(plan.serve, (P{0}));
  EXPECT_EQ(plan.released, (P{1}));
  EXPECT_EQ(route_partition(plan.picture, 1), (ShardRoute{ShardRoute::Kind::kForward, 1, "http://b:1"}));
}

TEST(ShardPlan, ANewOwnerRoutesToTheOldHolderWhileItRebuilds) {
  // b's view: it owns 1 and rebuilds it; a (not its owner any more) still holds it ready.
  ShardInputs in = inputs({1}, {1}, {kNone, kRebuilding, kNone, kNone},
                          {member("http://c:1", {0}, {kReady, kReady, kNone, kNone})});
  in.self = "http://b:1";
  const ShardPlan plan = plan_shards(in);
  EXPECT_EQ(route_partition(plan.picture, 1), (ShardRoute{ShardRoute::Kind::kForward, 1, "http://c:1"}));
  EXPECT_EQ(route_partition(plan.picture, 0), (ShardRoute{ShardRoute::Kind::kForward, 0, "http://c:1"}));
  EXPECT_EQ(route_partition(plan.picture, 2).kind, ShardRoute::Kind::kUnavailable);
}

TEST(ShardPlan, DrainingOwnsNothingAndLetsGoOnlyWhatADifferentReadyOwnerTookOver) {
  ShardInputs in = inputs({0, 1}, {0, 1}, {kReady, kReady, kNone, kNone},
                          {member("http://b:1", {0}, {kReady, kNone, kNone, kNone}),
                           member("http://c:1", {1}, {kNone, kRebuilding, kNone, kNone})});
  in.draining = true;
  const ShardPlan plan = plan_shards(in);
  EXPECT_EQ(plan.serve, (P{1}));
  EXPECT_EQ(plan.released, (P{0}));
  const ShardMember* self = plan.picture.member("http://a:1");
  ASSERT_NE(self, nullptr);
  EXPECT_TRUE(self->draining);
  EXPECT_TRUE(self->assigned.empty());
  // A draining member that still holds a partition ready is a place to route it, but never its owner.
  EXPECT_EQ(plan.picture.owner(1)->url, "http://c:1");
}

TEST(ShardPlan, ADrainingPeerIsNotATakeOver) {
  const ShardPlan plan = plan_shards(
      inputs({}, {2}, {kNone, kNone, kReady, kNone}, {member("http://b:1", {2}, {kNone, kNone, kReady, kNone}, true)}));
  EXPECT_EQ(plan.serve, (P{2}));
  EXPECT_TRUE(plan.released.empty());
}

TEST(ShardPlan, AMemberThatStopsAnsweringIsNoLongerRouted) {
  // c was killed: only the members that answered are in the picture.
  const ShardPlan plan = plan_shards(inputs({0}, {0}, {kReady, kNone, kNone, kNone}, {}));
  EXPECT_EQ(route_partition(plan.picture, 0).kind, ShardRoute::Kind::kLocal);
  EXPECT_EQ(route_partition(plan.picture, 3).kind, ShardRoute::Kind::kUnavailable);
}

TEST(ShardPlan, OnlyWhatTheTableHoldsAndIsAskedToHoldCountsAsHeldHere) {
  // The table still reports partition 3 (asked to let it go a tick ago): not held in the picture.
  const ShardPlan plan = plan_shards(inputs({0}, {0}, {kReady, kNone, kNone, kReady}, {}));
  EXPECT_EQ(plan.picture.member("http://a:1")->hold(3), kNone);
  EXPECT_EQ(plan.picture.member("http://a:1")->hold(0), kReady);
}

TEST(ShardPlan, TheOrphansOfAMemberThatStoppedAnsweringAreAdoptedByOneSurvivorAtOnce) {
  // c owned 2 and 3 and was killed: a and b answer, c does not; the group still lists c until its
  // session times out.
  const std::vector<ShardMember> group = {member("http://a:1", {0}, {}), member("http://b:1", {1}, {}),
                                          member("http://c:1", {2, 3}, {})};
  const auto b = member("http://b:1", {1}, {kNone, kReady, kNone, kNone});
  ShardInputs in = inputs({0}, {0}, {kReady, kNone, kNone, kNone}, {b});
  in.group = group;
  in.unreachable = {"http://c:1"};
  const ShardPlan at_a = plan_shards(in);
  ShardInputs in_b = inputs({1}, {1}, {kNone, kReady, kNone, kNone}, {member("http://a:1", {0}, {kReady, kNone, kNone, kNone})});
  in_b.self = "http://b:1";
  in_b.group = group;
  in_b.unreachable = {"http://c:1"};
  const ShardPlan at_b = plan_shards(in_b);
  // Each orphan is adopted by exactly one of them, the same in both views.
  for (const std::int32_t p : {2, 3}) {
    const bool by_a = std::find(at_a.adopted.begin(), at_a.adopted.end(), p) != at_a.adopted.end();
    const bool by_b = std::find(at_b.adopted.begin(), at_b.adopted.end(), p) != at_b.adopted.end();
    EXPECT_NE(by_a, by_b) << p;
    EXPECT_EQ(by_a, adopter_of(p, {"http://a:1", "http://b:1"}) == "http://a:1");
  }
  EXPECT_TRUE(std::find(at_a.adopted.begin(), at_a.adopted.end(), 0) == at_a.adopted.end());
  // While c still answers (or is only slow once), nothing is adopted.
  in.unreachable.clear();
  EXPECT_TRUE(plan_shards(in).adopted.empty());
  // Once someone holds the orphan ready (the adopter, or c's successor), no one else adopts it.
  in.unreachable = {"http://c:1"};
  in.peers = {member("http://b:1", {1}, {kNone, kReady, kReady, kReady})};
  EXPECT_TRUE(plan_shards(in).adopted.empty());
}

TEST(ShardPlan, AnAdoptedPartitionIsLetGoOnceTheGroupsNewOwnerIsReady) {
  // a adopted 2; the group then assigned 2 to b, which is ready with it.
  ShardInputs in = inputs({0}, {0, 2}, {kReady, kNone, kReady, kNone},
                          {member("http://b:1", {1, 2}, {kNone, kReady, kReady, kNone})});
  const ShardPlan plan = plan_shards(in);
  EXPECT_EQ(plan.serve, (P{0}));
  EXPECT_EQ(plan.released, (P{2}));
}

TEST(ShardPlan, ADrainingMemberAdoptsNothing) {
  ShardInputs in = inputs({}, {}, {kNone, kNone, kNone, kNone}, {});
  in.draining = true;
  in.group = {member("http://c:1", {0, 1, 2, 3}, {})};
  in.unreachable = {"http://c:1"};
  EXPECT_TRUE(plan_shards(in).adopted.empty());
}

TEST(ShardPlan, APartitionRevokedBeforeItsRebuildFinishedIsDroppedAtOnce) {
  // The first of three members to join was assigned all four for a moment; now it owns 0 only.
  const ShardPlan plan = plan_shards(inputs({0}, {0, 1, 2, 3}, {kRebuilding, kRebuilding, kReady, kRebuilding},
                                            {member("http://b:1", {1, 2}, {kNone, kRebuilding, kNone, kNone})}));
  EXPECT_EQ(plan.serve, (P{0, 2}));  // 2 is ready here: kept until b is ready with it
  EXPECT_EQ(plan.abandoned, (P{1, 3}));
  EXPECT_TRUE(plan.released.empty());
  EXPECT_EQ(route_partition(plan.picture, 2).kind, ShardRoute::Kind::kLocal);
}

TEST(ShardPlan, AnAdoptedOrphanIsKeptWhileItRebuilds) {
  ShardInputs in = inputs({0}, {0, 3}, {kReady, kNone, kNone, kRebuilding}, {});
  in.group = {member("http://a:1", {0}, {}), member("http://c:1", {1, 2, 3}, {})};
  in.unreachable = {"http://c:1"};
  const ShardPlan plan = plan_shards(in);
  EXPECT_EQ(plan.serve, (P{0, 1, 2, 3}));  // the only survivor adopts every orphan
  EXPECT_TRUE(plan.abandoned.empty());
  EXPECT_EQ(plan.adopted, (P{1, 2}));  // 3 was adopted before
}

}  // namespace
}  // namespace saldo
