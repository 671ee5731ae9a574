#include "common/customer_id.h"

#include <string>

#include <gtest/gtest.h>

namespace saldo {
namespace {

TEST(CustomerId, Valid) {
  EXPECT_TRUE(is_valid_customer_id("1"));
  EXPECT_TRUE(is_valid_customer_id("cliente-42"));
  EXPECT_TRUE(is_valid_customer_id("A.b_C-9"));
  EXPECT_TRUE(is_valid_customer_id(std::string(64, 'x')));
}

TEST(CustomerId, Invalid) {
  EXPECT_FALSE(is_valid_customer_id(""));
  EXPECT_FALSE(is_valid_customer_id(std::string(65, 'x')));
  EXPECT_FALSE(is_valid_customer_id("a b"));
  EXPECT_FALSE(is_valid_customer_id("a/b"));
  EXPECT_FALSE(is_valid_customer_id("a:b"));
  EXPECT_FALSE(is_valid_customer_id("joão"));
  EXPECT_FALSE(is_valid_customer_id(std::string("a\0b", 3)));
  EXPECT_FALSE(is_valid_customer_id("\xff"));
  EXPECT_FALSE(is_valid_customer_id("1\n"));
}

}  // namespace
}  // namespace saldo
