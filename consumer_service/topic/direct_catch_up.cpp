#include "consumer_service/topic/direct_catch_up.h"

#include <pthread.h>

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "consumer_service/topic/broker_connection.h"

namespace saldo {
namespace {

constexpr std::chrono::milliseconds kConnectTimeout{10000};
// A broker's error code by name: librdkafka's codes for broker errors are Kafka's own.
std::string kafka_error(std::int16_t code) {
  return std::string(rd_kafka_err2name(static_cast<rd_kafka_resp_err_t>(code))) + " (Kafka error " +
         std::to_string(code) + ")";
}

}  // namespace

DirectCatchUp::DirectCatchUp(Settings settings, std::vector<CatchUpPartition> partitions,
                             std::map<std::int32_t, BrokerAddress> leaders)
    : settings_(std::move(settings)) {
  for (const CatchUpPartition& range : partitions) {
    Partition& p = partitions_.emplace_back();
    p.range = range;
    p.next = range.from;
    if (range.from >= range.until) {
      p.open = false;
      continue;
    }
    const auto leader = leaders.find(range.partition);
    if (leader == leaders.end()) {
      p.open = false;
      p.stopped = "no leader known";
      continue;
    }
    auto same = std::find_if(leaders_.begin(), leaders_.end(), [&](const Leader& l) {
      return l.address.host == leader->second.host && l.address.port == leader->second.port;
    });
    if (same == leaders_.end()) same = leaders_.insert(leaders_.end(), Leader{leader->second, {}});
    same->partitions.push_back(partitions_.size() - 1);
  }
  for (std::size_t i = 0; i < settings_.queued_chunks + 2; ++i) {
    free_.push_back(pool_.emplace_back(std::make_unique<CatchUpChunk>()).get());
  }
  thread_ = std::thread([this] { run(); });
}

DirectCatchUp::~DirectCatchUp() {
  stop_.store(true);
  {
    std::lock_guard lock(mutex_);
    changed_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

CatchUpChunk* DirectCatchUp::take(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return !full_.empty() || !fetching_; });
  if (full_.empty()) return nullptr;
  CatchUpChunk* chunk = full_.front();
  full_.pop_front();
  changed_.notify_all();
  return chunk;
}

void DirectCatchUp::give_back(CatchUpChunk* chunk) {
  if (chunk == nullptr) return;
  chunk->records.clear();
  chunk->inflated.clear();
  std::lock_guard lock(mutex_);
  free_.push_back(chunk);
  changed_.notify_all();
}

bool DirectCatchUp::done() {
  std::lock_guard lock(mutex_);
  return !fetching_ && full_.empty();
}

std::vector<DirectCatchUp::Outcome> DirectCatchUp::outcome() {
  std::lock_guard lock(mutex_);
  std::vector<Outcome> out;
  out.reserve(partitions_.size());
  for (const Partition& p : partitions_) out.push_back({p.range.partition, p.next, p.stopped});
  return out;
}

CatchUpChunk* DirectCatchUp::free_chunk() {
  std::unique_lock lock(mutex_);
  changed_.wait(lock, [&] { return !free_.empty() || stop_.load(); });
  if (stop_.load()) return nullptr;
  CatchUpChunk* chunk = free_.back();
  free_.pop_back();
  return chunk;
}

void DirectCatchUp::stop_all(const Leader& leader, const std::string& why) {
  std::lock_guard lock(mutex_);
  for (const std::size_t i : leader.partitions) {
    Partition& p = partitions_[i];
    if (!p.open) continue;
    p.open = false;
    p.stopped = why;
  }
}

void DirectCatchUp::run() {
  ::pthread_setname_np(::pthread_self(), "saldo-fetch");  // top -H, perf, bench/rebuild_breakdown.sh
  std::vector<std::unique_ptr<BrokerConnection>> connections(leaders_.size());
  std::int32_t correlation_id = 0;
  bool any_open = true;
  while (any_open && !stop_.load()) {
    any_open = false;
    for (std::size_t l = 0; l < leaders_.size() && !stop_.load(); ++l) {
      Leader& leader = leaders_[l];
      const bool open = std::any_of(leader.partitions.begin(), leader.partitions.end(),
                                    [&](std::size_t i) { return partitions_[i].open; });
      if (!open) continue;
      try {
        fetch_from(leader, connections[l], ++correlation_id);
      } catch (const std::exception& e) {
        connections[l].reset();
        stop_all(leader, e.what());
      }
      any_open = true;
    }
  }
  std::lock_guard lock(mutex_);
  fetching_ = false;
  changed_.notify_all();
}

void DirectCatchUp::fetch_from(Leader& leader, std::unique_ptr<BrokerConnection>& connection,
                               std::int32_t correlation_id) {
  CatchUpChunk* chunk = free_chunk();
  if (chunk == nullptr) return;  // stopping
  struct Keep {  // the chunk goes back to the pool unless it is handed over
    DirectCatchUp& self;
    CatchUpChunk* chunk;
    ~Keep() {
      if (chunk != nullptr) self.give_back(chunk);
    }
  } keep{*this, chunk};

  std::vector<FetchPartitionAsk> asks;
  for (const std::size_t i : leader.partitions) {
    if (partitions_[i].open) asks.push_back({partitions_[i].range.partition, partitions_[i].next});
  }
  // Each fetch starts with a different partition, so a full response does not favour the first.
  if (asks.size() > 1) {
    std::rotate(asks.begin(), asks.begin() + correlation_id % static_cast<std::int32_t>(asks.size()), asks.end());
  }
  if (!connection) {
    connection = std::make_unique<BrokerConnection>(leader.address.host, leader.address.port, kConnectTimeout, stop_);
  }
  const auto deadline = BrokerConnection::Clock::now() + settings_.request_timeout;
  connection->send(encode_fetch_request(correlation_id, settings_.client_id, settings_.topic, asks, settings_.limits),
                   deadline);
  // A response holds at most max_bytes of records, plus each partition's first batch when that is
  // bigger (KIP-74): twice max_bytes and a margin bounds a sane one.
  connection->receive(chunk->response, 2 * static_cast<std::size_t>(settings_.limits.max_bytes) + (16 << 20), deadline);
  const std::vector<FetchedPartition> fetched = parse_fetch_response(chunk->response, correlation_id, settings_.topic);

  for (const FetchedPartition& f : fetched) {
    const auto it = std::find_if(leader.partitions.begin(), leader.partitions.end(), [&](std::size_t i) {
      return partitions_[i].range.partition == f.partition && partitions_[i].open;  // open: this thread's
    });
    if (it == leader.partitions.end()) continue;
    Partition& p = partitions_[*it];
    // Only this thread reads `p` before done(); the lock orders the writes for outcome().
    if (f.error != 0) {
      std::lock_guard lock(mutex_);
      p.open = false;
      p.stopped = kafka_error(f.error);
      continue;
    }
    RecordSetEnd end;
    const std::size_t before = chunk->records.size();
    try {
      end = read_record_set(f.records, p.range.partition, p.next, chunk->records, chunk->inflated);
    } catch (const ProtocolError& e) {
      chunk->records.resize(before);  // none of this partition's records: librdkafka reads them
      end = {p.next, e.what()};
    }
    std::lock_guard lock(mutex_);
    const bool moved = end.next > p.next;
    p.next = end.next;
    if (!end.stopped.empty()) {
      p.open = false;
      p.stopped = end.stopped;
    } else if (p.next >= p.range.until || p.next >= f.high_watermark) {
      p.open = false;  // read up to where the rebuild ends (or the log ends before it)
    } else if (!moved && !f.records.empty()) {
      p.open = false;
      p.stopped = "a record batch larger than the fetch";
    }
  }
  if (chunk->records.empty()) return;
  std::lock_guard lock(mutex_);
  full_.push_back(std::exchange(keep.chunk, nullptr));
  changed_.notify_all();
}

}  // namespace saldo
