#include "consumer_service/store/balance_store.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <utility>

#include "common/customer_id.h"
#include "common/record_order.h"

#include "consumer_service/store/compact_timestamp.h"

namespace saldo {
namespace {

constexpr std::size_t kInlineId = 13;
constexpr std::uint32_t kChunkBits = 10;
constexpr std::uint32_t kChunkSize = 1u << kChunkBits;
constexpr std::uint32_t kEntryBits = 24;
constexpr std::uint32_t kEntryMask = (1u << kEntryBits) - 1;
constexpr std::uint32_t kMaxEntries = kEntryMask - 1;  // slot stores entry number + 1; 0 is empty
constexpr std::uint32_t kNoEntry = 0xFFFFFFFF;
constexpr int kOffsetBits = 48;
constexpr std::size_t kPrefetchProbes = 16;  // a 64-byte line of index slots

// An entry's packed position (partition << kOffsetBits | offset), apart.
TopicPosition unpack_position(std::uint64_t position) noexcept {
  return {static_cast<std::int32_t>(position >> kOffsetBits),
          static_cast<std::int64_t>(position & ((std::uint64_t{1} << kOffsetBits) - 1))};
}

constexpr std::uint8_t kTombstone = 1;  // Entry::flags: the id was deleted (no balance, no timestamp)

struct Entry {
  std::uint8_t id_len;     // 0: free entry
  std::uint8_t ts_format;  // 0: ts_bits points at heap text (uint32 length + bytes), else packed
  std::uint8_t flags;
  char id[kInlineId];      // the id, or (id_len > kInlineId) a char* to it on the heap
  Centavos saldo;          // for a free entry: the next free entry number
  std::uint64_t ts_bits;
  std::uint64_t position;  // partition << 48 | offset
  std::int64_t record_time;
};
static_assert(sizeof(Entry) == 48, "the memory budget assumes 48-byte entries");

// common/record_order.h's order; the packed position (partition << 48 | offset) compares the same.
struct Order {
  std::int64_t time;
  std::uint64_t position;
  bool operator>(const Order& o) const noexcept {
    const TopicPosition a = unpack_position(position), b = unpack_position(o.position);
    return RecordOrder{time, a.partition, a.offset} > RecordOrder{o.time, b.partition, b.offset};
  }
};
Order order_of(const Entry& e) noexcept { return {e.record_time, e.position}; }

// The last 1 to 7 bytes of an id as one word, by fixed-size loads (a memcpy of a variable length is
// a library call: it was a tenth of the rebuild's store time). For a given length every byte is in
// the word, so two ids of one length give two words.
std::uint64_t load_tail(const char* p, std::size_t n) noexcept {
  if (n >= 4) {
    std::uint32_t first, last;
    std::memcpy(&first, p, 4);
    std::memcpy(&last, p + n - 4, 4);
    return (std::uint64_t{last} << 32) | first;
  }
  return std::uint64_t{static_cast<unsigned char>(p[0])} | std::uint64_t{static_cast<unsigned char>(p[n / 2])} << 8 |
         std::uint64_t{static_cast<unsigned char>(p[n - 1])} << 16;
}

std::uint64_t hash_id(std::string_view s) noexcept {
  std::uint64_t h = 0x9E3779B97F4A7C15ull ^ s.size();
  std::size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    std::uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0xBF58476D1CE4E5B9ull;
    h ^= h >> 29;
  }
  if (i < s.size()) {
    h = (h ^ load_tail(s.data() + i, s.size() - i)) * 0xBF58476D1CE4E5B9ull;
  }
  h ^= h >> 31;
  h *= 0x94D049BB133111EBull;
  h ^= h >> 32;
  return h;
}

const char* id_data(const Entry& e) noexcept {
  if (e.id_len <= kInlineId) return e.id;
  const char* p;
  std::memcpy(&p, e.id, sizeof p);
  return p;
}
std::string_view id_of(const Entry& e) noexcept { return {id_data(e), e.id_len}; }

std::uint8_t tag_of(std::uint64_t h) noexcept { return static_cast<std::uint8_t>(h >> 48); }
std::size_t shard_of(std::uint64_t h) noexcept { return static_cast<std::size_t>(h >> 56); }

}  // namespace

