#include "consumer_service/http/page_csp.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "consumer_service/http/http_api.h"

namespace saldo {
namespace {

// The hash sources of every `<tag>…</tag>` element in `html` (the page's tags have no attributes).
std::string hashes_of(std::string_view html, std::string_view tag) {
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  std::string out;
  for (std::size_t at = html.find(open); at != std::string_view::npos; at = html.find(open, at)) {
    const std::size_t begin = at + open.size();
    const std::size_t end = html.find(close, begin);
    if (end == std::string_view::npos) break;
    out.append(" ").append(csp_sha256(html.substr(begin, end - begin)));
    at = end + close.size();
  }
  return out.empty() ? " 'none'" : out;
}

}  // namespace

std::string csp_sha256(std::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  unsigned int len = 0;
  EVP_Digest(text.data(), text.size(), digest, &len, EVP_sha256(), nullptr);
  unsigned char b64[4 * ((SHA256_DIGEST_LENGTH + 2) / 3) + 1];
  const int n = EVP_EncodeBlock(b64, digest, static_cast<int>(len));
  return "'sha256-" + std::string(reinterpret_cast<const char*>(b64), static_cast<std::size_t>(n)) + "'";
}

std::string content_security_policy_for(std::string_view html) {
  return "default-src 'none'; script-src" + hashes_of(html, "script") + "; style-src" + hashes_of(html, "style") +
         "; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
}

std::string_view page_content_security_policy() {
  static const std::string kPolicy = content_security_policy_for(page_html());
  return kPolicy;
}

}  // namespace saldo
