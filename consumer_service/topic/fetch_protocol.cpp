#include "consumer_service/topic/fetch_protocol.h"

#include <lz4frame.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

namespace saldo {
namespace {

constexpr std::int16_t kFetchApiKey = 1;
constexpr std::int16_t kFetchVersion = 4;  // message format v2, isolation level; the oldest Kafka 4 keeps

// Record batch (message format v2) header, in bytes from the batch's start.
constexpr std::size_t kBatchLengthAt = 8;      // int32, counts from after itself
constexpr std::size_t kMagicAt = 16;           // int8
constexpr std::size_t kAttributesAt = 21;      // int16
constexpr std::size_t kLastOffsetDeltaAt = 23; // int32
constexpr std::size_t kBaseTimestampAt = 27;   // int64
constexpr std::size_t kMaxTimestampAt = 35;    // int64
constexpr std::size_t kRecordCountAt = 57;     // int32
constexpr std::size_t kBatchHeaderSize = 61;
constexpr std::size_t kLogOverhead = 12;       // base offset and batch length

constexpr int kCompressionMask = 0x07;
constexpr int kCodecLz4 = 3;
constexpr int kLogAppendTime = 0x08;
constexpr int kTransactional = 0x10;
constexpr int kControl = 0x20;

void put16(std::string& out, std::int16_t v) {
  const auto u = static_cast<std::uint16_t>(v);
  out.push_back(static_cast<char>(u >> 8));
  out.push_back(static_cast<char>(u));
}
void put32(std::string& out, std::int32_t v) {
  const auto u = static_cast<std::uint32_t>(v);
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(u >> shift));
}
void put64(std::string& out, std::int64_t v) {
  const auto u = static_cast<std::uint64_t>(v);
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(u >> shift));
}
void put_string(std::string& out, std::string_view s) {
  put16(out, static_cast<std::int16_t>(s.size()));
  out.append(s);
}

std::uint64_t big_endian(const char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Bounds-checked big-endian and varint reads over a byte range; `what` names the structure in errors.
class Bytes {
 public:
  Bytes(std::string_view data, const char* what) : data_(data), what_(what) {}

  std::size_t left() const noexcept { return data_.size() - at_; }
  std::size_t at() const noexcept { return at_; }
  void skip(std::size_t n) {
    need(n);
    at_ += n;
  }
  std::string_view take(std::size_t n) {
    need(n);
    const std::string_view out = data_.substr(at_, n);
    at_ += n;
    return out;
  }
  std::int16_t i16() { return static_cast<std::int16_t>(fixed(2)); }
  std::int32_t i32() { return static_cast<std::int32_t>(fixed(4)); }
  std::int64_t i64() { return static_cast<std::int64_t>(fixed(8)); }
  // Kafka's varint and varlong: zigzag over unsigned LEB128.
  std::int64_t varint() {
    std::uint64_t u = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      need(1);
      const auto byte = static_cast<unsigned char>(data_[at_++]);
      u |= static_cast<std::uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return static_cast<std::int64_t>(u >> 1) ^ -static_cast<std::int64_t>(u & 1);
    }
    fail("a varint longer than 10 bytes");
  }
  // A length-prefixed field: nullopt for -1.
  std::optional<std::string_view> varint_bytes() {
    const std::int64_t n = varint();
    if (n == -1) return std::nullopt;
    if (n < 0) fail("a negative length");
    return take(static_cast<std::size_t>(n));
  }
  [[noreturn]] void fail(const std::string& why) const {
    throw ProtocolError(std::string(what_) + ": " + why + " at byte " + std::to_string(at_));
  }

 private:
  void need(std::size_t n) const {
    if (n > left()) fail("ends early (" + std::to_string(n) + " bytes wanted, " + std::to_string(left()) + " left)");
  }
  std::uint64_t fixed(int bytes) {
    need(static_cast<std::size_t>(bytes));
    const std::uint64_t v = big_endian(data_.data() + at_, bytes);
    at_ += static_cast<std::size_t>(bytes);
    return v;
  }

  std::string_view data_;
  const char* what_;
  std::size_t at_ = 0;
};