struct BalanceStore::Shard {
  mutable std::shared_mutex mutex;
  std::vector<std::unique_ptr<Entry[]>> chunks;
  std::uint32_t used = 0;  // entries ever handed out (free ones are reused first)
  std::uint32_t free_head = kNoEntry;
  std::vector<std::uint32_t> index;  // tag << 24 | (entry + 1); power-of-two size
  std::atomic<std::size_t> live{0};        // customers (entries that are not tombstones)
  std::atomic<std::size_t> tombstones{0};
  std::atomic<std::size_t> heap_bytes{0};

  ~Shard() {
    for (std::uint32_t i = 0; i < used; ++i) release_heap(entry(i));
  }

  Entry& entry(std::uint32_t i) noexcept { return chunks[i >> kChunkBits][i & (kChunkSize - 1)]; }
  const Entry& entry(std::uint32_t i) const noexcept { return chunks[i >> kChunkBits][i & (kChunkSize - 1)]; }

  // Index slot holding `id`, or the empty slot where it would go; SIZE_MAX when the index is empty.
  std::size_t find_slot(std::string_view id, std::uint64_t h) const noexcept {
    if (index.empty()) return SIZE_MAX;
    const std::size_t mask = index.size() - 1;
    const std::uint32_t tag = tag_of(h);
    for (std::size_t i = h & mask;; i = (i + 1) & mask) {
      const std::uint32_t slot = index[i];
      if (slot == 0) return i;
      if ((slot >> kEntryBits) == tag && id_of(entry((slot & kEntryMask) - 1)) == id) return i;
    }
  }

  // A batch touches random slots of a table far larger than the caches: apply() asks for the
  // index slot, and a little later for the entry it names, several events ahead.
  void prefetch_slot(std::uint64_t h) const noexcept {
    if (!index.empty()) __builtin_prefetch(&index[h & (index.size() - 1)]);
  }
  // Follows the probe sequence as find_slot() will (most keys sit past their home slot at this load)
  // to the first slot with the key's tag, and asks for that entry; stops at an empty slot.
  void prefetch_entry(std::uint64_t h) const noexcept {
    if (index.empty()) return;
    const std::size_t mask = index.size() - 1;
    const std::uint32_t tag = tag_of(h);
    for (std::size_t i = h & mask, probes = 0; probes < kPrefetchProbes; i = (i + 1) & mask, ++probes) {
      const std::uint32_t slot = index[i];
      if (slot == 0) return;
      if ((slot >> kEntryBits) == tag) {
        __builtin_prefetch(&entry((slot & kEntryMask) - 1));
        return;
      }
    }
  }

  void grow_index_if_needed() {
    const std::size_t count = live.load(std::memory_order_relaxed) + tombstones.load(std::memory_order_relaxed) + 1;
    if (!index.empty() && count * 4 <= index.size() * 3) return;
    rehash(index.empty() ? 64 : index.size() * 2);
  }

  // An index of `slots` (a power of two) holding every entry.
  void rehash(std::size_t slots) {
    std::vector<std::uint32_t> bigger(slots, 0);
    const std::size_t mask = bigger.size() - 1;
    for (std::uint32_t e = 0; e < used; ++e) {
      const Entry& en = entry(e);
      if (en.id_len == 0) continue;
      const std::uint64_t h = hash_id(id_of(en));
      std::size_t i = h & mask;
      while (bigger[i] != 0) i = (i + 1) & mask;
      bigger[i] = (std::uint32_t{tag_of(h)} << kEntryBits) | (e + 1);
    }
    index.swap(bigger);
  }

