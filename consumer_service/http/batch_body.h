#pragma once
// The body of POST /saldos: a JSON array of ids, each a string or an integer (taken as its decimal
// text). Anything else is refused whole, naming the element, so a client never gets back a 200 that
// quietly echoes part of its request as an "invalid id". Pure.
#include <string>
#include <string_view>
#include <vector>

namespace saldo {

struct BatchBody {
  std::vector<std::string> ids;
  int status = 200;   // 400 (not a flat list of ids) or 413 (more than `max_ids`)
  std::string error;  // why, for the client, when status != 200
};

// Stops at the first element that is not an id: a nested or huge document is never built in memory.
BatchBody parse_batch_body(std::string_view body, std::size_t max_ids);

}  // namespace saldo
