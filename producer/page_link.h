#pragma once
// The link the interactive producer prints after a write: the service's page showing that customer
// once the table applied the write (GET /?id=<id>&after=P:O), never an older value. Pure.
#include <cstdint>
#include <string>
#include <string_view>

namespace saldo {

// `base` is the page's address ("http://localhost:5000/"); a missing trailing slash is added. `id` is a
// valid customer id ([A-Za-z0-9._-], nothing to escape). "" when `base` is empty (no link wanted).
std::string page_link(std::string_view base, std::string_view id, std::int32_t partition, std::int64_t offset);

}  // namespace saldo