  std::uint32_t allocate_entry() {
    if (free_head != kNoEntry) {
      const std::uint32_t e = free_head;
      free_head = static_cast<std::uint32_t>(entry(e).saldo);
      return e;
    }
    if (used >= kMaxEntries) return kNoEntry;
    // Not zeroed: an entry is written when it is handed out, and none past `used` is ever read.
    if ((used >> kChunkBits) >= chunks.size()) chunks.push_back(std::make_unique_for_overwrite<Entry[]>(kChunkSize));
    return used++;
  }

  void release_heap(Entry& e) noexcept {
    if (e.id_len == 0) return;
    if (e.id_len > kInlineId) {
      delete[] id_data(e);
      heap_bytes.fetch_sub(e.id_len, std::memory_order_relaxed);
    }
    release_timestamp(e);
  }

  void release_timestamp(Entry& e) noexcept {
    if (e.ts_format != 0 || (e.flags & kTombstone)) return;
    auto* p = reinterpret_cast<char*>(static_cast<std::uintptr_t>(e.ts_bits));
    std::uint32_t len;
    std::memcpy(&len, p, sizeof len);
    delete[] p;
    heap_bytes.fetch_sub(sizeof len + len, std::memory_order_relaxed);
  }

  void store_timestamp(Entry& e, std::string_view ts, std::uint8_t packed_format = 0, std::uint64_t packed_bits = 0) {
    if (packed_format != 0) {
      e.ts_bits = packed_bits;
      e.ts_format = packed_format;
      return;
    }
    if (auto packed = pack_timestamp(ts)) {
      e.ts_bits = packed->bits;
      e.ts_format = packed->format;
      return;
    }
    const auto len = static_cast<std::uint32_t>(ts.size());
    char* p = new char[sizeof len + len];
    std::memcpy(p, &len, sizeof len);
    std::memcpy(p + sizeof len, ts.data(), len);
    heap_bytes.fetch_add(sizeof len + len, std::memory_order_relaxed);
    e.ts_bits = reinterpret_cast<std::uintptr_t>(p);
    e.ts_format = 0;
  }

  // The entry a find_slot() answer names, or nullptr (no slot, or a free one).
  const Entry* entry_at(std::size_t slot) const noexcept {
    return slot == SIZE_MAX || index[slot] == 0 ? nullptr : &entry((index[slot] & kEntryMask) - 1);
  }
  Entry* entry_at(std::size_t slot) noexcept { return const_cast<Entry*>(std::as_const(*this).entry_at(slot)); }

  // The entry for `id`, or nullptr.
  const Entry* find(std::string_view id, std::uint64_t h) const noexcept { return entry_at(find_slot(id, h)); }
  Entry* find(std::string_view id, std::uint64_t h) noexcept {
    return const_cast<Entry*>(std::as_const(*this).find(id, h));
  }

  // A new entry for `id` (balance and timestamp not set yet), or nullptr when the shard is full.
  // `empty_slot`: where find_slot() said the id would go, if the caller asked it already.
  Entry* insert(std::string_view id, std::uint64_t h, std::size_t empty_slot = SIZE_MAX) {
    const std::size_t slots = index.size();
    grow_index_if_needed();  // before the entry is handed out: rehash() reads every entry handed out
    const std::size_t i = empty_slot != SIZE_MAX && index.size() == slots ? empty_slot : find_slot(id, h);
    const std::uint32_t n = allocate_entry();
    if (n == kNoEntry) return nullptr;
    Entry& e = entry(n);
    e.id_len = static_cast<std::uint8_t>(id.size());
    e.flags = 0;
    e.ts_format = 1;  // no heap text to release yet
    if (id.size() <= kInlineId) {
      std::memcpy(e.id, id.data(), id.size());
    } else {
      char* p = new char[id.size()];
      std::memcpy(p, id.data(), id.size());
      std::memcpy(e.id, &p, sizeof p);
      heap_bytes.fetch_add(id.size(), std::memory_order_relaxed);
    }
    index[i] = (std::uint32_t{tag_of(h)} << kEntryBits) | (n + 1);
    return &e;
  }

