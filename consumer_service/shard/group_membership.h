#pragma once
// Sharded mode's membership: a consumer in the Kafka group --shard-group, which is how instances
// find each other and share the partitions out. Kafka's group coordinator keeps the membership
// (heartbeats, session timeout) and the cooperative-sticky assignor places the partitions: on a
// scale-out only the partitions that move are revoked, the rest stay put. This consumer reads no
// records (its partitions are paused, nothing is committed); the table reader fetches what the
// shard coordinator tells it to hold. Each member's client.id carries its advertised URL, so a
// DescribeConsumerGroups answer (once a second) says who is in the group, where to reach them and
// what each was assigned: no list kept by hand.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/config.h"
#include "common/kafka_handles.h"

namespace saldo {

struct GroupMembershipSettings {
  KafkaOptions kafka;     // brokers, topic, the user's -X (security settings apply here too)
  std::string group;      // --shard-group
  std::string advertise;  // --advertise: this instance's URL for the others
  // How soon the group moves a killed instance's partitions (the broker's minimum by default); -X
  // session.timeout.ms changes it.
  std::chrono::milliseconds session_timeout{6000};
};

// The client.id a member uses, and the URL read back from another member's (nullopt: not saldo's).
std::string member_client_id(const std::string& advertise);
std::optional<std::string> url_of_client_id(const std::string& client_id);

class GroupMembership {
 public:
  struct Member {
    std::string url;
    std::vector<std::int32_t> assigned;
  };

  // Creates the consumer (throws ConfigError/KafkaException on a bad configuration).
  explicit GroupMembership(GroupMembershipSettings settings);
  ~GroupMembership();
  GroupMembership(const GroupMembership&) = delete;
  GroupMembership& operator=(const GroupMembership&) = delete;

  // Joins the group and keeps polling it on its own thread.
  void start();
  // Leaves the group (its partitions go to the others at once, not after a session timeout) and
  // stops the thread. The describe answers stop too; what was learnt last stays.
  void leave();

  // The partitions the group assigned this instance (sorted), and whether the first assignment
  // came (before it, nothing is known to hold).
  std::vector<std::int32_t> assigned() const;
  bool joined() const noexcept { return joined_.load(std::memory_order_acquire); }
  // The members as the broker described the group last (with their assignments), and the topic's
  // partition count (0: not known yet).
  std::vector<Member> members() const;
  std::int32_t partitions() const noexcept { return partitions_.load(std::memory_order_acquire); }
  // Rebalances seen (assignments and revocations), for the log and the metrics.
  std::uint64_t rebalances() const noexcept { return rebalances_.load(std::memory_order_relaxed); }

  struct Callbacks;

 private:
  void run();
  void describe();
  void read_partition_count();

  GroupMembershipSettings settings_;
  KafkaHandle rk_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> joined_{false};
  std::atomic<bool> left_{false};
  std::atomic<std::int32_t> partitions_{0};
  std::atomic<std::uint64_t> rebalances_{0};
  mutable std::mutex mutex_;
  std::vector<std::int32_t> assigned_;
  std::vector<Member> members_;
  std::chrono::steady_clock::time_point last_describe_{};
};

}  // namespace saldo
