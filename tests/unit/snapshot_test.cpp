// The snapshot file without Kafka: round trip, every kind of damage, and the trust rules.
#include "consumer_service/snapshot/snapshot.h"
#include "consumer_service/snapshot/snapshot_writer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace saldo {
namespace {

namespace fs = std::filesystem;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("saldo-snapshot-test-" + std::to_string(::getpid()) + "-" +
                                               std::to_string(reinterpret_cast<std::uintptr_t>(this)));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string str() const { return path.string(); }
};

SnapshotMeta meta() {
  return {"contas", "cluster-1", 1760437845000,
          {{100, 5000, {99, 4999, 0x1234abcd5678ef00ull}}, {7, 4000, {6, 3999, 42}}, {0, -1, {}}}};
}

void fill(BalanceStore& store) {
  store.set("1", 15000, "2025-10-14T10:30:45", 0, 10, 1000);
  store.set(std::string(64, 'x'), -1, "2025-10-14T10:30:45-03:00", 1, 3, 2000);  // heap id, text timestamp
  store.set("frac", 7, "2025-10-14 10:30:45.123", 0, 11, 1001);
  store.erase("gone", 1, 5, 3000);  // a remembered delete
  for (int i = 0; i < 5000; ++i) store.set("k" + std::to_string(i), i, "2025-10-14T10:30:45Z", i % 2, 20 + i, 4000 + i);
}

TEST(Snapshot, RoundTripsEveryEntryAndTheMeta) {
  TempDir dir;
  BalanceStore store;
  fill(store);
  const SnapshotStats written = write_snapshot(dir.str(), meta(), store);
  EXPECT_EQ(written.entries, 5004u);
  EXPECT_EQ(written.bytes, fs::file_size(snapshot_path(dir.str())));
  EXPECT_FALSE(fs::exists(dir.path / "snapshot.tmp"));

  BalanceStore loaded;
  auto result = load_snapshot(dir.str(), loaded);
  ASSERT_TRUE(std::holds_alternative<LoadedSnapshot>(result)) << std::get<SnapshotRejected>(result).reason;
  EXPECT_EQ(std::get<LoadedSnapshot>(result).meta, meta());
  EXPECT_EQ(loaded.size(), store.size());
  EXPECT_EQ(loaded.tombstones(), 1u);
  for (const std::string& id : {std::string("1"), std::string(64, 'x'), std::string("frac"), std::string("k4999")}) {
    EXPECT_EQ(loaded.get(id), store.get(id)) << id;
  }
  // The delete is still remembered: an older value does not bring the customer back.
  EXPECT_EQ(loaded.set("gone", 1, "2025-10-14T10:30:45", 0, 99, 2999), ApplyResult::kStale);
  EXPECT_EQ(loaded.set("1", 1, "2025-10-14T10:30:45", 0, 10, 1000), ApplyResult::kStale);  // same record again
}

void damage_and_expect(const std::string& what, const std::function<void(const fs::path&)>& damage,
                       const std::string& result) {
  TempDir dir;
  BalanceStore store;
  fill(store);
  write_snapshot(dir.str(), meta(), store);
  damage(snapshot_path(dir.str()));
  BalanceStore loaded;
  auto r = load_snapshot(dir.str(), loaded);
  ASSERT_TRUE(std::holds_alternative<SnapshotRejected>(r)) << what;
  EXPECT_EQ(std::get<SnapshotRejected>(r).result, result) << what << ": " << std::get<SnapshotRejected>(r).reason;
  EXPECT_EQ(loaded.size(), 0u) << what << ": a rejected snapshot leaves nothing behind";
  EXPECT_EQ(loaded.tombstones(), 0u);
}

TEST(Snapshot, EveryDamageIsRejectedAndLeavesTheStoreEmpty) {
  damage_and_expect("truncated", [](const fs::path& p) { fs::resize_file(p, fs::file_size(p) / 2); }, "corrupt");
  damage_and_expect("trailer cut", [](const fs::path& p) { fs::resize_file(p, fs::file_size(p) - 3); }, "corrupt");
  damage_and_expect("empty", [](const fs::path& p) { fs::resize_file(p, 0); }, "corrupt");
  for (const std::size_t at : {std::size_t{20}, std::size_t{5000}, std::size_t{60000}}) {
    damage_and_expect("byte " + std::to_string(at) + " flipped", [at](const fs::path& p) {
      std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
      f.seekg(static_cast<std::streamoff>(at));
      char c;
      f.get(c);
      f.seekp(static_cast<std::streamoff>(at));
      f.put(static_cast<char>(c ^ 0x10));
    }, "corrupt");
  }
  damage_and_expect("another version", [](const fs::path& p) {
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(8);
    f.put(static_cast<char>(99));
  }, "version");
  damage_and_expect("missing", [](const fs::path& p) { fs::remove(p); }, "missing");
}

