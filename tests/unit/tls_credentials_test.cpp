// The HTTPS server's credentials: a certificate that is not valid now is named at start and on
// reload, and TLS 1.2 offers only forward-secret AEAD suites.
#include "consumer_service/http/tls_credentials.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace saldo {
namespace {

namespace fs = std::filesystem;

// A self-signed EC certificate valid from `from_s` to `to_s` seconds from now, written as PEM.
class CertFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("saldo-tls-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    key_.reset(EVP_EC_gen("P-256"));
    ASSERT_NE(key_, nullptr);
    FILE* f = std::fopen(key_path().c_str(), "w");
    ASSERT_NE(f, nullptr);
    PEM_write_PrivateKey(f, key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write_cert(long from_s, long to_s) {
    std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), from_s);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), to_s);
    X509_set_pubkey(cert.get(), key_.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    ASSERT_GT(X509_sign(cert.get(), key_.get(), EVP_sha256()), 0);
    FILE* f = std::fopen(cert_path().c_str(), "w");
    ASSERT_NE(f, nullptr);
    PEM_write_X509(f, cert.get());
    std::fclose(f);
  }
  std::string cert_path() const { return (dir_ / "cert.pem").string(); }
  std::string key_path() const { return (dir_ / "key.pem").string(); }

  fs::path dir_;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key_{nullptr, EVP_PKEY_free};
};

constexpr long kDay = 24 * 3600;

TEST_F(CertFiles, AnExpiredCertificateIsNamedAtStartAndOnReload) {
  write_cert(-30 * kDay, 90 * kDay);
  TlsCredentials tls(cert_path(), key_path());
  EXPECT_EQ(tls.validity_problem(), "");

  write_cert(-30 * kDay, -kDay);
  tls.reload();
  EXPECT_NE(tls.validity_problem().find("expired on"), std::string::npos) << tls.validity_problem();
  EXPECT_NE(tls.validity_problem().find(cert_path()), std::string::npos);

  TlsCredentials expired(cert_path(), key_path());
  EXPECT_NE(expired.validity_problem().find("expired on"), std::string::npos);

  write_cert(kDay, 90 * kDay);
  tls.reload();
  EXPECT_NE(tls.validity_problem().find("not valid before"), std::string::npos) << tls.validity_problem();
}

TEST_F(CertFiles, Tls12OffersOnlyForwardSecretAeadSuites) {
  write_cert(-kDay, 90 * kDay);
  TlsCredentials tls(cert_path(), key_path());
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  ASSERT_TRUE(tls.configure(*ctx));
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx.get()), TLS1_2_VERSION);
  STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx.get());
  int tls12 = 0;
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
    if (std::string_view(SSL_CIPHER_get_version(c)) == "TLSv1.3") continue;  // all forward secret and AEAD
    ++tls12;
    const int kx = SSL_CIPHER_get_kx_nid(c);
    EXPECT_TRUE(kx == NID_kx_ecdhe || kx == NID_kx_dhe) << SSL_CIPHER_get_name(c);
    EXPECT_TRUE(SSL_CIPHER_is_aead(c)) << SSL_CIPHER_get_name(c);
  }
  EXPECT_GT(tls12, 0);
}

}  // namespace
}  // namespace saldo
