#include "consumer_service/shard/group_membership.h"

#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>

#include "common/text.h"

namespace saldo {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kClientIdPrefix = "saldo@";
constexpr auto kDescribeInterval = std::chrono::milliseconds(1000);
constexpr int kDescribeTimeoutMs = 2000;
constexpr int kPollMs = 100;

std::vector<std::int32_t> partitions_of(const rd_kafka_topic_partition_list_t* list, const std::string& topic) {
  std::vector<std::int32_t> out;
  if (list == nullptr) return out;
  for (int i = 0; i < list->cnt; ++i) {
    if (topic == list->elems[i].topic) out.push_back(list->elems[i].partition);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

std::string member_client_id(const std::string& advertise) { return std::string(kClientIdPrefix) + advertise; }

std::optional<std::string> url_of_client_id(const std::string& client_id) {
  if (client_id.size() <= kClientIdPrefix.size() || client_id.compare(0, kClientIdPrefix.size(), kClientIdPrefix) != 0) {
    return std::nullopt;
  }
  return client_id.substr(kClientIdPrefix.size());
}

struct GroupMembership::Callbacks {
  // Cooperative (incremental) or eager, as librdkafka negotiated: the assignment changes, the
  // partitions are paused (this consumer only holds the membership), and the thread's view follows.
  static void rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t* parts,
                        void* opaque) noexcept {
    auto* self = static_cast<GroupMembership*>(opaque);
    const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    const std::vector<std::int32_t> changed = partitions_of(parts, self->settings_.kafka.topic);
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      if (cooperative) {
        if (KafkaError e{rd_kafka_incremental_assign(rk, parts)}) {
          spdlog::warn("shard group '{}': cannot take the assignment: {}", self->settings_.group, rd_kafka_error_string(e.get()));
        }
      } else {
        rd_kafka_assign(rk, parts);
      }
      rd_kafka_pause_partitions(rk, parts);
      std::lock_guard lock(self->mutex_);
      for (const auto p : changed) {
        if (std::find(self->assigned_.begin(), self->assigned_.end(), p) == self->assigned_.end()) self->assigned_.push_back(p);
      }
      std::sort(self->assigned_.begin(), self->assigned_.end());
      spdlog::info("shard group '{}': assigned {}; now owning {}", self->settings_.group, partition_list_text(changed),
                   partition_list_text(self->assigned_));
    } else {
      if (cooperative) {
        if (KafkaError e{rd_kafka_incremental_unassign(rk, parts)}) {
          spdlog::warn("shard group '{}': cannot give partitions back: {}", self->settings_.group, rd_kafka_error_string(e.get()));
        }
      } else {
        rd_kafka_assign(rk, nullptr);
      }
      std::lock_guard lock(self->mutex_);
      if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && cooperative) {
        std::erase_if(self->assigned_, [&](std::int32_t p) { return std::find(changed.begin(), changed.end(), p) != changed.end(); });
      } else {
        self->assigned_.clear();  // eager revoke, or the assignment was lost (session timed out)
      }
      spdlog::info("shard group '{}': {} {}; now owning {}", self->settings_.group,
                   err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS ? "revoked" : "lost", partition_list_text(changed),
                   partition_list_text(self->assigned_));
    }
    self->rebalances_.fetch_add(1, std::memory_order_relaxed);
    self->joined_.store(true, std::memory_order_release);
  }
};

GroupMembership::GroupMembership(GroupMembershipSettings settings) : settings_(std::move(settings)) {
  KafkaOptions options = settings_.kafka;
  // Defaults the user's -X may change (how soon a killed member's partitions move), then the user's
  // -X (security, timeouts), then what the membership needs to mean what it says.
  options.properties = {
      {"session.timeout.ms", std::to_string(settings_.session_timeout.count())},
      // A member learns of a rebalance from a heartbeat's answer, and cooperative-sticky takes two
      // rounds per member joining or leaving: a short interval is what makes a group settle fast.
      {"heartbeat.interval.ms", std::to_string(std::max<std::int64_t>(settings_.session_timeout.count() / 20, 100))},
  };
  options.properties.insert(options.properties.end(), settings_.kafka.properties.begin(),
                            settings_.kafka.properties.end());
  options.properties.emplace_back("group.id", settings_.group);
  options.properties.emplace_back("client.id", member_client_id(settings_.advertise));
  options.properties.emplace_back("partition.assignment.strategy", "cooperative-sticky");
  options.properties.emplace_back("enable.auto.commit", "false");
  options.properties.emplace_back("enable.auto.offset.store", "false");
  options.properties.emplace_back("auto.offset.reset", "latest");
  KafkaConf conf = make_kafka_conf(options);
  rd_kafka_conf_set_opaque(conf.get(), this);
  rd_kafka_conf_set_rebalance_cb(conf.get(), &Callbacks::rebalance);
  rk_ = make_kafka_handle(RD_KAFKA_CONSUMER, std::move(conf));
  rd_kafka_poll_set_consumer(rk_.get());
}