  ApplyResult set(std::string_view id, std::uint64_t h, Centavos saldo, std::string_view ts, std::uint8_t ts_format,
                  std::uint64_t ts_bits, Order order) {
    const std::size_t slot = find_slot(id, h);
    Entry* e = entry_at(slot);
    ApplyResult result = ApplyResult::kUpdated;
    if (e != nullptr) {
      if (!(order > order_of(*e))) return ApplyResult::kStale;
      if (e->flags & kTombstone) {
        e->flags = 0;
        tombstones.fetch_sub(1, std::memory_order_relaxed);
        live.fetch_add(1, std::memory_order_relaxed);
        result = ApplyResult::kInserted;
      } else {
        release_timestamp(*e);
      }
    } else {
      e = insert(id, h, slot);
      if (e == nullptr) return ApplyResult::kRejected;
      live.fetch_add(1, std::memory_order_relaxed);
      result = ApplyResult::kInserted;
    }
    e->saldo = saldo;
    store_timestamp(*e, ts, ts_format, ts_bits);
    e->position = order.position;
    e->record_time = order.time;
    return result;
  }

  // A delete leaves a tombstone entry with the delete's order, so an older value read later loses.
  ApplyResult erase(std::string_view id, std::uint64_t h, Order order) {
    const std::size_t slot = find_slot(id, h);
    Entry* e = entry_at(slot);
    ApplyResult result = ApplyResult::kAbsent;
    if (e != nullptr) {
      if (!(order > order_of(*e))) return ApplyResult::kStale;
      if (!(e->flags & kTombstone)) {
        release_timestamp(*e);
        e->flags = kTombstone;
        live.fetch_sub(1, std::memory_order_relaxed);
        tombstones.fetch_add(1, std::memory_order_relaxed);
        result = ApplyResult::kErased;
      }
    } else {
      e = insert(id, h, slot);  // the free slot the probe above found: no second probe
      if (e == nullptr) return ApplyResult::kRejected;
      e->flags = kTombstone;
      tombstones.fetch_add(1, std::memory_order_relaxed);
    }
    e->saldo = 0;
    e->position = order.position;
    e->record_time = order.time;
    return result;
  }

  // Removes every entry `drop` says so of; returns how many.
  template <class Drop>
  std::size_t remove_if(Drop&& drop) {
    std::size_t removed = 0;
    for (std::size_t i = 0; i < index.size();) {
      const std::uint32_t slot = index[i];
      if (slot != 0 && drop(entry((slot & kEntryMask) - 1))) {
        remove_slot(i);  // shifts a later slot into i: look at i again
        ++removed;
        continue;
      }
      ++i;
    }
    return removed;
  }

  // Forgets the tombstones ordered before `time`: no record still to be read can be older.
  std::size_t purge_tombstones(std::int64_t time) {
    return remove_if([time](const Entry& e) { return (e.flags & kTombstone) && e.record_time < time; });
  }

  // Forgets every entry, customer or delete, whose record is in `partition`.
  std::size_t drop_partition(std::int32_t partition) {
    return remove_if([partition](const Entry& e) { return unpack_position(e.position).partition == partition; });
  }

  void remove_slot(std::size_t i) {
    const std::uint32_t n = (index[i] & kEntryMask) - 1;
    Entry& e = entry(n);
    if (e.flags & kTombstone) {
      tombstones.fetch_sub(1, std::memory_order_relaxed);
    } else {
      live.fetch_sub(1, std::memory_order_relaxed);
    }
    release_heap(e);
    e.id_len = 0;
    e.saldo = free_head;
    free_head = n;
    // Backward-shift delete keeps linear probing free of tombstone slots.
    const std::size_t mask = index.size() - 1;
    for (std::size_t j = (i + 1) & mask; index[j] != 0; j = (j + 1) & mask) {
      const std::size_t home = hash_id(id_of(entry((index[j] & kEntryMask) - 1))) & mask;
      const bool between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (between) continue;
      index[i] = index[j];
      i = j;
    }
    index[i] = 0;
  }
};

struct BalanceStore::Rejections {
  struct Held {
    RejectedRecord record;
    Order order;
  };
  mutable std::shared_mutex mutex;
  std::unordered_map<std::string, Held> by_id;
  std::atomic<std::size_t> count{0};
};

