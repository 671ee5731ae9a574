#include "common/secrets.h"

#include <gtest/gtest.h>

namespace saldo {
namespace {

TEST(Secrets, PropertiesWhoseValueIsTheSecretAreRefusable) {
  for (const char* name : {"sasl.password", "ssl.key.password", "ssl.keystore.password", "ssl.key.pem",
                           "ssl.certificate.pem", "sasl.oauthbearer.client.secret", "sasl.oauthbearer.config",
                           "sasl.oauthbearer.extensions", "SSL.KEY.PEM"}) {
    EXPECT_TRUE(carries_secret(name, "value-1")) << name;
  }
  EXPECT_TRUE(carries_secret("whatever", "-----BEGIN PRIVATE KEY-----"));
  EXPECT_TRUE(carries_secret("whatever", "principal=svc clientSecret=s3cr3t"));
}

TEST(Secrets, PathsToKeysAndPublicSettingsAreNotSecrets) {
  // A path to a key is how a key should be given; an inline CA certificate is public.
  for (const char* name : {"ssl.key.location", "ssl.keystore.location", "ssl.ca.location", "ssl.ca.pem",
                           "sasl.username", "security.protocol", "sasl.oauthbearer.token.endpoint.url",
                           "linger.ms"}) {
    EXPECT_FALSE(carries_secret(name, "/etc/saldo/client.pem")) << name;
  }
  // The log masks more: a name that mentions a key or token may point at one.
  EXPECT_EQ(masked_value("ssl.key.location", "/etc/k.pem"), "***");
  EXPECT_EQ(masked_value("ssl.ca.location", "/etc/ca.pem"), "/etc/ca.pem");
}

TEST(Secrets, ConnectionStringPasswordsAreFoundAndMaskedInEveryForm) {
  EXPECT_TRUE(conninfo_has_password("postgresql://u:S3cr3t@h/db"));
  EXPECT_EQ(mask_conninfo_password("postgresql://u:S3cr3t@h/db"), "postgresql://u:***@h/db");
  EXPECT_EQ(mask_conninfo_password("postgres://u:p%40ss@h:5433,h2:5434/db?sslmode=require"),
            "postgres://u:***@h:5433,h2:5434/db?sslmode=require");
  EXPECT_EQ(mask_conninfo_password("postgresql://u@h/db?sslmode=require&password=S3cr3t&x=1"),
            "postgresql://u@h/db?sslmode=require&password=***&x=1");
  EXPECT_EQ(mask_conninfo_password("host=db user=u password=S3cr3t dbname=x"), "host=db user=u password=*** dbname=x");
  EXPECT_EQ(mask_conninfo_password("host=db password = 'S3 cr\\'3t' dbname=x"), "host=db password = *** dbname=x");
  EXPECT_EQ(mask_conninfo_password("password=a passfile=/x"), "password=*** passfile=/x");

  for (const char* without : {"postgresql://u@h/db", "postgresql://h/db?user=u", "host=db user=password dbname=x",
                              "host=db passfile=/run/pgpass", "", "postgresql://u@h/db?mypassword=x"}) {
    EXPECT_FALSE(conninfo_has_password(without)) << without;
    EXPECT_EQ(mask_conninfo_password(without), without);
  }
}

}  // namespace
}  // namespace saldo
