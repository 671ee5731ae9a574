#include "consumer_service/snapshot/snapshot.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace saldo {
namespace {

constexpr char kMagic[8] = {'S', 'A', 'L', 'D', 'O', 'S', 'N', 'P'};
constexpr char kEnd[8] = {'S', 'A', 'L', 'D', 'O', 'E', 'N', 'D'};
constexpr std::size_t kTrailer = 8 + 8 + 8;

// A fast 64-bit checksum over 8-byte words (corruption, not tampering): ~several GB/s, so checking a
// 10M-customer file costs a fraction of the load.
class Checksum {
 public:
  void words(const char* p, std::size_t n) {  // n is a multiple of 8
    for (std::size_t i = 0; i < n; i += 8) {
      std::uint64_t w;
      std::memcpy(&w, p + i, 8);
      h_ = (h_ ^ w) * 0x9E3779B97F4A7C15ull;
      h_ = (h_ << 31) | (h_ >> 33);
    }
    len_ += n;
  }
  std::uint64_t finish(const char* tail, std::size_t n) {  // n < 8
    std::uint64_t w = 0;
    std::memcpy(&w, tail, n);
    std::uint64_t h = (h_ ^ w ^ (len_ + n)) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 31;
    return h;
  }

 private:
  std::uint64_t h_ = 0x5A4C444F534E5031ull;
  std::uint64_t len_ = 0;
};

std::runtime_error io_error(const std::string& what, const std::string& path) {
  return std::runtime_error(what + " " + path + ": " + std::strerror(errno));
}

// Buffered writes that checksum what they write.
class Writer {
 public:
  explicit Writer(const std::string& path) : path_(path), fd_(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600)) {
    if (fd_ < 0) throw io_error("cannot create", path);
    buf_.reserve(kChunk + 4096);
  }
  ~Writer() {
    if (fd_ >= 0) ::close(fd_);
  }
  template <class T>
  void put(T v) {
    append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void str16(std::string_view s) {
    put(static_cast<std::uint16_t>(s.size()));
    append(s.data(), s.size());
  }
  void append(const char* p, std::size_t n) {
    buf_.append(p, n);
    bytes_ += n;
    if (buf_.size() >= kChunk) drain(false);
  }
  // Writes the trailer, fsyncs and closes.
  void finish(std::uint64_t entries) {
    drain(true);
    const std::uint64_t sum = sum_.finish(buf_.data(), buf_.size());
    raw(buf_.data(), buf_.size());
    buf_.clear();
    raw(reinterpret_cast<const char*>(&entries), 8);
    raw(reinterpret_cast<const char*>(&sum), 8);
    raw(kEnd, 8);
    bytes_ += kTrailer;
    if (::fsync(fd_) != 0) throw io_error("cannot fsync", path_);
    if (::close(fd_) != 0) {
      fd_ = -1;
      throw io_error("cannot close", path_);
    }
    fd_ = -1;
  }
  std::size_t bytes() const { return bytes_; }

 private:
  static constexpr std::size_t kChunk = 1 << 20;
  // Writes the buffer's whole 8-byte words (all but the tail when `last`): the checksum sees the
  // same words however the writes were split.
  void drain(bool last) {
    const std::size_t n = buf_.size() / 8 * 8;
    (void)last;
    sum_.words(buf_.data(), n);
    raw(buf_.data(), n);
    buf_.erase(0, n);
  }
  void raw(const char* p, std::size_t n) {
    while (n > 0) {
      const ssize_t w = ::write(fd_, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        throw io_error("cannot write", path_);
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
  }

  std::string path_;
  int fd_;
  std::string buf_;
  Checksum sum_;
  std::size_t bytes_ = 0;
};

// Bounds-checked reads from the mapped file.
class Reader {
 public:
  Reader(const char* p, std::size_t n) : p_(p), end_(p + n) {}
  template <class T>
  bool get(T& v) {
    if (static_cast<std::size_t>(end_ - p_) < sizeof v) return false;
    std::memcpy(&v, p_, sizeof v);
    p_ += sizeof v;
    return true;
  }
  bool bytes(std::size_t n, std::string_view& out) {
    if (static_cast<std::size_t>(end_ - p_) < n) return false;
    out = std::string_view(p_, n);
    p_ += n;
    return true;
  }
  bool str16(std::string_view& out) {
    std::uint16_t n;
    return get(n) && bytes(n, out);
  }
  bool at_end() const { return p_ == end_; }

 private:
  const char* p_;
  const char* end_;
};

struct Mapped {
  const char* data = nullptr;
  std::size_t size = 0;
  ~Mapped() {
    if (data != nullptr && size > 0) ::munmap(const_cast<char*>(data), size);
  }
};

}  // namespace

std::string snapshot_path(const std::string& dir) { return dir + "/snapshot.bin"; }

SnapshotStats write_snapshot(const std::string& dir, const SnapshotMeta& meta, const BalanceStore& store,
                             std::chrono::milliseconds slow_down) {
  std::filesystem::create_directories(dir);
  const std::string tmp = dir + "/snapshot.tmp";
  Writer w(tmp);
  w.append(kMagic, sizeof kMagic);
  w.put(kSnapshotVersion);
  w.str16(meta.topic);
  w.str16(meta.cluster_id);
  w.put(meta.written_at_ms);
  w.put(static_cast<std::uint32_t>(meta.partitions.size()));
  for (const auto& p : meta.partitions) {
    w.put(p.next_offset);
    w.put(p.order_time);
    w.put(p.last.offset);
    w.put(p.last.timestamp_ms);
    w.put(p.last.content_hash);
  }
  std::uint64_t entries = 0;
  std::size_t shard_entries = 0;
  store.visit([&](const StoredEntry& e) {
    w.put(static_cast<std::uint8_t>(e.id.size()));
    w.append(e.id.data(), e.id.size());
    w.put(static_cast<std::uint8_t>(e.deleted ? 1 : 0));
    if (!e.deleted) {
      w.put(e.saldo);
      w.put(e.ts_format);
      if (e.ts_format != 0) {
        w.put(e.ts_bits);
      } else {
        w.str16(e.ts_text);
      }
    }
    w.put(e.partition);
    w.put(e.offset);
    w.put(e.record_time);
    ++entries;
    if (slow_down.count() > 0 && ++shard_entries % 64 == 0) std::this_thread::sleep_for(slow_down);
  });
  w.finish(entries);
  const std::string path = snapshot_path(dir);
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw io_error("cannot rename to", path);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd < 0) throw io_error("cannot open", dir);
  const int synced = ::fsync(dfd);
  ::close(dfd);
  if (synced != 0) throw io_error("cannot fsync", dir);
  return {entries, w.bytes()};
}

std::variant<LoadedSnapshot, SnapshotRejected> load_snapshot(const std::string& dir, BalanceStore& store) {
  const std::string path = snapshot_path(dir);
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return SnapshotRejected{"missing", "no snapshot at " + path};
  struct stat st {};
  Mapped file;
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    file.size = static_cast<std::size_t>(st.st_size);
    void* p = ::mmap(nullptr, file.size, PROT_READ, MAP_PRIVATE, fd, 0);
    file.data = p == MAP_FAILED ? nullptr : static_cast<const char*>(p);
    if (file.data != nullptr) ::madvise(const_cast<char*>(file.data), file.size, MADV_SEQUENTIAL);
  }
  ::close(fd);
  const auto corrupt = [&](const std::string& why) {
    store.clear();
    return SnapshotRejected{"corrupt", path + ": " + why};
  };
  if (file.data == nullptr || file.size < sizeof kMagic + 4 + kTrailer) return corrupt("empty or truncated");
  if (std::memcmp(file.data, kMagic, sizeof kMagic) != 0) return corrupt("not a saldo snapshot");
  std::uint32_t version = 0;
  std::memcpy(&version, file.data + sizeof kMagic, 4);
  if (version != kSnapshotVersion) {
    return SnapshotRejected{"version", path + ": format version " + std::to_string(version) + ", this build reads " +
                                           std::to_string(kSnapshotVersion)};
  }
  const std::size_t body = file.size - kTrailer;
  const char* trailer = file.data + body;
  if (std::memcmp(trailer + 16, kEnd, sizeof kEnd) != 0) return corrupt("truncated (no end marker)");
  std::uint64_t entries = 0, sum = 0;
  std::memcpy(&entries, trailer, 8);
  std::memcpy(&sum, trailer + 8, 8);
  Checksum check;
  check.words(file.data, body / 8 * 8);
  if (check.finish(file.data + body / 8 * 8, body % 8) != sum) return corrupt("checksum mismatch");