BalanceStore::BalanceStore() : rejections_(std::make_unique<Rejections>()) {
  for (auto& s : shards_) s = std::make_unique<Shard>();
}

void BalanceStore::check_writer() {
  const std::thread::id me = std::this_thread::get_id();
  std::thread::id expected{};
  if (!writer_.compare_exchange_strong(expected, me) && expected != me) {
    throw std::logic_error("BalanceStore: a second writer thread (the store allows one)");
  }
}
BalanceStore::~BalanceStore() = default;

namespace {
bool within_limits(std::int32_t partition, std::int64_t offset) noexcept {
  return partition >= 0 && partition <= BalanceStore::kMaxPartition && offset >= 0 &&
         offset <= BalanceStore::kMaxOffset;
}
std::uint64_t pack_position(std::int32_t partition, std::int64_t offset) noexcept {
  return (static_cast<std::uint64_t>(partition) << kOffsetBits) | static_cast<std::uint64_t>(offset);
}
Order order_of(const StoreEvent& ev) noexcept { return {ev.record_time, pack_position(ev.partition, ev.offset)}; }

void forget_rejection(BalanceStore::Rejections& rejections, std::string_view id, const Order& applied) {
  std::unique_lock lock(rejections.mutex);
  const auto it = rejections.by_id.find(std::string(id));
  if (it == rejections.by_id.end() || it->second.order > applied) return;
  rejections.by_id.erase(it);
  rejections.count.store(rejections.by_id.size(), std::memory_order_relaxed);
}

}  // namespace

ApplyResult BalanceStore::set(std::string_view id, Centavos saldo, std::string_view timestamp,
                              std::int32_t partition, std::int64_t offset, std::int64_t record_time) {
  StoreEvent ev{StoreEvent::Kind::kSet, id, saldo, timestamp, partition, offset, record_time};
  ApplyResult r;
  apply({&ev, 1}, {&r, 1});
  return r;
}

ApplyResult BalanceStore::erase(std::string_view id, std::int32_t partition, std::int64_t offset,
                                std::int64_t record_time) {
  StoreEvent ev{StoreEvent::Kind::kErase, id, 0, {}, partition, offset, record_time};
  ApplyResult r;
  apply({&ev, 1}, {&r, 1});
  return r;
}

// Visits items [0, n) grouped by shard (order within a shard is kept, and a key never changes shard),
// calling visit(shard, k) with the shard's lock held, taken once per group of up to kMaxGroup items:
// a reader waits at most for that shard's part of it. Prefetches the index slot and the entry a few
// items ahead (16 and 8: the slot must be in before prefetch_entry() reads it, and each miss here is
// a page walk too, bench/notes/2026-12-04-store-apply.md). `hash_of(k)` is item k's hash_id.
template <class HashOf, class Visit>
void BalanceStore::for_each_by_shard(std::size_t count, HashOf&& hash_of, Visit&& visit) {
  constexpr std::size_t kMaxGroup = 4096;
  constexpr std::size_t kSlotAhead = 16, kEntryAhead = 8;
  std::array<std::uint64_t, kMaxGroup> hashes;
  std::array<std::uint16_t, kMaxGroup> order;
  for (std::size_t base = 0; base < count; base += kMaxGroup) {
    const std::size_t n = std::min(kMaxGroup, count - base);
    std::array<std::uint16_t, kShardCount + 1> starts{};
    for (std::size_t k = 0; k < n; ++k) {
      hashes[k] = hash_of(base + k);
      ++starts[shard_of(hashes[k]) + 1];
    }
    for (std::size_t s = 0; s < kShardCount; ++s) starts[s + 1] += starts[s];
    std::array<std::uint16_t, kShardCount> fill;
    std::copy_n(starts.begin(), kShardCount, fill.begin());
    for (std::size_t k = 0; k < n; ++k) order[fill[shard_of(hashes[k])]++] = static_cast<std::uint16_t>(k);

    for (std::size_t s = 0; s < kShardCount; ++s) {
      if (starts[s] == starts[s + 1]) continue;
      Shard& shard = *shards_[s];
      std::unique_lock lock(shard.mutex);
      for (std::size_t o = starts[s]; o < starts[s + 1]; ++o) {
        // Across shard boundaries too (a shard gets ~16 items of a group): this thread is the only
        // writer, so reading another shard's index without its lock races with nobody.
        if (o + kSlotAhead < n) {
          const std::uint64_t h = hashes[order[o + kSlotAhead]];
          shards_[shard_of(h)]->prefetch_slot(h);
        }
        if (o + kEntryAhead < n) {
          const std::uint64_t h = hashes[order[o + kEntryAhead]];
          shards_[shard_of(h)]->prefetch_entry(h);
        }
        const std::size_t k = order[o];
        visit(shard, base + k, hashes[k]);
      }
    }
  }
}

