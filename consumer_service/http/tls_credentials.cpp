#include "consumer_service/http/tls_credentials.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <spdlog/spdlog.h>

#include "common/config.h"

namespace saldo {

struct TlsCredentials::Pair {
  X509* cert = nullptr;
  STACK_OF(X509)* chain = nullptr;
  EVP_PKEY* key = nullptr;
  ~Pair() {
    X509_free(cert);
    sk_X509_pop_free(chain, X509_free);
    EVP_PKEY_free(key);
  }
};

namespace {

constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305";

struct BioDeleter {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;

// OpenSSL's reason for the last failure, and the error queue left empty for the next call.
std::string openssl_reason() {
  const unsigned long e = ERR_peek_last_error();
  ERR_clear_error();
  if (e == 0) return "no PEM data found";
  const char* reason = ERR_reason_error_string(e);
  return reason != nullptr ? reason : "unknown OpenSSL error";
}

Bio open_file(const std::string& option, const std::string& path) {
  Bio bio(BIO_new_file(path.c_str(), "r"));
  if (!bio) {
    ERR_clear_error();
    throw ConfigError(option + ": cannot read " + path);
  }
  return bio;
}

std::shared_ptr<const TlsCredentials::Pair> load(const std::string& cert_path, const std::string& key_path) {
  auto pair = std::make_shared<TlsCredentials::Pair>();
  ERR_clear_error();
  Bio cert_bio = open_file("--tls-cert", cert_path);
  pair->cert = PEM_read_bio_X509_AUX(cert_bio.get(), nullptr, nullptr, nullptr);
  if (pair->cert == nullptr) {
    throw ConfigError("--tls-cert: " + cert_path + " holds no PEM certificate (" + openssl_reason() + ")");
  }
  pair->chain = sk_X509_new_null();
  while (X509* extra = PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr)) sk_X509_push(pair->chain, extra);
  ERR_clear_error();  // the loop ends on "no start line"
  Bio key_bio = open_file("--tls-key", key_path);
  // A null password callback with an empty password: an encrypted key fails here, never prompts.
  pair->key = PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, const_cast<char*>(""));
  if (pair->key == nullptr) {
    throw ConfigError("--tls-key: " + key_path + " holds no unencrypted PEM private key (" + openssl_reason() + ")");
  }
  if (X509_check_private_key(pair->cert, pair->key) != 1) {
    ERR_clear_error();
    throw ConfigError("--tls-key: " + key_path + " does not match the certificate in " + cert_path);
  }
  return pair;
}

std::string asn1_time_text(const ASN1_TIME* t) {
  Bio mem(BIO_new(BIO_s_mem()));
  if (!mem || ASN1_TIME_print(mem.get(), t) != 1) return "?";
  char* data = nullptr;
  const long n = BIO_get_mem_data(mem.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// Clients refuse such a certificate, and the service would otherwise start (or reload) in silence.
void warn_if_not_valid_now(const std::string& problem) {
  if (!problem.empty()) spdlog::warn("{}: clients will refuse it", problem);
}

}  // namespace

TlsCredentials::TlsCredentials(std::string cert_path, std::string key_path)
    : cert_path_(std::move(cert_path)), key_path_(std::move(key_path)), pair_(load(cert_path_, key_path_)) {
  warn_if_not_valid_now(validity_problem());
}

TlsCredentials::~TlsCredentials() = default;

void TlsCredentials::reload() {
  auto fresh = load(cert_path_, key_path_);
  {
    std::lock_guard lock(mutex_);
    pair_ = std::move(fresh);
  }
  warn_if_not_valid_now(validity_problem());
}

std::string TlsCredentials::validity_problem() const {
  const auto pair = current();
  const ASN1_TIME* not_after = X509_get0_notAfter(pair->cert);
  const ASN1_TIME* not_before = X509_get0_notBefore(pair->cert);
  if (X509_cmp_current_time(not_after) <= 0) {
    return "the certificate in " + cert_path_ + " expired on " + asn1_time_text(not_after);
  }
  if (X509_cmp_current_time(not_before) >= 0) {
    return "the certificate in " + cert_path_ + " is not valid before " + asn1_time_text(not_before);
  }
  return {};
}

std::shared_ptr<const TlsCredentials::Pair> TlsCredentials::current() const {
  std::lock_guard lock(mutex_);
  return pair_;
}

int TlsCredentials::on_certificate(ssl_st* ssl, void* self) noexcept {
  try {
    const auto pair = static_cast<TlsCredentials*>(self)->current();
    // SSL_use_cert_and_key takes its own references, so the pair may be swapped right after.
    return SSL_use_cert_and_key(ssl, pair->cert, pair->key, pair->chain, 1) == 1 ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

bool TlsCredentials::configure(ssl_ctx_st& ctx) {
  if (SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION) != 1) return false;
  // TLS 1.2 only with forward secrecy and an AEAD cipher (Mozilla's "intermediate" list); every
  // TLS 1.3 suite already is both. OpenSSL's default also offers RSA key exchange and CBC suites.
  if (SSL_CTX_set_cipher_list(&ctx, kTls12Ciphers) != 1) return false;
  SSL_CTX_set_cert_cb(&ctx, &TlsCredentials::on_certificate, this);
  return true;
}

}  // namespace saldo
