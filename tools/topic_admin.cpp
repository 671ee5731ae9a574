// saldo_admin: creates and checks the compacted balance topic on any broker (local or Docker) through
// librdkafka's Admin API, so no Java is needed where the service runs.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "common/config.h"
#include "common/kafka_handles.h"
#include "common/logging.h"
#include "tools/fix_routing.h"
#include "tools/topic_admin_args.h"

namespace saldo {
namespace {

constexpr const char* kUsage =
    "saldo_admin COMMAND [options]: manage the compacted balance topic.\n"
    "\n"
    "Commands:\n"
    "  create-topic     create TOPIC with cleanup.policy=compact; if it exists, report its partitions\n"
    "                   and cleanup policy and fail when the policy is not compact\n"
    "  describe-topic   print the topic's partitions and cleanup policy\n"
    "  wait-for-broker  return once the broker answers a metadata request (or fail at --timeout)\n"
    "  fix-routing      list the customers with records off their murmur2 partition (written by a\n"
    "                   producer with another partitioner, or before partitions were added); with\n"
    "                   --apply, tombstone the strays and write each one's latest record again on its\n"
    "                   murmur2 partition, so compaction leaves one partition per customer. Exit 1\n"
    "                   when a dry run found customers to repair\n"
    "\n"
    "Example: saldo_admin create-topic --bootstrap-servers localhost:9092 --topic contas --partitions 3";

struct TopicInfo {
  bool exists = false;
  int partitions = 0;
  std::string cleanup_policy;
};

class Admin {
 public:
  Admin(const KafkaOptions& kafka, int timeout_seconds)
      : rk_(make_kafka_handle(RD_KAFKA_PRODUCER, make_kafka_conf(kafka))),
        queue_(rd_kafka_queue_new(rk_.get())),
        timeout_ms_(timeout_seconds * 1000),
        bootstrap_(kafka.bootstrap_servers) {}

  // Metadata for one topic; nullopt-like `exists=false` when the broker says it is unknown.
  TopicInfo describe(const std::string& topic) {
    TopicInfo info;
    Metadata md = metadata();
    for (int i = 0; i < md->topic_cnt; ++i) {
      if (topic == md->topics[i].topic && md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        info.exists = true;
        info.partitions = md->topics[i].partition_cnt;
      }
    }
    if (info.exists) info.cleanup_policy = topic_config(topic, "cleanup.policy");
    return info;
  }

  void create(const std::string& topic, const AdminArgs& args) {
    char errstr[512];
    NewTopic nt(rd_kafka_NewTopic_new(topic.c_str(), args.partitions, args.replication_factor, errstr,
                                      sizeof errstr));
    if (!nt) throw ConfigError(std::string("topic ") + topic + ": " + errstr);
    rd_kafka_NewTopic_set_config(nt.get(), "cleanup.policy", "compact");
    // Records of one customer on two partitions are ordered by time: the brokers' clock, not the
    // producers' (ARCHITECTURE.md, "Consistency"). --config can still say otherwise.
    rd_kafka_NewTopic_set_config(nt.get(), "message.timestamp.type", "LogAppendTime");
    for (const auto& [k, v] : args.topic_configs) {
      if (rd_kafka_NewTopic_set_config(nt.get(), k.c_str(), v.c_str()) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        throw ConfigError("--config " + k + "=" + v + " refused");
      }
    }
    AdminOptions opts = options(RD_KAFKA_ADMIN_OP_CREATETOPICS);
    rd_kafka_NewTopic_t* topics[] = {nt.get()};
    rd_kafka_CreateTopics(rk_.get(), topics, 1, opts.get(), queue_.get());
    KafkaEvent ev = wait_event("CreateTopics");
    size_t n = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev.get()), &n);
    for (size_t i = 0; i < n; ++i) {
      rd_kafka_resp_err_t err = rd_kafka_topic_result_error(results[i]);
      if (err == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) return;  // a concurrent creator won; checked next
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* msg = rd_kafka_topic_result_error_string(results[i]);
        throw KafkaException("creating topic " + topic + ": " + (msg ? msg : rd_kafka_err2str(err)), err);
      }
    }
  }

  // Returns once every partition's leader serves requests, so a producer started next is safe.
  void wait_for_leaders(const std::string& topic, int partitions) {
    rd_kafka_resp_err_t err =
        wait_for_partition_leaders(rk_.get(), topic, partitions, std::chrono::milliseconds(timeout_ms_));
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw KafkaException("topic " + topic + ": partition leaders not serving within " +
                               std::to_string(timeout_ms_ / 1000) + " s (" + rd_kafka_err2str(err) + ")",
                           err);
    }
  }

  Metadata metadata() {
    const rd_kafka_metadata_t* raw = nullptr;
    rd_kafka_resp_err_t err = rd_kafka_metadata(rk_.get(), 1, nullptr, &raw, timeout_ms_);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      throw KafkaException("no metadata from " + bootstrap_ + " within " + std::to_string(timeout_ms_ / 1000) +
                               " s (" + rd_kafka_err2str(err) + "): is the broker running?",
                           err);
    }
    return Metadata(raw);
  }

 private:
  AdminOptions options(rd_kafka_admin_op_t op) {
    char errstr[512];
    AdminOptions opts(rd_kafka_AdminOptions_new(rk_.get(), op));
    rd_kafka_AdminOptions_set_request_timeout(opts.get(), timeout_ms_, errstr, sizeof errstr);
    if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS) {
      rd_kafka_AdminOptions_set_operation_timeout(opts.get(), timeout_ms_, errstr, sizeof errstr);
    }
    return opts;
  }

  KafkaEvent wait_event(const char* what) {
    KafkaEvent ev(rd_kafka_queue_poll(queue_.get(), timeout_ms_ + 5000));
    if (!ev) throw KafkaException(std::string(what) + ": no answer from " + bootstrap_);
    if (rd_kafka_event_error(ev.get())) {
      throw KafkaException(std::string(what) + ": " + rd_kafka_event_error_string(ev.get()),
                           rd_kafka_event_error(ev.get()));
    }
    return ev;
  }

  std::string topic_config(const std::string& topic, const char* name) {
    ConfigResource res(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str()));
    AdminOptions opts = options(RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS);
    rd_kafka_ConfigResource_t* resources[] = {res.get()};
    rd_kafka_DescribeConfigs(rk_.get(), resources, 1, opts.get(), queue_.get());
    KafkaEvent ev = wait_event("DescribeConfigs");
    size_t n = 0;
    const rd_kafka_ConfigResource_t** out =
        rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(ev.get()), &n);
    for (size_t i = 0; i < n; ++i) {
      size_t cnt = 0;
      const rd_kafka_ConfigEntry_t** entries = rd_kafka_ConfigResource_configs(out[i], &cnt);
      for (size_t j = 0; j < cnt; ++j) {
        if (std::string(rd_kafka_ConfigEntry_name(entries[j])) == name) {
          const char* v = rd_kafka_ConfigEntry_value(entries[j]);
          return v ? v : "";
        }
      }
    }
    return "";
  }

  KafkaHandle rk_;
  KafkaQueue queue_;
  int timeout_ms_;
  std::string bootstrap_;
};