TEST(Snapshot, TrustRules) {
  const SnapshotMeta m = meta();
  const std::vector<std::int64_t> low = {0, 0, 0}, high = {150, 7, 3};
  const std::int64_t day = 86400000, now = m.written_at_ms + 60000;
  EXPECT_FALSE(check_snapshot(m, "contas", "cluster-1", low, high, day, now));
  EXPECT_EQ(check_snapshot(m, "outro", "cluster-1", low, high, day, now)->result, "other_topic");
  EXPECT_EQ(check_snapshot(m, "contas", "cluster-2", low, high, day, now)->result, "other_cluster");
  EXPECT_EQ(check_snapshot(m, "contas", "cluster-1", {0, 0}, {150, 7}, day, now)->result, "partitions_changed");
  EXPECT_EQ(check_snapshot(m, "contas", "cluster-1", low, {150, 6, 3}, day, now)->result, "ahead_of_topic");
  EXPECT_EQ(check_snapshot(m, "contas", "cluster-1", {101, 0, 0}, high, day, now)->result, "records_deleted");
  EXPECT_FALSE(check_snapshot(m, "contas", "cluster-1", {100, 0, 0}, high, day, now));  // start exactly there: fine
  // Older than delete.retention.ms: a tombstone the snapshot never saw may be gone from the topic.
  EXPECT_EQ(check_snapshot(m, "contas", "cluster-1", low, high, 60000, now)->result, "older_than_delete_retention");
  EXPECT_FALSE(check_snapshot(m, "contas", "cluster-1", low, high, 60001, now));
}

// Issue 25: a failing snapshot write says so in /ready (not only in the log) until one succeeds, and
// never leaves its half-written temporary file behind to keep a full disk full.
TEST(SnapshotWriter, AFailedWriteIsShownUntilOneSucceedsAndLeavesNoTemporaryFile) {
  TempDir dir;
  const std::string state = (dir.path / "state").string();
  BalanceStore store;
  fill(store);
  Readiness readiness("contas");
  readiness.begin_rebuild({{0, 0, 0}});  // nothing to read: READY at once
  ASSERT_TRUE(readiness.ready());
  Metrics metrics;
  CheckpointBoard board;
  board.publish(meta());
  { std::ofstream(state) << "a file where the directory should be"; }
  SnapshotWriter writer(state, std::chrono::seconds(3600), store, readiness, metrics, board);
  writer.stop_and_write();
  EXPECT_NE(readiness.snapshot().snapshot_error, "") << "the failure must reach /ready";
  EXPECT_FALSE(fs::exists(dir.path / "state" / "snapshot.tmp"));

  fs::remove(state);
  SnapshotMeta next = meta();
  next.partitions[0].next_offset += 1;  // a new checkpoint: something to write
  board.publish(next);
  writer.stop_and_write();
  EXPECT_EQ(readiness.snapshot().snapshot_error, "");
  EXPECT_TRUE(fs::exists(snapshot_path(state)));
}

TEST(SnapshotWriter, AStateDirectoryThatCannotBeUsedIsRefusedAndALeftoverTemporaryFileGoes) {
  TempDir dir;
  const fs::path file = dir.path / "not-a-dir";
  { std::ofstream(file) << "x"; }
  for (bool prepare : {false, true}) {
    const auto why = state_dir_problem(file.string(), prepare);
    ASSERT_TRUE(why);
    EXPECT_NE(why->find("is not a directory"), std::string::npos) << *why;
  }
  const fs::path fresh = dir.path / "new" / "state";
  EXPECT_FALSE(state_dir_problem(fresh.string(), false)) << "a missing directory is fine to --print-config";
  EXPECT_FALSE(fs::exists(fresh)) << "--print-config changes nothing";
  EXPECT_FALSE(state_dir_problem(fresh.string(), true));
  EXPECT_TRUE(fs::is_directory(fresh));
  { std::ofstream(fresh / "snapshot.tmp") << std::string(1 << 20, 'x'); }
  EXPECT_FALSE(state_dir_problem(fresh.string(), true));
  EXPECT_FALSE(fs::exists(fresh / "snapshot.tmp"));
}

}  // namespace
}  // namespace saldo
