#include "common/position_token.h"

#include <gtest/gtest.h>

namespace saldo {
namespace {

TEST(PositionToken, FormatsAndParsesBack) {
  EXPECT_EQ(format_position_token(2, 1534), "2:1534");
  EXPECT_EQ(parse_position_tokens("2:1534"), (std::vector<TopicPosition>{{2, 1534}}));
  EXPECT_EQ(parse_position_tokens(format_position_token(2147483647, 9223372036854775807)),
            (std::vector<TopicPosition>{{2147483647, 9223372036854775807}}));
}

TEST(PositionToken, SeveralAreSortedAndAPartitionGivenTwiceKeepsTheHigherOffset) {
  EXPECT_EQ(parse_position_tokens("2:5,0:9,2:7,2:6"), (std::vector<TopicPosition>{{0, 9}, {2, 7}}));
}

TEST(PositionToken, RejectsAnythingElse) {
  for (const char* bad : {"", ",", "1", "1:", ":1", "1:2,", ",1:2", "-1:2", "1:-2", "+1:2", " 1:2", "1:2 ", "1:2:3",
                          "a:1", "1:0x10", "2147483648:1", "1:9223372036854775808", "1;2"}) {
    EXPECT_FALSE(parse_position_tokens(bad)) << bad;
  }
  std::string many;
  for (std::size_t i = 0; i <= kMaxPositionTokens; ++i) many += (i ? "," : "") + format_position_token(0, 1);
  EXPECT_FALSE(parse_position_tokens(many));
}

}  // namespace
}  // namespace saldo
