// libFuzzer target: the direct catch-up's Fetch response and record-batch readers on arbitrary bytes
// throw nothing but ProtocolError, never read outside what they were given, and keep their promises:
// a record set read from `from` hands back only records at or after it, each a view into the set or
// into a buffer it inflated, and ends at a `next` no lower than `from`; records already in the output
// stay as they were.
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "consumer_service/topic/fetch_protocol.h"

namespace {

bool inside(std::string_view part, std::string_view whole) {
  return part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size();
}

// Reads `set` from `from` into outputs already holding a sentinel record and buffer; aborts on a
// broken promise. ProtocolError is an allowed answer.
void check_record_set(std::string_view set, std::int32_t partition, std::int64_t from) {
  const saldo::TopicRecord sentinel{-7, -7, -7, std::nullopt, std::string_view("sentinel")};
  std::vector<saldo::TopicRecord> out{sentinel};
  std::deque<std::string> inflated{"earlier"};
  const std::string* const earlier = &inflated.front();
  saldo::RecordSetEnd end;
  try {
    end = saldo::read_record_set(set, partition, from, out, inflated);
  } catch (const saldo::ProtocolError&) {
    return;
  }
  if (end.next < from) std::abort();
  if (out.empty() || out[0].offset != -7 || out[0].partition != -7 || out[0].value != sentinel.value) std::abort();
  if (&inflated.front() != earlier || inflated.front() != "earlier") std::abort();
  const auto in_a_buffer = [&](std::string_view v) {
    if (inside(v, set)) return true;
    for (std::size_t i = 1; i < inflated.size(); ++i) {
      if (inside(v, inflated[i])) return true;
    }
    return false;
  };
  for (std::size_t i = 1; i < out.size(); ++i) {
    const saldo::TopicRecord& r = out[i];
    if (r.partition != partition || r.offset < from) std::abort();
    if (r.key && !in_a_buffer(*r.key)) std::abort();
    if (r.value && !in_a_buffer(*r.value)) std::abort();
  }
  // The same bytes read again give the same answer.
  std::vector<saldo::TopicRecord> again;
  std::deque<std::string> inflated_again;
  const saldo::RecordSetEnd second = saldo::read_record_set(set, partition, from, again, inflated_again);
  if (second.next != end.next || second.stopped != end.stopped || again.size() + 1 != out.size()) std::abort();
  for (std::size_t i = 0; i < again.size(); ++i) {
    if (again[i].offset != out[i + 1].offset || again[i].timestamp_ms != out[i + 1].timestamp_ms ||
        again[i].key != out[i + 1].key || again[i].value != out[i + 1].value) {
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // First byte: odd → `from` is that byte / 2 (small, so it falls among the records); even → `from`
  // is the next 8 bytes, big-endian. The rest is both a record set and a Fetch response body for
  // topic "t", whose correlation id is its own first 4 bytes (so that check passes).
  if (size < 9) return 0;
  std::int64_t from = 0;
  if ((data[0] & 1) != 0) {
    from = data[0] >> 1;
  } else {
    std::uint64_t u = 0;
    for (int i = 1; i <= 8; ++i) u = (u << 8) | data[i];
    from = static_cast<std::int64_t>(u);
  }
  const std::string_view rest(reinterpret_cast<const char*>(data + 9), size - 9);

  check_record_set(rest, 0, from);

  if (rest.size() < 4) return 0;
  std::uint32_t correlation = 0;
  for (int i = 0; i < 4; ++i) correlation = (correlation << 8) | static_cast<unsigned char>(rest[i]);
  std::vector<saldo::FetchedPartition> fetched;
  try {
    fetched = saldo::parse_fetch_response(rest, static_cast<std::int32_t>(correlation), "t");
  } catch (const saldo::ProtocolError&) {
    return 0;
  }
  // The same body under another correlation id is refused.
  try {
    saldo::parse_fetch_response(rest, static_cast<std::int32_t>(correlation + 1), "t");
    std::abort();
  } catch (const saldo::ProtocolError&) {
  }
  for (const saldo::FetchedPartition& p : fetched) {
    if (!p.records.empty() && !inside(p.records, rest)) std::abort();
    check_record_set(p.records, p.partition, from);
  }
  return 0;
}