  LoadedSnapshot out;
  Reader r(file.data + sizeof kMagic + 4, body - sizeof kMagic - 4);
  std::string_view topic, cluster;
  std::uint32_t partitions = 0;
  if (!r.str16(topic) || !r.str16(cluster) || !r.get(out.meta.written_at_ms) || !r.get(partitions) ||
      partitions > 100000) {
    return corrupt("bad header");
  }
  out.meta.topic = topic;
  out.meta.cluster_id = cluster;
  out.meta.partitions.resize(partitions);
  for (auto& p : out.meta.partitions) {
    if (!r.get(p.next_offset) || !r.get(p.order_time) || !r.get(p.last.offset) || !r.get(p.last.timestamp_ms) ||
        !r.get(p.last.content_hash)) {
      return corrupt("bad header");
    }
  }
  if (entries <= body) store.reserve(static_cast<std::size_t>(entries));  // (a count above the size is corrupt)
  // Parsed a group at a time (views into the mapped file), restored grouped by shard.
  constexpr std::size_t kGroup = 4096;
  std::vector<StoredEntry> group;
  group.reserve(kGroup);
  for (std::uint64_t i = 0; i < entries;) {
    group.clear();
    const std::uint64_t first = i;
    for (; i < entries && group.size() < kGroup; ++i) {
      StoredEntry& e = group.emplace_back();
      std::uint8_t id_len = 0, flags = 0;
      if (!r.get(id_len) || !r.bytes(id_len, e.id) || !r.get(flags)) return corrupt("bad entry");
      e.deleted = (flags & 1) != 0;
      if (!e.deleted) {
        if (!r.get(e.saldo) || !r.get(e.ts_format)) return corrupt("bad entry");
        if (e.ts_format != 0 ? !r.get(e.ts_bits) : !r.str16(e.ts_text)) return corrupt("bad entry");
      }
      if (!r.get(e.partition) || !r.get(e.offset) || !r.get(e.record_time)) return corrupt("bad entry");
    }
    if (const auto refused = store.restore(group)) {
      return corrupt("entry " + std::to_string(first + *refused) + " cannot be restored");
    }
  }
  if (!r.at_end()) return corrupt("bytes after the last entry");
  out.stats = {entries, file.size};
  return out;
}

