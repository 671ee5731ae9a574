#pragma once
// The Content-Security-Policy of a page whose only script and style are inline: each allowed by
// its SHA-256 (CSP level 2), nothing else from anywhere.
#include <string>
#include <string_view>

namespace saldo {

// 'sha256-<base64>' of `text`, as a CSP source expression.
std::string csp_sha256(std::string_view text);
// The policy for `html`: the text of every <script>…</script> and <style>…</style> element hashed,
// fetches only to this origin, no framing, no forms posted anywhere, no <base>.
std::string content_security_policy_for(std::string_view html);

}  // namespace saldo
