// The HTTPS server's credentials: a certificate that is not valid now is named at start and on
// reload, and TLS 1.2 offers only forward-secret AEAD suites.
#include "consumer_service/http/tls_credentials.h"

#include "unit/cert_files.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>

namespace saldo {
namespace {

using test::CertFiles;

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
