#pragma once
// saldo_admin's command line, as pure data: parsed and validated without touching Kafka.
#include <string>
#include <string_view>

#include "common/config.h"

namespace saldo {

enum class AdminCommand { kCreateTopic, kDescribeTopic, kWaitForBroker, kFixRouting };

struct AdminArgs {
  AdminCommand command = AdminCommand::kCreateTopic;
  int partitions = 3;
  int replication_factor = 1;
  KeyValues topic_configs;  // --config key=value, on top of cleanup.policy=compact
  int timeout_seconds = 30;
  bool apply = false;  // fix-routing: write the repair (default: a dry run)
};

// "create-topic" | "describe-topic" | "wait-for-broker" | "fix-routing"; throws ConfigError for anything else.
AdminCommand parse_admin_command(std::string_view word);

// Checks the ranges (partitions 1..10000, replication 1..32, timeout 1..3600) and that no --config
// turns compaction off; throws ConfigError naming the bad value.
void validate(const AdminArgs& args);

}  // namespace saldo