void BalanceStore::apply(std::span<const StoreEvent> events, std::span<ApplyResult> results) {
  check_writer();
  const bool any_rejections = rejections_->count.load(std::memory_order_relaxed) > 0;
  for_each_by_shard(
      events.size(), [&](std::size_t k) { return hash_id(events[k].id); },
      [&](Shard& shard, std::size_t k, std::uint64_t h) {
        const StoreEvent& ev = events[k];
        ApplyResult r;
        if (ev.id.empty() || ev.id.size() > kMaxCustomerIdLength || !within_limits(ev.partition, ev.offset)) {
          r = ApplyResult::kRejected;
        } else if (ev.kind == StoreEvent::Kind::kSet) {
          r = shard.set(ev.id, h, ev.saldo, ev.timestamp, ev.ts_format, ev.ts_bits, order_of(ev));
        } else {
          r = shard.erase(ev.id, h, order_of(ev));
        }
        if (any_rejections && r != ApplyResult::kStale && r != ApplyResult::kRejected) {
          forget_rejection(*rejections_, ev.id, order_of(ev));
        }
        if (!results.empty()) results[k] = r;
      });
}

void BalanceStore::note_rejected(std::string_view id, std::string_view reason, std::int32_t partition,
                                 std::int64_t offset, std::int64_t record_time) {
  check_writer();
  if (id.empty() || id.size() > kMaxCustomerIdLength || !within_limits(partition, offset)) return;
  const Order order{record_time, pack_position(partition, offset)};
  const std::uint64_t h = hash_id(id);
  {
    const Shard& shard = *shards_[shard_of(h)];
    std::shared_lock lock(shard.mutex);
    const Entry* held = shard.find(id, h);
    if (held != nullptr && !(order > order_of(*held))) {
      return;  // older than what is held: it would not have changed the answer
    }
  }
  std::unique_lock lock(rejections_->mutex);
  auto [it, inserted] = rejections_->by_id.try_emplace(std::string(id));
  if (inserted || order > it->second.order) it->second = {{reason, partition, offset}, order};
  rejections_->count.store(rejections_->by_id.size(), std::memory_order_relaxed);
}

std::optional<RejectedRecord> BalanceStore::rejected(std::string_view id) const {
  if (rejections_->count.load(std::memory_order_relaxed) == 0) return std::nullopt;
  std::shared_lock lock(rejections_->mutex);
  const auto it = rejections_->by_id.find(std::string(id));
  if (it == rejections_->by_id.end()) return std::nullopt;
  return it->second.record;
}

void BalanceStore::clear() {
  check_writer();
  for (auto& s : shards_) {
    auto fresh = std::make_unique<Shard>();
    std::unique_lock lock(s->mutex);
    std::swap(s->chunks, fresh->chunks);
    std::swap(s->index, fresh->index);
    std::swap(s->used, fresh->used);
    std::swap(s->free_head, fresh->free_head);
    fresh->live.store(s->live.exchange(0));
    fresh->tombstones.store(s->tombstones.exchange(0));
    fresh->heap_bytes.store(s->heap_bytes.exchange(0));
    lock.unlock();
    // `fresh` now holds the old contents and frees them outside the lock.
  }
  std::unique_lock lock(rejections_->mutex);
  rejections_->by_id.clear();
  rejections_->count.store(0);
}