// Inflates one lz4 frame (Kafka's lz4 for message format v2 is the standard frame format). Empty
// optional when it does not inflate.
std::optional<std::string> inflate_lz4(std::string_view in) {
  LZ4F_dctx* raw = nullptr;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&raw, LZ4F_VERSION))) return std::nullopt;
  const std::unique_ptr<LZ4F_dctx, decltype(&LZ4F_freeDecompressionContext)> ctx(raw, &LZ4F_freeDecompressionContext);
  std::string out;
  out.resize(std::max<std::size_t>(in.size() * 4, 4096));
  std::size_t read = 0, written = 0;
  for (;;) {
    std::size_t out_size = out.size() - written;
    std::size_t in_size = in.size() - read;
    const std::size_t hint = LZ4F_decompress(ctx.get(), out.data() + written, &out_size, in.data() + read, &in_size, nullptr);
    if (LZ4F_isError(hint)) return std::nullopt;
    read += in_size;
    written += out_size;
    if (hint == 0) break;  // the frame is complete
    if (read == in.size() && out_size == 0 && in_size == 0) return std::nullopt;  // cut short
    if (written == out.size()) out.resize(out.size() * 2);
  }
  out.resize(written);
  return out;
}

// The records of one batch's (inflated) record section.
void read_records(std::string_view section, std::int32_t count, std::int32_t partition, std::int64_t base_offset,
                  std::int64_t base_timestamp, std::optional<std::int64_t> log_append_time, std::int64_t from,
                  std::vector<TopicRecord>& out) {
  Bytes in(section, "a record");
  for (std::int32_t i = 0; i < count; ++i) {
    const std::int64_t length = in.varint();
    if (length < 0) in.fail("a negative record length");
    Bytes rec(in.take(static_cast<std::size_t>(length)), "a record");
    rec.skip(1);  // attributes: unused in format v2
    const std::int64_t timestamp_delta = rec.varint();
    std::int64_t offset = 0;
    if (__builtin_add_overflow(base_offset, rec.varint(), &offset)) rec.fail("an offset out of range");
    const std::optional<std::string_view> key = rec.varint_bytes();
    const std::optional<std::string_view> value = rec.varint_bytes();
    // The headers follow; the reader does not use them, and the record's length skips them.
    if (offset < from) continue;  // a compacted batch can begin before the offset asked for
    TopicRecord& r = out.emplace_back();
    r.partition = partition;
    r.offset = offset;
    // As Kafka's clients do, in two's complement: a broken timestamp is the decoder's to refuse.
    r.timestamp_ms = log_append_time ? *log_append_time
                                     : static_cast<std::int64_t>(static_cast<std::uint64_t>(base_timestamp) +
                                                                 static_cast<std::uint64_t>(timestamp_delta));
    r.key = key;
    r.value = value;
  }
}

}  // namespace

