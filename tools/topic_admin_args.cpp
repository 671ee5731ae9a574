#include "tools/topic_admin_args.h"

namespace saldo {

AdminCommand parse_admin_command(std::string_view word) {
  if (word == "create-topic") return AdminCommand::kCreateTopic;
  if (word == "describe-topic") return AdminCommand::kDescribeTopic;
  if (word == "wait-for-broker") return AdminCommand::kWaitForBroker;
  if (word == "fix-routing") return AdminCommand::kFixRouting;
  throw ConfigError("unknown command '" + std::string(word) +
                    "' (expected create-topic, describe-topic, wait-for-broker or fix-routing)");
}

void validate(const AdminArgs& args) {
  if (args.partitions < 1 || args.partitions > 10000) {
    throw ConfigError("--partitions must be between 1 and 10000, got " + std::to_string(args.partitions));
  }
  if (args.replication_factor < 1 || args.replication_factor > 32) {
    throw ConfigError("--replication-factor must be between 1 and 32, got " +
                      std::to_string(args.replication_factor));
  }
  if (args.timeout_seconds < 1 || args.timeout_seconds > 3600) {
    throw ConfigError("--timeout must be between 1 and 3600 seconds, got " +
                      std::to_string(args.timeout_seconds));
  }
  for (const auto& [key, value] : args.topic_configs) {
    if (key == "cleanup.policy" && value.find("compact") == std::string::npos) {
      throw ConfigError("--config cleanup.policy=" + value + ": the balance topic must be compacted");
    }
  }
}

}  // namespace saldo
