#pragma once
// What the PostgreSQL sink writes in one transaction. Which of two records of a key is the current
// one is the table's rule (common/record_order.h): the greater RecordOrder, whose time is the
// partition's ordering time from an OrderClock. Pure: no libpq or librdkafka here.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/money.h"
#include "common/record_order.h"

namespace saldo {

struct SinkChange {
  enum class Kind : std::uint8_t { kSet, kErase };
  Kind kind = Kind::kSet;
  std::string cliente_id;
  Centavos saldo = 0;     // kSet only
  std::string timestamp;  // kSet only, as the producer wrote it
  RecordOrder order;
};

// One batch: per key only the latest change (PostgreSQL's ON CONFLICT may not
// touch a row twice in one statement), and per partition the position after the last record read,
// counting every record (invalid ones too: they are read, skipped and never written).
class SinkBatch {
 public:
  struct Position {
    std::int32_t partition = 0;
    std::int64_t next_offset = 0;
    std::int64_t records = 0;  // records read in this batch
    std::int64_t order_ms = OrderClock::kUnread;  // the partition's ordering time after them
  };

  void add(SinkChange change);
  // A record that is not a change (invalid, or a key the sink skips): only the position moves.
  void skip(RecordOrder at);

  bool empty() const noexcept { return positions_.empty(); }
  std::size_t records() const noexcept { return records_; }
  const std::vector<SinkChange>& changes() const noexcept { return changes_; }
  std::vector<Position> positions() const;  // ordered by partition
  void clear();

 private:
  void advance(const RecordOrder& at);

  // The slot of `id`'s change in slots_: where it is, or the free slot where it would go.
  std::size_t find_slot(std::string_view id, std::uint64_t hash) const;
  void grow_index();

  std::vector<SinkChange> changes_;
  // cliente_id -> changes_ index, open addressing: a node map made an allocation per record.
  std::vector<std::uint64_t> hashes_;  // per change: std::hash of its cliente_id
  std::vector<std::uint32_t> slots_;   // a power of two, at most half full; 0 free, else index + 1
  std::vector<std::uint32_t> used_;    // the slots taken, to free them one by one when few
  std::unordered_map<std::int32_t, Position> positions_;
  std::size_t records_ = 0;
};

// A value in COPY text format: backslash, tab, newline and carriage return escaped.
void append_copy_field(std::string& out, std::string_view value);

// One change as a row of COPY text format: for the staging table, in its column order
// (postgres_schema.h: kind, cliente_id, saldo, atualizado_em, particao, offset, order_ms); a kSet for the
// table itself (cliente_id, saldo, atualizado_em, particao, offset, order_ms); a kErase for its
// "_excluidos" (cliente_id, particao, offset, order_ms).
void append_staging_row(std::string& out, const SinkChange& c);
void append_table_row(std::string& out, const SinkChange& c);
void append_deletion_row(std::string& out, const SinkChange& c);

}  // namespace saldo
