#include "consumer_service/store/compact_timestamp.h"

// Hand-packed rather than kept as text: 8 bytes instead of a heap string per customer is most of the
// store's memory budget (bench/RESULTS.md, "Current figures"). The grammar is common/timestamp.h's; dates use <chrono>.

#include <array>
#include <chrono>

#include "common/timestamp.h"

namespace saldo {
namespace {

constexpr std::uint8_t kPacked = 0x80;
constexpr std::uint8_t kSpaceSeparator = 0x40;
constexpr int kSuffixShift = 4;
constexpr std::array<std::string_view, 3> kSuffixes = {"", "Z", "+00:00"};
constexpr std::int64_t kMaxSeconds = (std::int64_t{1} << 34) - 1;  // year 2514

void append_digits(std::string& out, std::uint64_t v, int width) {
  char buf[20];
  for (int i = width - 1; i >= 0; --i) {
    buf[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  out.append(buf, static_cast<std::size_t>(width));
}

}  // namespace

std::optional<PackedTimestamp> pack_timestamp(std::string_view t) noexcept {
  const std::optional<TimestampFields> f = parse_timestamp(t);
  if (!f) return std::nullopt;
  return pack_timestamp(*f);
}

std::optional<PackedTimestamp> pack_timestamp(const TimestampFields& fields) noexcept {
  const TimestampFields* f = &fields;
  // What cannot come back verbatim stays text: a year before 1970, a leap second, a ',' fraction,
  // a zone other than these three.
  if (f->year < 1970 || f->second > 59 || f->fraction_mark != '.') return std::nullopt;
  unsigned suffix = 0;
  while (suffix < kSuffixes.size() && f->zone != kSuffixes[suffix]) ++suffix;
  if (suffix == kSuffixes.size()) return std::nullopt;

  using namespace std::chrono;
  const sys_days date{year_month_day{year{static_cast<int>(f->year)}, month{f->month}, day{f->day}}};
  const std::int64_t seconds = std::int64_t{date.time_since_epoch().count()} * 86400 + f->hour * 3600 +
                               f->minute * 60 + f->second;
  if (seconds > kMaxSeconds) return std::nullopt;
  return PackedTimestamp{(static_cast<std::uint64_t>(seconds) << 30) | f->fraction,
                         static_cast<std::uint8_t>(kPacked | (f->separator == ' ' ? kSpaceSeparator : 0) |
                                                   (suffix << kSuffixShift) | f->fraction_digits)};
}

void append_timestamp(std::string& out, PackedTimestamp ts) {
  using namespace std::chrono;
  const std::uint64_t seconds = ts.bits >> 30;
  const std::uint64_t frac = ts.bits & ((std::uint64_t{1} << 30) - 1);
  const year_month_day c{sys_days{days{static_cast<int>(seconds / 86400)}}};
  const std::uint64_t sod = seconds % 86400;
  append_digits(out, static_cast<std::uint64_t>(static_cast<int>(c.year())), 4);
  out.push_back('-');
  append_digits(out, static_cast<unsigned>(c.month()), 2);
  out.push_back('-');
  append_digits(out, static_cast<unsigned>(c.day()), 2);
  out.push_back((ts.format & kSpaceSeparator) ? ' ' : 'T');
  append_digits(out, sod / 3600, 2);
  out.push_back(':');
  append_digits(out, sod / 60 % 60, 2);
  out.push_back(':');
  append_digits(out, sod % 60, 2);
  const int frac_digits = ts.format & 0x0F;
  if (frac_digits > 0) {
    out.push_back('.');
    append_digits(out, frac, frac_digits);
  }
  out.append(kSuffixes[(ts.format >> kSuffixShift) & 0x3]);
}

}  // namespace saldo
