#include "producer/page_link.h"

#include "common/position_token.h"

namespace saldo {

std::string page_link(std::string_view base, std::string_view id, std::int32_t partition, std::int64_t offset) {
  if (base.empty()) return {};
  std::string out(base);
  if (out.back() != '/') out.push_back('/');
  out.append("?id=").append(id).append("&after=").append(format_position_token(partition, offset));
  return out;
}

}  // namespace saldo
