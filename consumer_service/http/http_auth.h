#pragma once
// Bearer tokens for the HTTP API: the tokens file's grammar, the constant-time check of one
// Authorization header, which routes need a token, and a holder that SIGHUP can refill. Pure: no
// sockets, so every answer is tested without a server.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "consumer_service/status/auth_failure.h"

namespace saldo {

enum class Route : std::uint8_t;

struct NamedToken {
  std::string name;   // who holds it: the only part that may be logged
  std::string token;
};


// The tokens file: one `name:token` a line; blank lines and lines starting with '#' are skipped;
// spaces around name and token are trimmed. A name is [A-Za-z0-9._-]{1,64}; a token is 16 to 4096
// printable ASCII characters without spaces. Names and tokens must be unique. Throws ConfigError
// naming the line (never the token) on a malformed line, and when there is no token at all.
std::vector<NamedToken> parse_tokens(std::string_view text);

// Equal contents, in a time that depends only on `expected`'s length, not on where they differ.
bool constant_time_equal(std::string_view presented, std::string_view expected) noexcept;

struct AuthOutcome {
  std::optional<std::string> name;  // set when a token matched
  AuthFailure failure = AuthFailure::kMissing;  // meaningful only when name is empty
};

// Checks an Authorization header ("" when absent) against every token, without stopping at the
// first match, so the time does not say which token (or how much of one) was right.
AuthOutcome check_bearer(const std::vector<NamedToken>& tokens, std::string_view authorization);

// /health stays open for load balancers, the page, which asks for a token itself, and the API's
// description (/openapi.json: no data, and what consumer_service/README.md says anyway); /metrics
// is open only with --metrics-public; everything else, unknown paths too, needs a token.
bool route_needs_token(Route route, bool metrics_public) noexcept;

// The tokens in force; reload() swaps them atomically for the HTTP threads.
class HttpAuth {
 public:
  // Reads and parses `path`. Throws ConfigError ("<path>: ...").
  HttpAuth(std::string path, bool metrics_public);
  // Re-reads the file; on an error keeps the tokens in force and throws ConfigError.
  // Returns how many tokens are now in force.
  std::size_t reload();

  AuthOutcome check(std::string_view authorization) const;
  bool metrics_public() const noexcept { return metrics_public_; }
  const std::string& path() const noexcept { return path_; }

 private:
  std::shared_ptr<const std::vector<NamedToken>> current() const;
  static std::shared_ptr<const std::vector<NamedToken>> load(const std::string& path);

  std::string path_;
  bool metrics_public_;
  mutable std::mutex mutex_;
  std::shared_ptr<const std::vector<NamedToken>> tokens_;
};

}  // namespace saldo
