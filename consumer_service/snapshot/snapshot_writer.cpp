#include "consumer_service/snapshot/snapshot_writer.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <spdlog/spdlog.h>

namespace saldo {

void CheckpointBoard::publish(SnapshotMeta meta) {
  std::lock_guard lock(mutex_);
  if (meta_ && meta_->partitions == meta.partitions && meta_->topic == meta.topic) return;
  meta_ = std::move(meta);
  ++version_;
}

std::optional<std::pair<SnapshotMeta, std::uint64_t>> CheckpointBoard::latest() const {
  std::lock_guard lock(mutex_);
  if (!meta_) return std::nullopt;
  return std::make_pair(*meta_, version_);
}

std::optional<std::string> state_dir_problem(const std::string& dir, bool prepare) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const auto status = fs::status(dir, ec);
  if (fs::exists(status) && !fs::is_directory(status)) return "--state-dir " + dir + " is not a directory";
  if (!prepare) return std::nullopt;
  fs::create_directories(dir, ec);
  if (ec) return "--state-dir " + dir + ": cannot create it: " + ec.message();
  fs::remove(dir + "/snapshot.tmp", ec);
  const std::string probe = dir + "/.write-test";
  if (std::FILE* f = std::fopen(probe.c_str(), "w")) {
    const bool ok = std::fputs("x", f) >= 0;
    const bool closed = std::fclose(f) == 0;
    fs::remove(probe, ec);
    if (ok && closed) return std::nullopt;
  }
  return "--state-dir " + dir + ": cannot write in it: " + std::strerror(errno);
}

SnapshotWriter::SnapshotWriter(std::string dir, std::chrono::seconds interval, const BalanceStore& store,
                               Readiness& readiness, Metrics& metrics, const CheckpointBoard& board)
    : dir_(std::move(dir)), interval_(interval), store_(store), readiness_(readiness), metrics_(metrics), board_(board) {
  if (const char* slow = std::getenv("SALDO_TEST_SNAPSHOT_SLOW_MS")) slow_down_ = std::chrono::milliseconds(std::atoi(slow));
}

SnapshotWriter::~SnapshotWriter() { worker_.stop(); }

void SnapshotWriter::start() {
  worker_.start([this] {
    while (worker_.pause(interval_)) write_if_changed();
  });
}

void SnapshotWriter::stop_and_write() {
  worker_.stop();
  write_if_changed();
}

void SnapshotWriter::write_if_changed() {
  // Only a table that caught up is worth keeping: a half-rebuilt one would make the next start warm
  // from a point the first start had already passed.
  if (!readiness_.ready()) return;
  auto latest = board_.latest();
  if (!latest || latest->second == written_version_) return;
  SnapshotMeta meta = std::move(latest->first);
  meta.written_at_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  const auto t0 = std::chrono::steady_clock::now();
  try {
    const SnapshotStats stats = write_snapshot(dir_, meta, store_, slow_down_);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    written_version_ = latest->second;
    metrics_.snapshot_written(true, s, stats.bytes);
    readiness_.set_snapshot_error("");
    spdlog::info("snapshot: {} entries, {} bytes written to {} in {:.3f} s", stats.entries, stats.bytes,
                 snapshot_path(dir_), s);
  } catch (const std::exception& e) {
    metrics_.snapshot_written(false, 0, 0);
    readiness_.set_snapshot_error(e.what());
    // A half-written temporary file would keep a full disk full until the next success.
    std::error_code ignored;
    std::filesystem::remove(dir_ + "/snapshot.tmp", ignored);
    spdlog::error("snapshot not written: {}", e.what());
  }
}

}  // namespace saldo
