#include "consumer_service/http/http_auth.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "common/config.h"
#include "consumer_service/status/metrics.h"

namespace saldo {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool valid_name(std::string_view n) {
  return !n.empty() && n.size() <= 64 && std::all_of(n.begin(), n.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
  });
}

bool valid_token(std::string_view t) {
  return t.size() >= 16 && t.size() <= 4096 && std::all_of(t.begin(), t.end(), [](char c) { return c > ' ' && c < 127; });
}

}  // namespace

std::vector<NamedToken> parse_tokens(std::string_view text) {
  std::vector<NamedToken> out;
  int line_no = 0;
  while (!text.empty()) {
    ++line_no;
    const std::size_t nl = text.find('\n');
    const std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line.front() == '#') continue;
    const std::string where = "line " + std::to_string(line_no) + ": ";
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) throw ConfigError(where + "expected name:token");
    const std::string_view name = trim(line.substr(0, colon));
    const std::string_view token = trim(line.substr(colon + 1));
    if (!valid_name(name)) throw ConfigError(where + "the name must be 1-64 of [A-Za-z0-9._-]");
    if (!valid_token(token)) {
      throw ConfigError(where + "the token of '" + std::string(name) +
                        "' must be 16-4096 printable characters without spaces");
    }
    for (const NamedToken& t : out) {
      if (t.name == name) throw ConfigError(where + "the name '" + std::string(name) + "' appears twice");
      if (t.token == token) throw ConfigError(where + "'" + std::string(name) + "' has the token of '" + t.name + "'");
    }
    out.push_back({std::string(name), std::string(token)});
  }
  if (out.empty()) throw ConfigError("no token in the file (one name:token a line)");
  return out;
}

bool constant_time_equal(std::string_view presented, std::string_view expected) noexcept {
  // The loop runs over `expected` only; a shorter or longer `presented` is read modulo its length
  // (or not at all when empty), and the length difference is folded into the result.
  unsigned diff = presented.size() == expected.size() ? 0u : 1u;
  const std::size_t n = presented.size();
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const unsigned char p = n == 0 ? 0 : static_cast<unsigned char>(presented[i % n]);
    diff |= p ^ static_cast<unsigned char>(expected[i]);
  }
  return diff == 0;
}

AuthOutcome check_bearer(const std::vector<NamedToken>& tokens, std::string_view authorization) {
  AuthOutcome out;
  authorization = trim(authorization);
  if (authorization.empty()) return out;  // kMissing
  // RFC 6750: the scheme is case-insensitive, then one or more spaces, then the token.
  constexpr std::string_view kScheme = "bearer ";
  bool scheme_ok = authorization.size() > kScheme.size();
  for (std::size_t i = 0; scheme_ok && i < kScheme.size(); ++i) {
    scheme_ok = (authorization[i] | 0x20) == kScheme[i];
  }
  const std::string_view presented = scheme_ok ? trim(authorization.substr(kScheme.size())) : std::string_view();
  if (presented.empty()) {
    out.failure = AuthFailure::kMalformed;
    return out;
  }
  const NamedToken* match = nullptr;
  for (const NamedToken& t : tokens) {
    if (constant_time_equal(presented, t.token) && match == nullptr) match = &t;
  }
  if (match == nullptr) {
    out.failure = AuthFailure::kWrong;
    return out;
  }
  out.name = match->name;
  return out;
}

bool route_needs_token(Route route, bool metrics_public) noexcept {
  switch (route) {
    case Route::kHealth:
    case Route::kPage:
    case Route::kOpenApi:
    case Route::kShardStatus: return false;  // what the instances say to each other: no balance in it
    case Route::kMetrics: return !metrics_public;
    default: return true;
  }
}

HttpAuth::HttpAuth(std::string path, bool metrics_public)
    : path_(std::move(path)), metrics_public_(metrics_public), tokens_(load(path_)) {}

std::shared_ptr<const std::vector<NamedToken>> HttpAuth::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("--http-tokens-file: cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  try {
    return std::make_shared<const std::vector<NamedToken>>(parse_tokens(ss.str()));
  } catch (const ConfigError& e) {
    throw ConfigError("--http-tokens-file: " + path + ": " + e.what());
  }
}

std::size_t HttpAuth::reload() {
  auto fresh = load(path_);
  const std::size_t n = fresh->size();
  std::lock_guard lock(mutex_);
  tokens_ = std::move(fresh);
  return n;
}

std::shared_ptr<const std::vector<NamedToken>> HttpAuth::current() const {
  std::lock_guard lock(mutex_);
  return tokens_;
}

AuthOutcome HttpAuth::check(std::string_view authorization) const { return check_bearer(*current(), authorization); }

}  // namespace saldo