std::size_t BalanceStore::purge_tombstones(std::int64_t older_than) {
  check_writer();
  std::size_t purged = 0;
  for (auto& s : shards_) {
    if (s->tombstones.load(std::memory_order_relaxed) == 0) continue;
    std::unique_lock lock(s->mutex);
    purged += s->purge_tombstones(older_than);
  }
  return purged;
}

std::size_t BalanceStore::drop_partition(std::int32_t partition) {
  check_writer();
  std::size_t dropped = 0;
  for (auto& s : shards_) {
    std::unique_lock lock(s->mutex);
    dropped += s->drop_partition(partition);
  }
  std::unique_lock lock(rejections_->mutex);
  std::erase_if(rejections_->by_id, [&](const auto& kv) { return kv.second.record.partition == partition; });
  rejections_->count.store(rejections_->by_id.size());
  return dropped;
}

std::optional<RecordOrder> BalanceStore::held_order(std::string_view id) const {
  const std::uint64_t h = hash_id(id);
  const Shard& shard = *shards_[shard_of(h)];
  std::shared_lock lock(shard.mutex);
  const Entry* found = shard.find(id, h);
  if (found == nullptr) return std::nullopt;
  const TopicPosition at = unpack_position(found->position);
  return RecordOrder{found->record_time, at.partition, at.offset};
}

std::optional<BalanceSnapshot> BalanceStore::get(std::string_view id) const {
  const std::uint64_t h = hash_id(id);
  const Shard& shard = *shards_[shard_of(h)];
  std::shared_lock lock(shard.mutex);
  const Entry* found = shard.find(id, h);
  if (found == nullptr || (found->flags & kTombstone)) return std::nullopt;
  const Entry& e = *found;
  std::optional<BalanceSnapshot> out(std::in_place);
  out->newer_rejected = rejected(id);
  out->saldo = e.saldo;
  const TopicPosition at = unpack_position(e.position);
  out->partition = at.partition;
  out->offset = at.offset;
  if (e.ts_format != 0) {
    out->timestamp.reserve(32);
    append_timestamp(out->timestamp, PackedTimestamp{e.ts_bits, e.ts_format});
  } else {
    const auto* p = reinterpret_cast<const char*>(static_cast<std::uintptr_t>(e.ts_bits));
    std::uint32_t len;
    std::memcpy(&len, p, sizeof len);
    out->timestamp.assign(p + sizeof len, len);
  }
  return out;
}

std::optional<TopicPosition> BalanceStore::deleted_at(std::string_view id) const {
  const std::uint64_t h = hash_id(id);
  const Shard& shard = *shards_[shard_of(h)];
  std::shared_lock lock(shard.mutex);
  const Entry* e = shard.find(id, h);
  if (e == nullptr || !(e->flags & kTombstone)) return std::nullopt;
  return unpack_position(e->position);
}

std::size_t BalanceStore::size() const noexcept {
  std::size_t n = 0;
  for (const auto& s : shards_) n += s->live.load(std::memory_order_relaxed);
  return n;
}

std::optional<std::size_t> BalanceStore::restore(std::span<const StoredEntry> entries) {
  check_writer();
  std::optional<std::size_t> refused;
  for_each_by_shard(
      entries.size(), [&](std::size_t k) { return hash_id(entries[k].id); },
      [&](Shard& shard, std::size_t k, std::uint64_t h) {
        const StoredEntry& in = entries[k];
        const bool ok = !in.id.empty() && in.id.size() <= kMaxCustomerIdLength &&
                        within_limits(in.partition, in.offset) &&
                        shard.find(in.id, h) == nullptr;  // a snapshot holds each id once
        Entry* e = ok ? shard.insert(in.id, h) : nullptr;
        if (e == nullptr) {
          if (!refused || k < *refused) refused = k;
          return;
        }
        e->position = pack_position(in.partition, in.offset);
        e->record_time = in.record_time;
        if (in.deleted) {
          e->flags = kTombstone;
          e->saldo = 0;
          shard.tombstones.fetch_add(1, std::memory_order_relaxed);
          return;
        }
        e->saldo = in.saldo;
        if (in.ts_format != 0) {
          e->ts_format = in.ts_format;
          e->ts_bits = in.ts_bits;
        } else {
          shard.store_timestamp(*e, in.ts_text);
        }
        shard.live.fetch_add(1, std::memory_order_relaxed);
      });
  return refused;
}

