#include "consumer_service/topic/record_fingerprint.h"

namespace saldo {
namespace {

constexpr std::uint64_t kFnvOffset = 14695981039346656037ull;
constexpr std::uint64_t kFnvPrime = 1099511628211ull;

std::uint64_t mix(std::uint64_t h, std::string_view bytes) {
  for (const char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * kFnvPrime;
  return h;
}

// The presence byte keeps "no key" apart from an empty key, and the length keeps a key's last bytes
// from passing for the value's first.
std::uint64_t mix_field(std::uint64_t h, const std::optional<std::string_view>& field) {
  if (!field) return mix(h, std::string_view("\0", 1));
  const std::uint64_t n = field->size();
  char len[9] = {1};
  for (int i = 0; i < 8; ++i) len[i + 1] = static_cast<char>((n >> (8 * i)) & 0xff);
  return mix(mix(h, std::string_view(len, sizeof len)), *field);
}

}  // namespace

RecordFingerprint fingerprint_of(const TopicRecord& r) {
  return {r.offset, r.timestamp_ms, mix_field(mix_field(kFnvOffset, r.key), r.value)};
}

std::optional<FingerprintMismatch> check_fingerprint(std::string_view topic, std::int32_t partition,
                                                     const RecordFingerprint& stored,
                                                     const std::optional<RecordFingerprint>& found) {
  if (stored.offset < 0) return std::nullopt;  // nothing was read there: nothing to compare
  const std::string where = "topic '" + std::string(topic) + "' partition " + std::to_string(partition) +
                            " offset " + std::to_string(stored.offset);
  if (!found) {
    return FingerprintMismatch{"unverifiable", where + ": the topic did not hand over the record read last there"};
  }
  if (found->offset != stored.offset) {
    // The cleaner may have removed it (a newer record of the same key came later in the partition):
    // then nothing tells the old topic from a new one with a record at a later offset.
    return FingerprintMismatch{"unverifiable", where + " no longer holds a record (compacted away, or a new topic); "
                                                   "the first one is at offset " + std::to_string(found->offset)};
  }
  if (found->timestamp_ms != stored.timestamp_ms || found->content_hash != stored.content_hash) {
    return FingerprintMismatch{
        "topic_changed", where + " holds another record than the one read there (timestamp " +
                             std::to_string(found->timestamp_ms) + ", was " + std::to_string(stored.timestamp_ms) +
                             "): the topic was deleted and created again"};
  }
  return std::nullopt;
}

}  // namespace saldo
