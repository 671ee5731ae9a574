#include "consumer_service/postgres/postgres_batch.h"

#include <algorithm>

namespace saldo {

void SinkBatch::advance(const RecordOrder& at) {
  auto [it, inserted] = positions_.try_emplace(at.partition, Position{at.partition, at.offset + 1, 0, at.time});
  it->second.next_offset = std::max(it->second.next_offset, at.offset + 1);
  it->second.order_ms = std::max(it->second.order_ms, at.time);
  ++it->second.records;
  ++records_;
}

void SinkBatch::add(SinkChange change) {
  advance(change.order);
  const auto [it, inserted] = index_.try_emplace(change.cliente_id, changes_.size());
  if (inserted) {
    changes_.push_back(std::move(change));
    return;
  }
  SinkChange& held = changes_[it->second];
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
  changes_.clear();
  index_.clear();
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
