#pragma once
// Test support: a self-signed EC certificate and its key written as PEM files in a fresh directory.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

namespace saldo::test {

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

}  // namespace saldo::test