namespace {
// The smallest power-of-two index, at least 64 slots, holding `entries` at a load of at most 3/4.
std::size_t slots_for(std::size_t entries) {
  std::size_t slots = 64;
  while (entries * 4 > slots * 3) slots *= 2;
  return slots;
}
}  // namespace

void BalanceStore::reserve(std::size_t entries) {
  check_writer();
  // Hashing spreads entries unevenly over the shards: room for 1/8 more than the average.
  const std::size_t per_shard = entries / kShardCount + entries / kShardCount / 8 + 16;
  const std::size_t slots = slots_for(per_shard);
  for (auto& s : shards_) {
    std::unique_lock lock(s->mutex);
    if (s->index.size() < slots) s->rehash(slots);
    s->chunks.reserve(per_shard / kChunkSize + 1);
  }
}

void BalanceStore::expect_at_most(std::size_t records) {
  check_writer();
  const std::size_t slots = slots_for(std::min(records, kExpectCap) / kShardCount);
  for (auto& s : shards_) {
    std::unique_lock lock(s->mutex);
    if (s->index.size() < slots) s->rehash(slots);
  }
}

std::size_t BalanceStore::fit() {
  check_writer();
  std::size_t freed = 0;
  for (auto& s : shards_) {
    std::unique_lock lock(s->mutex);
    const std::size_t need = slots_for(s->live.load(std::memory_order_relaxed) +
                                       s->tombstones.load(std::memory_order_relaxed) + 1);
    if (s->index.size() <= need * 4) continue;
    freed += (s->index.size() - need) * sizeof(std::uint32_t);
    s->rehash(need);
  }
  return freed;
}

void BalanceStore::visit_shard(std::size_t s, const std::function<void(const StoredEntry&)>& fn) const {
  const Shard& shard = *shards_[s];
  std::shared_lock lock(shard.mutex);
  for (std::uint32_t i = 0; i < shard.used; ++i) {
    const Entry& e = shard.entry(i);
    if (e.id_len == 0) continue;
    StoredEntry out;
    out.id = id_of(e);
    out.deleted = (e.flags & kTombstone) != 0;
    out.saldo = e.saldo;
    const TopicPosition at = unpack_position(e.position);
    out.partition = at.partition;
    out.offset = at.offset;
    out.record_time = e.record_time;
    if (!out.deleted) {
      out.ts_format = e.ts_format;
      if (e.ts_format != 0) {
        out.ts_bits = e.ts_bits;
      } else {
        const auto* p = reinterpret_cast<const char*>(static_cast<std::uintptr_t>(e.ts_bits));
        std::uint32_t len;
        std::memcpy(&len, p, sizeof len);
        out.ts_text = std::string_view(p + sizeof len, len);
      }
    }
    fn(out);
  }
}

std::size_t BalanceStore::tombstones() const noexcept {
  std::size_t n = 0;
  for (const auto& s : shards_) n += s->tombstones.load(std::memory_order_relaxed);
  return n;
}

std::size_t BalanceStore::memory_bytes() const noexcept {
  std::size_t n = sizeof(*this);
  for (const auto& s : shards_) {
    std::shared_lock lock(s->mutex);
    n += sizeof(Shard) + s->chunks.size() * kChunkSize * sizeof(Entry) +
         s->chunks.capacity() * sizeof(void*) + s->index.capacity() * sizeof(std::uint32_t) +
         s->heap_bytes.load(std::memory_order_relaxed);
  }
  return n;
}

}  // namespace saldo