GroupMembership::~GroupMembership() {
  try {
    leave();
  } catch (...) {
  }
}

void GroupMembership::start() {
  const PartitionList topics(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(topics.get(), settings_.kafka.topic.c_str(), RD_KAFKA_PARTITION_UA);
  if (const auto err = rd_kafka_subscribe(rk_.get(), topics.get())) {
    throw KafkaException(std::string("cannot join the shard group: ") + rd_kafka_err2str(err), err);
  }
  spdlog::info("shard group '{}': joining as {} (topic '{}', cooperative-sticky)", settings_.group, settings_.advertise,
               settings_.kafka.topic);
  thread_ = std::thread([this] { run(); });
}

void GroupMembership::run() {
  while (!stop_.load(std::memory_order_acquire)) {
    // Serves the rebalance callback; a message is only possible before its partition was paused.
    if (rd_kafka_message_t* m = rd_kafka_consumer_poll(rk_.get(), kPollMs)) rd_kafka_message_destroy(m);
    if (Clock::now() - last_describe_ >= kDescribeInterval) {
      last_describe_ = Clock::now();
      read_partition_count();
      describe();
    }
  }
}

void GroupMembership::read_partition_count() {
  KafkaTopic topic(rd_kafka_topic_new(rk_.get(), settings_.kafka.topic.c_str(), nullptr));
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(rk_.get(), 0, topic.get(), &md, kDescribeTimeoutMs) != RD_KAFKA_RESP_ERR_NO_ERROR) return;
  const Metadata owned(md);
  if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    partitions_.store(md->topics[0].partition_cnt, std::memory_order_release);
  }
}

void GroupMembership::describe() {
  const KafkaQueue queue(rd_kafka_queue_new(rk_.get()));
  const AdminOptions options(rd_kafka_AdminOptions_new(rk_.get(), RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS));
  rd_kafka_AdminOptions_set_request_timeout(options.get(), kDescribeTimeoutMs, nullptr, 0);
  const char* groups[] = {settings_.group.c_str()};
  rd_kafka_DescribeConsumerGroups(rk_.get(), groups, 1, options.get(), queue.get());
  const KafkaEvent event(rd_kafka_queue_poll(queue.get(), kDescribeTimeoutMs + 500));
  if (!event || rd_kafka_event_error(event.get())) return;
  const auto* result = rd_kafka_event_DescribeConsumerGroups_result(event.get());
  if (result == nullptr) return;
  std::size_t count = 0;
  const auto** descs = rd_kafka_DescribeConsumerGroups_result_groups(result, &count);
  if (count != 1 || rd_kafka_ConsumerGroupDescription_error(descs[0]) != nullptr) return;
  std::vector<Member> members;
  const std::size_t n = rd_kafka_ConsumerGroupDescription_member_count(descs[0]);
  for (std::size_t i = 0; i < n; ++i) {
    const auto* m = rd_kafka_ConsumerGroupDescription_member(descs[0], i);
    const auto url = url_of_client_id(rd_kafka_MemberDescription_client_id(m));
    if (!url) continue;
    const auto* assignment = rd_kafka_MemberDescription_assignment(m);
    members.push_back({*url, partitions_of(assignment ? rd_kafka_MemberAssignment_partitions(assignment) : nullptr,
                                           settings_.kafka.topic)});
  }
  std::sort(members.begin(), members.end(), [](const Member& a, const Member& b) { return a.url < b.url; });
  std::lock_guard lock(mutex_);
  members_ = std::move(members);
}

void GroupMembership::leave() {
  if (left_.exchange(true)) return;
  stop_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
  if (!rk_) return;
  // Revokes everything through the callback and sends LeaveGroup: the others rebalance now.
  rd_kafka_consumer_close(rk_.get());
  std::lock_guard lock(mutex_);
  assigned_.clear();
  spdlog::info("shard group '{}': left", settings_.group);
}

std::vector<std::int32_t> GroupMembership::assigned() const {
  std::lock_guard lock(mutex_);
  return assigned_;
}

std::vector<GroupMembership::Member> GroupMembership::members() const {
  std::lock_guard lock(mutex_);
  return members_;
}

}  // namespace saldo
