#include "consumer_service/http/sse_events.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include <time.h>

#include "consumer_service/status/change_feed.h"
#include "consumer_service/http/event_stream.h"
#include "consumer_service/status/readiness.h"

namespace saldo {
namespace {

using namespace std::chrono_literals;

BalanceSnapshot balance(Centavos c, std::int32_t p, std::int64_t o) {
  BalanceSnapshot b;
  b.saldo = c;
  b.timestamp = "2025-10-14T10:30:45";
  b.partition = p;
  b.offset = o;
  return b;
}

CustomerView found(Centavos c, std::int32_t p, std::int64_t o) { return CustomerView{balance(c, p, o), std::nullopt}; }

TEST(SseEvents, FirstEventIsTheCurrentValueWithItsPositionAndTheRetryDelay) {
  EXPECT_EQ(sse_first_event("42", found(15050, 2, 1534), 2000ms),
            "retry: 2000\nevent: saldo\nid: 2:1534\n"
            "data: {\"cliente_id\":\"42\",\"saldo\":150.50,\"timestamp\":\"2025-10-14T10:30:45\",\"partition\":2,"
            "\"offset\":1534}\n\n");
}

TEST(SseEvents, FirstEventOfAnUnknownCustomerIsNotFound) {
  EXPECT_EQ(sse_first_event("7", CustomerView{}, 1500ms),
            "retry: 1500\nevent: not_found\ndata: {\"cliente_id\":\"7\",\"error\":\"cliente não encontrado\"}\n\n");
}

TEST(SseEvents, ANewRecordIsAnEventTheSameRecordIsNot) {
  EXPECT_EQ(sse_change_event("42", found(100, 0, 1), found(100, 0, 1)), "");
  // The same amount written again is a new record: the client learns its new position.
  EXPECT_EQ(sse_change_event("42", found(100, 0, 1), found(100, 0, 2)),
            "event: saldo\nid: 0:2\ndata: {\"cliente_id\":\"42\",\"saldo\":1.00,\"timestamp\":\"2025-10-14T10:30:45\","
            "\"partition\":0,\"offset\":2}\n\n");
  // Created after a not_found.
  EXPECT_NE(sse_change_event("42", CustomerView{}, found(-5, 1, 9)).find("\"saldo\":-0.05"), std::string::npos);
}

TEST(SseEvents, ADeleteIsADeletedEventWithTheDeletesPosition) {
  EXPECT_EQ(sse_change_event("42", found(100, 0, 1), CustomerView{std::nullopt, TopicPosition{0, 5}}),
            "event: deleted\nid: 0:5\ndata: {\"cliente_id\":\"42\",\"partition\":0,\"offset\":5}\n\n");
  // A delete the store no longer remembers (purged): still an event, without a position.
  EXPECT_EQ(sse_change_event("42", found(100, 0, 1), CustomerView{}),
            "event: deleted\ndata: {\"cliente_id\":\"42\"}\n\n");
  // Still not there: nothing to say.
  EXPECT_EQ(sse_change_event("42", CustomerView{}, CustomerView{std::nullopt, TopicPosition{0, 5}}), "");
}

TEST(SseEvents, MovedSaysWhichInstanceServesTheCustomerNow) {
  EXPECT_EQ(sse_moved_event("42", "http://b:5000"),
            "event: moved\ndata: {\"cliente_id\":\"42\",\"owner\":\"http://b:5000\"}\n\n");
}

TEST(SseEvents, ANewerRejectedRecordIsAnEventWithTheWarning) {
  CustomerView warned = found(100, 0, 1);
  warned.balance->newer_rejected = RejectedRecord{"invalid_json", 0, 2};
  const std::string e = sse_change_event("42", found(100, 0, 1), warned);
  EXPECT_NE(e.find("\"warning\":{\"reason\":\"invalid_json\""), std::string::npos) << e;
}

TEST(ChangeFeed, WaitReturnsOnPublishAndAtOnceWhenClosed) {
  ChangeFeed feed;
  const std::uint64_t v0 = feed.version();
  EXPECT_EQ(feed.wait(v0, std::chrono::steady_clock::now() + 10ms), v0);  // nothing: the deadline
  std::thread writer([&] { feed.publish(); });
  EXPECT_NE(feed.wait(v0, std::chrono::steady_clock::now() + 10s), v0);
  writer.join();
  const auto before = std::chrono::steady_clock::now();
  std::thread closer([&] { feed.close(); });
  feed.wait(feed.version(), std::chrono::steady_clock::now() + 10s);
  closer.join();
  EXPECT_TRUE(feed.closed());
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
}

class EventStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    readiness_.begin_rebuild({{0, 0, 0}});
    ASSERT_TRUE(readiness_.ready());
  }
  // What the writer thread does: apply, then move the position.
  void set(Centavos c, std::int64_t offset) {
    store_.set("42", c, "2025-10-14T10:30:45", 0, offset);
    readiness_.advance(0, offset + 1);
  }
  static bool alive() { return true; }

