#pragma once
// Which settings carry a secret, in one place: what the command line refuses (argv is visible in ps)
// and what logs and --print-config mask.
#include <string>
#include <string_view>

namespace saldo {

// True for a librdkafka property whose value is itself a secret, so it must not be given on a
// command line: by its name (passwords, passphrases, secrets, inline PEM key material, OAUTHBEARER
// config and extensions, JAAS, credentials) or by its value (names a password or secret, or holds a
// private key). A path to a key file (ssl.key.location) is not one; an inline CA (ssl.ca.pem) neither.
bool carries_secret(std::string_view name, std::string_view value);
// Wider, for logs: carries_secret, or a name that mentions a key or a token (paths included).
bool is_secret_property(std::string_view name, std::string_view value);
// For logs and errors: the value, or "***" when is_secret_property.
std::string masked_value(std::string_view name, std::string_view value);

// A libpq connection string (URI or key=value conninfo) that holds a password: postgresql://u:pw@h,
// ?password=pw, or password=pw.
bool conninfo_has_password(std::string_view conninfo);
// The same text with every password replaced by ***, everything else as given.
std::string mask_conninfo_password(std::string_view conninfo);

}  // namespace saldo
