#include "consumer_service/shard/shard_member_json.h"

#include <charconv>

#include <nlohmann/json.hpp>

namespace saldo {

std::string shard_status_json(const ShardPicture& picture) {
  static const ShardMember kNobody;
  const ShardMember* self = picture.member(picture.self);
  const ShardMember& me = self != nullptr ? *self : kNobody;
  nlohmann::json out = nlohmann::json::object();
  out["url"] = picture.self;
  out["partitions"] = picture.partitions;
  out["assigned"] = me.assigned;
  nlohmann::json holds = nlohmann::json::object();
  for (std::int32_t p = 0; p < picture.partitions; ++p) {
    if (const PartitionHold h = me.hold(p); h != PartitionHold::kNone) holds[std::to_string(p)] = to_string(h);
  }
  out["holds"] = std::move(holds);
  out["draining"] = me.draining;
  return out.dump();
}

namespace {

std::optional<std::int32_t> partition_number(const nlohmann::json& v, std::int32_t partitions) {
  if (!v.is_number_integer()) return std::nullopt;
  const auto n = v.get<std::int64_t>();
  if (n < 0 || n >= partitions) return std::nullopt;
  return static_cast<std::int32_t>(n);
}

std::optional<std::int32_t> partition_key(std::string_view key, std::int32_t partitions) {
  std::int32_t n = -1;
  const auto [end, ec] = std::from_chars(key.data(), key.data() + key.size(), n);
  if (key.empty() || ec != std::errc() || end != key.data() + key.size() || n < 0 || n >= partitions) {
    return std::nullopt;
  }
  return n;
}

std::optional<PartitionHold> hold_named(const nlohmann::json& v) {
  if (!v.is_string()) return std::nullopt;
  const auto& s = v.get_ref<const std::string&>();
  for (const PartitionHold h : {PartitionHold::kNone, PartitionHold::kRebuilding, PartitionHold::kReady}) {
    if (s == to_string(h)) return h;
  }
  return std::nullopt;
}

}  // namespace

std::optional<ShardMember> parse_shard_status(std::string_view body) {
  const nlohmann::json doc = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return std::nullopt;  // also a parse error (discarded)
  const auto url = doc.find("url");
  const auto partitions = doc.find("partitions");
  const auto assigned = doc.find("assigned");
  const auto holds = doc.find("holds");
  const auto draining = doc.find("draining");
  if (url == doc.end() || !url->is_string() || url->get_ref<const std::string&>().empty()) return std::nullopt;
  if (partitions == doc.end() || !partitions->is_number_integer()) return std::nullopt;
  const auto count = partitions->get<std::int64_t>();
  if (count < 0 || count > kMaxShardPartitions) return std::nullopt;
  if (assigned == doc.end() || !assigned->is_array()) return std::nullopt;
  if (holds == doc.end() || !holds->is_object()) return std::nullopt;
  if (draining == doc.end() || !draining->is_boolean()) return std::nullopt;

  const auto n = static_cast<std::int32_t>(count);
  ShardMember m;
  m.url = url->get<std::string>();
  m.draining = draining->get<bool>();
  for (const auto& a : *assigned) {
    const auto p = partition_number(a, n);
    if (!p) return std::nullopt;
    m.assigned.push_back(*p);
  }
  m.holds.assign(static_cast<std::size_t>(n), PartitionHold::kNone);
  for (const auto& [key, value] : holds->items()) {
    const auto p = partition_key(key, n);
    const auto h = hold_named(value);
    if (!p || !h) return std::nullopt;
    m.holds[static_cast<std::size_t>(*p)] = *h;
  }
  return m;
}

}  // namespace saldo
