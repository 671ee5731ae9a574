#include "common/timestamp.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace saldo {
namespace {

bool digits(std::string_view s, std::size_t pos, std::size_t n, unsigned& out) noexcept {
  if (pos + n > s.size()) return false;
  unsigned v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + static_cast<unsigned>(s[i] - '0');
  }
  out = v;
  return true;
}

bool valid_zone(std::string_view z) noexcept {
  if (z.empty() || z == "Z") return true;
  if (z[0] != '+' && z[0] != '-') return false;
  unsigned hh = 0, mm = 0;
  if (!digits(z, 1, 2, hh) || hh > 23) return false;
  if (z.size() == 3) return true;
  const std::size_t at = z[3] == ':' ? 4 : 3;
  return z.size() == at + 2 && digits(z, at, 2, mm) && mm <= 59;
}

}  // namespace

std::optional<TimestampFields> parse_timestamp(std::string_view t) noexcept {
  TimestampFields f;
  if (t.size() < 19 || !digits(t, 0, 4, f.year) || t[4] != '-' || !digits(t, 5, 2, f.month) || t[7] != '-' ||
      !digits(t, 8, 2, f.day) || (t[10] != 'T' && t[10] != ' ') || !digits(t, 11, 2, f.hour) || t[13] != ':' ||
      !digits(t, 14, 2, f.minute) || t[16] != ':' || !digits(t, 17, 2, f.second)) {
    return std::nullopt;
  }
  f.separator = t[10];
  using namespace std::chrono;
  const year_month_day date{year{static_cast<int>(f.year)}, month{f.month}, day{f.day}};
  if (!date.ok() || f.hour > 23 || f.minute > 59 || f.second > 60) return std::nullopt;
  std::size_t i = 19;
  if (i < t.size() && (t[i] == '.' || t[i] == ',')) {
    f.fraction_mark = t[i];
    const std::size_t begin = ++i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9' && i - begin < 10) {
      f.fraction = f.fraction * 10 + static_cast<std::uint32_t>(t[i] - '0');
      ++i;
    }
    f.fraction_digits = static_cast<unsigned>(i - begin);
    if (f.fraction_digits == 0 || f.fraction_digits > 9) return std::nullopt;
  }
  f.zone = t.substr(i);
  if (!valid_zone(f.zone)) return std::nullopt;
  return f;
}

std::string now_timestamp() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(buf, n);
}

std::string format_epoch_ms(std::int64_t ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> tp{milliseconds{ms}};
  const sys_days day_point = floor<days>(tp);
  const year_month_day ymd{day_point};
  const hh_mm_ss<milliseconds> hms{tp - day_point};
  char buf[48];
  const int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                              static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                              static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                              static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
  return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace saldo
