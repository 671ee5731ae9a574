#pragma once
// The sink's first load of an empty table set (issue 23): which changes of a batch may be COPYed
// straight into the tables instead of going through the staging table and its upserts. Pure: no libpq.
//
// Why it keeps the table's rule (postgres_batch.h): while the table set holds only what this session
// wrote since it found both tables empty (the writer lock keeps other sinks out), a key the session
// has not written yet has no row in either table, so the batch's newest change of that key is the
// newest anyone knows of, and plain COPY writes exactly what the upserts would. A key written once
// already may meet an older record from another partition in a later batch: it goes through the
// upserts, which compare. The keys written are held in memory, as 64-bit hashes (a collision only
// sends a new key through the upserts, which are always right), until the sink has caught up with the
// topic once (no lag); then the load is over and the set is freed (the tail goes through the upserts).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "consumer_service/postgres/key_hash_set.h"
#include "consumer_service/postgres/postgres_batch.h"

namespace saldo {

class FirstLoad {
 public:
  struct Split {
    std::string rows;       // COPY text for the table (append_table_row)
    std::string deletions;  // COPY text for "_excluidos" (append_deletion_row)
    std::string staged;     // COPY text for the staging table (append_staging_row)
    std::size_t staged_sets = 0;
    std::size_t staged_erases = 0;
  };

  // At the start of every session: `empty` is whether both tables were found empty, after the writer
  // lock was taken. A session that failed mid-load starts over here, so keys remembered for a
  // transaction that rolled back are forgotten with it.
  void restart(bool empty);
  bool active() const noexcept { return active_; }
  std::size_t keys() const noexcept { return written_.size(); }

  // The sink caught up with the topic: the load is over. True when it was on.
  bool finish();

  // The batch's changes (one per key), split: while active, each key not written yet goes straight in
  // and is remembered as written; everything else is staged. Call only for a batch that is then
  // committed or whose failure ends the session.
  Split split(const std::vector<SinkChange>& changes);

 private:
  bool active_ = false;
  KeyHashSet written_;  // hashes of the keys written
};

}  // namespace saldo
