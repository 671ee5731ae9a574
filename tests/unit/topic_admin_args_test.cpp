#include "tools/topic_admin_args.h"

#include <gtest/gtest.h>

namespace saldo {
namespace {

TEST(TopicAdminArgs, KnowsItsCommands) {
  EXPECT_EQ(parse_admin_command("create-topic"), AdminCommand::kCreateTopic);
  EXPECT_EQ(parse_admin_command("describe-topic"), AdminCommand::kDescribeTopic);
  EXPECT_EQ(parse_admin_command("wait-for-broker"), AdminCommand::kWaitForBroker);
  EXPECT_THROW(parse_admin_command("create"), ConfigError);
  EXPECT_THROW(parse_admin_command(""), ConfigError);
}

TEST(TopicAdminArgs, AcceptsDefaults) { EXPECT_NO_THROW(validate(AdminArgs{})); }

TEST(TopicAdminArgs, RejectsOutOfRangeNumbers) {
  AdminArgs a;
  a.partitions = 0;
  EXPECT_THROW(validate(a), ConfigError);
  a = {};
  a.partitions = 10001;
  EXPECT_THROW(validate(a), ConfigError);
  a = {};
  a.replication_factor = 0;
  EXPECT_THROW(validate(a), ConfigError);
  a = {};
  a.timeout_seconds = 0;
  EXPECT_THROW(validate(a), ConfigError);
}

TEST(TopicAdminArgs, RefusesToTurnCompactionOff) {
  AdminArgs a;
  a.topic_configs = {{"cleanup.policy", "delete"}};
  try {
    validate(a);
    FAIL() << "cleanup.policy=delete accepted";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("compacted"), std::string::npos) << e.what();
  }
  a.topic_configs = {{"cleanup.policy", "compact,delete"}, {"segment.ms", "100"}};
  EXPECT_NO_THROW(validate(a));
}

}  // namespace
}  // namespace saldo