std::optional<SnapshotRejected> check_snapshot(const SnapshotMeta& meta, const std::string& topic,
                                               const std::string& cluster_id, const std::vector<std::int64_t>& low,
                                               const std::vector<std::int64_t>& high,
                                               std::int64_t delete_retention_ms, std::int64_t now_ms) {
  if (meta.topic != topic) return SnapshotRejected{"other_topic", "it is of topic '" + meta.topic + "'"};
  if (meta.cluster_id != cluster_id) {
    return SnapshotRejected{"other_cluster", "it is of cluster '" + meta.cluster_id + "', the broker's is '" +
                                                 cluster_id + "'"};
  }
  if (meta.partitions.size() != high.size()) {
    return SnapshotRejected{"partitions_changed", "it has " + std::to_string(meta.partitions.size()) +
                                                      " partitions, the topic " + std::to_string(high.size())};
  }
  for (std::size_t p = 0; p < high.size(); ++p) {
    const std::int64_t next = meta.partitions[p].next_offset;
    if (next > high[p]) {
      return SnapshotRejected{"ahead_of_topic", "partition " + std::to_string(p) + " ends at " + std::to_string(high[p]) +
                                                    ", before the snapshot's " + std::to_string(next) +
                                                    " (the topic was recreated or truncated)"};
    }
    if (low[p] > next) {
      return SnapshotRejected{"records_deleted", "partition " + std::to_string(p) + " starts at " +
                                                     std::to_string(low[p]) + ", past the snapshot's " +
                                                     std::to_string(next)};
    }
  }
  // Older than delete.retention.ms, the broker may have dropped a tombstone the snapshot never saw:
  // its value would come back. (Kafka Streams' and goka's local stores do not check this.)
  const std::int64_t age = now_ms - meta.written_at_ms;
  if (delete_retention_ms >= 0 && age >= delete_retention_ms) {
    return SnapshotRejected{"older_than_delete_retention", "it is " + std::to_string(age / 1000) +
                                                               " s old, delete.retention.ms is " +
                                                               std::to_string(delete_retention_ms)};
  }
  return std::nullopt;
}

}  // namespace saldo