  BalanceStore store_;
  Readiness readiness_{"contas"};
};

TEST_F(EventStreamTest, FollowsSetsAndDeletesOfItsCustomerOnly) {
  // The store takes writes from one thread only: all of them come from `writer`.
  std::promise<void> first_set, opened;
  std::thread writer([&] {
    set(100, 0);
    first_set.set_value();
    opened.get_future().wait();
    store_.set("other", 1, "2025-10-14T10:30:45", 0, 1);  // another customer: no event
    readiness_.advance(0, 2);
    set(250, 2);
    store_.erase("42", 0, 3);
    readiness_.advance(0, 4);
  });
  first_set.get_future().wait();
  EventStreamTiming timing;
  timing.heartbeat = 60s;
  EventStream stream(store_, readiness_, "42", timing);
  std::string out;
  ASSERT_TRUE(stream.next(out, alive));
  EXPECT_NE(out.find("id: 0:0\n"), std::string::npos) << out;
  opened.set_value();
  ASSERT_TRUE(stream.next(out, alive));
  // Records applied in one go may be seen together: the newest state always comes.
  if (out.find("event: saldo") != std::string::npos) {
    EXPECT_NE(out.find("\"saldo\":2.50"), std::string::npos) << out;
    ASSERT_TRUE(stream.next(out, alive));
  }
  writer.join();
  EXPECT_EQ(out, "event: deleted\nid: 0:3\ndata: {\"cliente_id\":\"42\",\"partition\":0,\"offset\":3}\n\n");
}

TEST_F(EventStreamTest, HeartbeatWhenIdleAndEndsOnCloseOrWhenTheClientLeft) {
  EventStreamTiming timing;
  timing.heartbeat = 50ms;
  timing.liveness = 10ms;
  int slots = 1;
  {
    EventStream stream(store_, readiness_, "42", timing, [&] { --slots; });
    std::string out;
    ASSERT_TRUE(stream.next(out, alive));
    EXPECT_NE(out.find("event: not_found"), std::string::npos);
    ASSERT_TRUE(stream.next(out, alive));
    EXPECT_EQ(out, kSseHeartbeat);
    EXPECT_FALSE(stream.next(out, [] { return false; }));  // the client left: within `liveness`
    timing.heartbeat = 60s;
    timing.liveness = 60s;
    EventStream idle(store_, readiness_, "42", timing);
    ASSERT_TRUE(idle.next(out, alive));
    const auto began = std::chrono::steady_clock::now();
    std::thread closer([&] { readiness_.changes().close(); });
    EXPECT_FALSE(idle.next(out, alive));  // shutdown: at once, not at the next heartbeat
    closer.join();
    EXPECT_LT(std::chrono::steady_clock::now() - began, 10s);
    EventStream late(store_, readiness_, "42", timing);
    EXPECT_FALSE(late.next(out, alive));
  }
  EXPECT_EQ(slots, 0);  // the place under the cap is given back
}

double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

TEST_F(EventStreamTest, WhileTheTableIsRebuiltAgainItSleepsAndLooksOnceReady) {
  std::promise<void> opened, rebuilding, go_on;
  std::thread writer([&] {
    set(100, 0);
    opened.get_future().wait();
    readiness_.restart_rebuild("test: the topic was recreated");
    store_.clear();
    readiness_.begin_rebuild({{0, 0, 5}});  // not READY: 5 records to replay
    rebuilding.set_value();
    go_on.get_future().wait();
    store_.set("42", 900, "2025-10-14T10:30:45", 0, 4);
    readiness_.advance(0, 5);  // READY again
  });
  EventStreamTiming timing;
  timing.heartbeat = 300ms;
  timing.liveness = 100ms;
  EventStream stream(store_, readiness_, "42", timing);
  std::string out;
  // The first value once the writer set it.
  while (!store_.get("42")) std::this_thread::sleep_for(1ms);
  ASSERT_TRUE(stream.next(out, alive));
  opened.set_value();
  rebuilding.get_future().wait();
  // The feed moved (the table was cleared) but the table is not READY: no event, and no spinning
  // until the heartbeat.
  const double cpu0 = thread_cpu_s();
  ASSERT_TRUE(stream.next(out, alive));
  EXPECT_EQ(out, kSseHeartbeat);
  EXPECT_LT(thread_cpu_s() - cpu0, 0.05) << "the stream spun while the table was rebuilt";
  go_on.set_value();
  ASSERT_TRUE(stream.next(out, alive));
  EXPECT_NE(out.find("id: 0:4\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\"saldo\":9.00"), std::string::npos) << out;
  writer.join();
}

}  // namespace
}  // namespace saldo
