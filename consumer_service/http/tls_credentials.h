#pragma once
// The HTTPS server's certificate and key: loaded and checked at start (a bad file is one clear
// line and exit 2), handed to every TLS handshake, and swapped on SIGHUP without a restart.
#include <memory>
#include <mutex>
#include <string>

struct ssl_ctx_st;
struct ssl_st;

namespace saldo {

class TlsCredentials {
 public:
  // Reads the PEM certificate (chain: leaf first) and PEM private key. Throws ConfigError when a
  // file is missing or unreadable, holds no certificate or key, or the key does not match.
  TlsCredentials(std::string cert_path, std::string key_path);
  ~TlsCredentials();
  TlsCredentials(const TlsCredentials&) = delete;
  TlsCredentials& operator=(const TlsCredentials&) = delete;

  // Re-reads both files; on an error keeps the pair in force and throws ConfigError. Like the
  // constructor, logs a warning when the certificate is not valid now (expired or not yet valid).
  void reload();
  // Why the certificate in force is not valid now ("... expired on <date>"), or "" when it is.
  std::string validity_problem() const;
  // TLS 1.2 (forward-secret AEAD suites only) or newer, and a certificate callback that gives each
  // handshake the pair in force.
  // Returns false when OpenSSL refuses a setting.
  bool configure(ssl_ctx_st& ctx);

  const std::string& cert_path() const noexcept { return cert_path_; }

  struct Pair;  // the certificate, its chain and the key (OpenSSL objects)

 private:
  static int on_certificate(ssl_st* ssl, void* self) noexcept;
  std::shared_ptr<const Pair> current() const;

  std::string cert_path_;
  std::string key_path_;
  mutable std::mutex mutex_;
  std::shared_ptr<const Pair> pair_;
};

}  // namespace saldo