int report(const std::string& topic, const TopicInfo& info, bool created) {
  std::cout << "topic " << topic << (created ? " created" : " exists") << ": partitions=" << info.partitions
            << " cleanup.policy=" << info.cleanup_policy << "\n";
  if (info.cleanup_policy.find("compact") == std::string::npos) {
    std::cerr << "saldo_admin: topic " << topic << " has cleanup.policy=" << info.cleanup_policy
              << ", not compact: old balances would expire and deletes would never be cleaned; "
                 "delete it or run: kafka-configs --alter --add-config cleanup.policy=compact\n";
    return 1;
  }
  return 0;
}

int run(int argc, const char* const argv[]) {
  ConfigLoader loader("saldo_admin", kUsage);
  AdminArgs args;
  std::vector<std::string> configs;
  loader.add_kafka_options();
  loader.add_log_options();
  loader.options()("partitions", po::value<int>(&args.partitions)->default_value(3), "partitions of a new topic")(
      "replication-factor", po::value<int>(&args.replication_factor)->default_value(1),
      "replication factor of a new topic")("config", po::value<std::vector<std::string>>(&configs),
                                           "topic config key=value for a new topic (repeatable)")(
      "timeout", po::value<int>(&args.timeout_seconds)->default_value(30), "seconds to wait for the broker")(
      "apply", po::bool_switch(&args.apply), "fix-routing: write the repair (default: a dry run)");

  // The command is the first word; everything after it goes to the option parser.
  std::string command = argc > 1 ? argv[1] : "";
  std::vector<const char*> rest{argv[0]};
  if (command.empty()) rest.push_back("--help");
  const bool command_is_option = command.starts_with("-");
  for (int i = command_is_option ? 1 : 2; i < argc; ++i) rest.push_back(argv[i]);
  const std::optional<po::variables_map> vm = loader.parse(static_cast<int>(rest.size()), rest.data());
  if (!vm) return 0;

  setup_logging(log_options(*vm), "saldo_admin");
  args.command = parse_admin_command(command);
  for (const auto& kv : configs) args.topic_configs.push_back(parse_kafka_property(kv));
  validate(args);
  const KafkaOptions kafka = kafka_options(*vm);

  if (args.command == AdminCommand::kFixRouting) {
    return fix_routing(kafka, args.apply, std::chrono::seconds(args.timeout_seconds), std::cout);
  }
  Admin admin(kafka, args.timeout_seconds);
  switch (args.command) {
    case AdminCommand::kFixRouting: break;  // above
    case AdminCommand::kWaitForBroker: {
      Metadata md = admin.metadata();
      std::cout << "broker " << kafka.bootstrap_servers << " answers: " << md->broker_cnt << " broker(s), "
                << md->topic_cnt << " topic(s)\n";
      return 0;
    }
    case AdminCommand::kDescribeTopic: {
      TopicInfo info = admin.describe(kafka.topic);
      if (!info.exists) {
        std::cerr << "saldo_admin: topic " << kafka.topic << " does not exist on " << kafka.bootstrap_servers << "\n";
        return 1;
      }
      return report(kafka.topic, info, false);
    }
    case AdminCommand::kCreateTopic: {
      TopicInfo info = admin.describe(kafka.topic);
      if (info.exists) return report(kafka.topic, info, false);
      admin.create(kafka.topic, args);
      // Metadata can lag creation by a moment; the description must show the new topic.
      for (int i = 0; i < 100 && !(info = admin.describe(kafka.topic)).exists; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (!info.exists) {
        std::cerr << "saldo_admin: topic " << kafka.topic << " was created but does not show in metadata\n";
        return 1;
      }
      admin.wait_for_leaders(kafka.topic, info.partitions);
      return report(kafka.topic, info, true);
    }
  }
  return 1;
}

}  // namespace
}  // namespace saldo

int main(int argc, char* argv[]) { return saldo::run_main("saldo_admin", saldo::run, argc, argv); }
