#include "consumer_service/postgres/postgres_first_load.h"

#include <functional>
#include <string_view>

namespace saldo {

void FirstLoad::restart(bool empty) {
  finish();
  active_ = empty;
}

bool FirstLoad::finish() {
  const bool was = active_;
  active_ = false;
  written_.clear();  // gives the memory back
  return was;
}

FirstLoad::Split FirstLoad::split(const std::vector<SinkChange>& changes) {
  Split out;
  for (const SinkChange& c : changes) {
    const bool set = c.kind == SinkChange::Kind::kSet;
    if (active_ && written_.insert(std::hash<std::string_view>{}(c.cliente_id))) {
      if (set) {
        append_table_row(out.rows, c);
      } else {
        append_deletion_row(out.deletions, c);
      }
      continue;
    }
    append_staging_row(out.staged, c);
    ++(set ? out.staged_sets : out.staged_erases);
  }
  return out;
}

}  // namespace saldo
