#include "consumer_service/postgres/postgres_batch.h"

#include <algorithm>
#include <functional>

#include "consumer_service/postgres/key_hash_set.h"

namespace saldo {

void SinkBatch::advance(const RecordOrder& at) {
  auto [it, inserted] = positions_.try_emplace(at.partition, Position{at.partition, at.offset + 1, 0, at.time});
  it->second.next_offset = std::max(it->second.next_offset, at.offset + 1);
  it->second.order_ms = std::max(it->second.order_ms, at.time);
  ++it->second.records;
  ++records_;
}

std::size_t SinkBatch::find_slot(std::string_view id, std::uint64_t hash) const {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = home_slot(hash, mask);; i = (i + 1) & mask) {
    const std::uint32_t s = slots_[i];
    if (s == 0) return i;
    if (hashes_[s - 1] == hash && changes_[s - 1].cliente_id == id) return i;
  }
}

void SinkBatch::grow_index() {
  slots_.assign(slots_.empty() ? 256 : slots_.size() * 2, 0);
  used_.clear();
  for (std::size_t k = 0; k < changes_.size(); ++k) {
    const std::size_t i = find_slot(changes_[k].cliente_id, hashes_[k]);
    slots_[i] = static_cast<std::uint32_t>(k + 1);
    used_.push_back(static_cast<std::uint32_t>(i));
  }
}

void SinkBatch::add(SinkChange change) {
  advance(change.order);
  if ((changes_.size() + 1) * 2 > slots_.size()) grow_index();
  const std::uint64_t hash = std::hash<std::string_view>{}(change.cliente_id);
  const std::size_t i = find_slot(change.cliente_id, hash);
  if (slots_[i] == 0) {
    changes_.push_back(std::move(change));
    hashes_.push_back(hash);
    slots_[i] = static_cast<std::uint32_t>(changes_.size());
    used_.push_back(static_cast<std::uint32_t>(i));
    return;
  }
  SinkChange& held = changes_[slots_[i] - 1];
  if (change.order > held.order) held = std::move(change);
}

void SinkBatch::skip(RecordOrder at) { advance(at); }

std::vector<SinkBatch::Position> SinkBatch::positions() const {
  std::vector<Position> out;
  out.reserve(positions_.size());
  for (const auto& [partition, p] : positions_) out.push_back(p);
  std::sort(out.begin(), out.end(), [](const Position& a, const Position& b) { return a.partition < b.partition; });
  return out;
}

void SinkBatch::clear() {
  // The index stays allocated for the next batch; a few slots are freed one by one, many all at once.
  if (used_.size() * 8 < slots_.size()) {
    for (const std::uint32_t i : used_) slots_[i] = 0;
  } else {
    std::fill(slots_.begin(), slots_.end(), 0);
  }
  used_.clear();
  changes_.clear();
  hashes_.clear();
  positions_.clear();
  records_ = 0;
}

void append_copy_field(std::string& out, std::string_view value) {
  for (const char c : value) {
    switch (c) {
      case '\\': out.append("\\\\"); break;
      case '\t': out.append("\\t"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      default: out.push_back(c);
    }
  }
}

namespace {

void append_order(std::string& out, const RecordOrder& o) {
  out.append(std::to_string(o.partition)).push_back('\t');
  out.append(std::to_string(o.offset)).push_back('\t');
  out.append(std::to_string(o.time)).push_back('\n');
}

}  // namespace

void append_staging_row(std::string& out, const SinkChange& c) {
  const bool set = c.kind == SinkChange::Kind::kSet;
  out.append(set ? "s\t" : "d\t");
  append_copy_field(out, c.cliente_id);
  out.push_back('\t');
  if (set) {
    append_money(out, c.saldo);
    out.push_back('\t');
    append_copy_field(out, c.timestamp);
  } else {
    out.append("\\N\t\\N");
  }
  out.push_back('\t');
  append_order(out, c.order);
}

void append_table_row(std::string& out, const SinkChange& c) {
  append_copy_field(out, c.cliente_id);
  out.push_back('\t');
  append_money(out, c.saldo);
  out.push_back('\t');
  append_copy_field(out, c.timestamp);
  out.push_back('\t');
  append_order(out, c.order);
}

void append_deletion_row(std::string& out, const SinkChange& c) {
  append_copy_field(out, c.cliente_id);
  out.push_back('\t');
  append_order(out, c.order);
}

}  // namespace saldo