std::string encode_fetch_request(std::int32_t correlation_id, std::string_view client_id, std::string_view topic,
                                 std::span<const FetchPartitionAsk> partitions, const FetchLimits& limits) {
  std::string out;
  out.reserve(64 + client_id.size() + topic.size() + partitions.size() * 16);
  put32(out, 0);  // the size, set below
  put16(out, kFetchApiKey);
  put16(out, kFetchVersion);
  put32(out, correlation_id);
  put_string(out, client_id);
  put32(out, -1);  // replica id: a consumer
  put32(out, limits.max_wait_ms);
  put32(out, 1);  // min bytes
  put32(out, limits.max_bytes);
  out.push_back(0);  // isolation level: read_uncommitted (see the header)
  put32(out, 1);     // one topic
  put_string(out, topic);
  put32(out, static_cast<std::int32_t>(partitions.size()));
  for (const FetchPartitionAsk& p : partitions) {
    put32(out, p.partition);
    put64(out, p.offset);
    put32(out, limits.partition_max_bytes);
  }
  const auto size = static_cast<std::uint32_t>(out.size() - 4);
  for (int i = 0; i < 4; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>(size >> (24 - 8 * i));
  return out;
}

std::vector<FetchedPartition> parse_fetch_response(std::string_view body, std::int32_t correlation_id,
                                                   std::string_view topic) {
  Bytes in(body, "a Fetch response");
  if (const std::int32_t got = in.i32(); got != correlation_id) {
    in.fail("correlation id " + std::to_string(got) + ", expected " + std::to_string(correlation_id));
  }
  in.skip(4);  // throttle time
  std::vector<FetchedPartition> out;
  const std::int32_t topics = in.i32();
  if (topics < 0) in.fail("a negative topic count");
  for (std::int32_t t = 0; t < topics; ++t) {
    const std::int16_t name_size = in.i16();
    if (name_size < 0) in.fail("a null topic name");
    const std::string_view name = in.take(static_cast<std::size_t>(name_size));
    const std::int32_t partitions = in.i32();
    if (partitions < 0) in.fail("a negative partition count");
    for (std::int32_t i = 0; i < partitions; ++i) {
      FetchedPartition p;
      p.partition = in.i32();
      p.error = in.i16();
      p.high_watermark = in.i64();
      in.skip(8);  // last stable offset
      if (const std::int32_t aborted = in.i32(); aborted > 0) in.skip(static_cast<std::size_t>(aborted) * 16);
      if (const std::int32_t size = in.i32(); size > 0) p.records = in.take(static_cast<std::size_t>(size));
      if (name == topic) out.push_back(p);
    }
  }
  return out;
}

RecordSetEnd read_record_set(std::string_view set, std::int32_t partition, std::int64_t from,
                             std::vector<TopicRecord>& out, std::deque<std::string>& inflated) {
  RecordSetEnd end{from, {}};
  std::size_t at = 0;
  while (set.size() - at > kMagicAt) {  // the magic sits at the same place in every message format
    const char* batch = set.data() + at;
    const int magic = static_cast<signed char>(batch[kMagicAt]);
    if (magic != 2) {
      end.stopped = "message format v" + std::to_string(magic);
      return end;
    }
    const std::int64_t base_offset = static_cast<std::int64_t>(big_endian(batch, 8));
    const std::int64_t length = static_cast<std::int32_t>(big_endian(batch + kBatchLengthAt, 4));
    if (length < static_cast<std::int64_t>(kBatchHeaderSize - kLogOverhead)) {
      throw ProtocolError("a record batch of length " + std::to_string(length));
    }
    const auto whole = static_cast<std::size_t>(length) + kLogOverhead;
    if (whole > set.size() - at) break;  // cut short by the fetch's size: the next fetch has it
    const auto attributes = static_cast<int>(big_endian(batch + kAttributesAt, 2));
    std::int64_t last_offset = 0;
    if (base_offset < 0 ||
        __builtin_add_overflow(base_offset, static_cast<std::int32_t>(big_endian(batch + kLastOffsetDeltaAt, 4)),
                               &last_offset) ||
        last_offset < base_offset || last_offset == INT64_MAX) {
      throw ProtocolError("a record batch at offset " + std::to_string(base_offset) + " with offsets out of range");
    }
    if (last_offset < end.next) {  // wholly before what is wanted
      at += whole;
      continue;
    }
    if ((attributes & (kTransactional | kControl)) != 0) {
      end.stopped = (attributes & kControl) != 0 ? "a transaction marker" : "a transactional batch";
      return end;
    }
    const int codec = attributes & kCompressionMask;
    if (codec != 0 && codec != kCodecLz4) {
      static constexpr const char* kNames[] = {"none", "gzip", "snappy", "lz4", "zstd"};
      end.stopped = std::string(codec < 5 ? kNames[codec] : "an unknown") + " compression";
      return end;
    }
    const auto count = static_cast<std::int32_t>(big_endian(batch + kRecordCountAt, 4));
    if (count < 0) throw ProtocolError("a record batch with " + std::to_string(count) + " records");
    const std::int64_t base_timestamp = static_cast<std::int64_t>(big_endian(batch + kBaseTimestampAt, 8));
    std::optional<std::int64_t> log_append_time;
    if ((attributes & kLogAppendTime) != 0) {
      log_append_time = static_cast<std::int64_t>(big_endian(batch + kMaxTimestampAt, 8));
    }
    std::string_view section(batch + kBatchHeaderSize, whole - kBatchHeaderSize);
    if (codec == kCodecLz4) {
      std::optional<std::string> plain = inflate_lz4(section);
      if (!plain) {
        end.stopped = "an lz4 batch that does not inflate";
        return end;
      }
      section = inflated.emplace_back(std::move(*plain));
    }
    const std::size_t before = out.size();
    try {
      read_records(section, count, partition, base_offset, base_timestamp, log_append_time, end.next, out);
    } catch (const ProtocolError& e) {
      out.resize(before);  // none of the batch: librdkafka reads it, and says what is wrong with it
      end.stopped = std::string("a record batch that does not parse (") + e.what() + ")";
      return end;
    }
    end.next = last_offset + 1;
    at += whole;
  }
  return end;
}

}  // namespace saldo
