#include "common/secrets.h"

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

namespace saldo {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

template <typename Parts>
bool contains_any(const std::string& text, const Parts& parts) {
  return std::any_of(std::begin(parts), std::end(parts), [&](std::string_view p) { return text.find(p) != std::string::npos; });
}

// The one list: librdkafka's passwords and secrets (sasl.password, ssl.key.password,
// ssl.keystore.password, sasl.oauthbearer.client.secret, *.passphrase), the OAUTHBEARER config and
// extensions (clientSecret=..., free-form key=value), JAAS configs and credentials.
constexpr std::string_view kSecretNameParts[] = {
    "password", "passphrase", "secret", "jaas", "credential", "sasl.oauthbearer.config",
    "sasl.oauthbearer.extensions"};
// Whatever the name, a value that names a secret or holds PEM key material.
constexpr std::string_view kSecretValueParts[] = {"password", "secret", "passphrase",
                                                                       "private key"};

// Where a URI's user:password@ part ends: at the '@' before the host, if there is one.
struct UriPassword {
  std::size_t begin = std::string_view::npos;  // first character of the password
  std::size_t end = 0;                         // its '@'
};

UriPassword uri_password(std::string_view conninfo) {
  UriPassword p;
  const std::size_t scheme = conninfo.find("://");
  if (scheme == std::string_view::npos) return p;
  const std::size_t authority = scheme + 3;
  const std::size_t path = conninfo.find_first_of("/?", authority);
  const std::string_view userinfo_host = conninfo.substr(authority, path == std::string_view::npos ? path : path - authority);
  const std::size_t at = userinfo_host.rfind('@');
  if (at == std::string_view::npos) return p;
  const std::size_t colon = userinfo_host.substr(0, at).find(':');
  if (colon == std::string_view::npos) return p;
  p.begin = authority + colon + 1;
  p.end = authority + at;
  return p;
}

// Each "password=" of a key=value conninfo or of a URI's query: [begin of the value, its end).
template <typename F>
void for_each_password_parameter(std::string_view conninfo, F&& f) {
  const bool uri = conninfo.find("://") != std::string_view::npos;
  const std::string text = lower(conninfo);
  std::size_t from = 0;
  while ((from = text.find("password", from)) != std::string::npos) {
    const std::size_t name_end = from + 8;
    const bool starts_word = from == 0 || (uri ? (text[from - 1] == '?' || text[from - 1] == '&')
                                                : std::isspace(static_cast<unsigned char>(text[from - 1])) != 0);
    std::size_t eq = name_end;
    while (!uri && eq < text.size() && std::isspace(static_cast<unsigned char>(text[eq])) != 0) ++eq;
    if (!starts_word || eq >= text.size() || text[eq] != '=') {
      from = name_end;
      continue;
    }
    std::size_t begin = eq + 1;
    while (!uri && begin < text.size() && std::isspace(static_cast<unsigned char>(text[begin])) != 0) ++begin;
    std::size_t end = begin;
    if (uri) {
      end = std::min(text.find('&', begin), text.size());
    } else if (begin < text.size() && text[begin] == '\'') {
      // A quoted conninfo value: up to the closing quote, \' and \\ escaped.
      end = begin + 1;
      while (end < text.size() && text[end] != '\'') end += text[end] == '\\' ? 2 : 1;
      end = std::min(end + 1, text.size());
    } else {
      while (end < text.size() && std::isspace(static_cast<unsigned char>(text[end])) == 0) ++end;
    }
    f(begin, end);
    from = std::max(end, name_end);
  }
}

}  // namespace

bool carries_secret(std::string_view name, std::string_view value) {
  const std::string n = lower(name);
  if (contains_any(n, kSecretNameParts)) return true;
  if (n.ends_with(".pem") && n != "ssl.ca.pem") return true;  // ssl.key.pem; ssl.certificate.pem may hold a key too
  return contains_any(lower(value), kSecretValueParts);
}

bool is_secret_property(std::string_view name, std::string_view value) {
  if (carries_secret(name, value)) return true;
  const std::string n = lower(name);
  constexpr std::string_view kMentionsKey[] = {"key", "token"};
  return contains_any(n, kMentionsKey) || n.ends_with(".pem") || lower(value).find("token=") != std::string::npos;
}

std::string masked_value(std::string_view name, std::string_view value) {
  return is_secret_property(name, value) ? "***" : std::string(value);
}

bool conninfo_has_password(std::string_view conninfo) {
  if (uri_password(conninfo).begin != std::string_view::npos) return true;
  bool found = false;
  for_each_password_parameter(conninfo, [&](std::size_t, std::size_t) { found = true; });
  return found;
}

std::string mask_conninfo_password(std::string_view conninfo) {
  // Spans to replace, gathered first and replaced from the back so earlier offsets stay valid.
  std::vector<std::pair<std::size_t, std::size_t>> spans;
  if (const UriPassword p = uri_password(conninfo); p.begin != std::string_view::npos) spans.emplace_back(p.begin, p.end);
  for_each_password_parameter(conninfo, [&](std::size_t b, std::size_t e) { spans.emplace_back(b, e); });
  std::sort(spans.begin(), spans.end());
  std::string out(conninfo);
  for (auto it = spans.rbegin(); it != spans.rend(); ++it) out.replace(it->first, it->second - it->first, "***");
  return out;
}

}  // namespace saldo
