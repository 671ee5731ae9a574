#include "consumer_service/postgres/key_hash_set.h"

#include <utility>

namespace saldo {

std::size_t KeyHashSet::home(std::uint64_t h) const noexcept { return home_slot(h, slots_.size() - 1); }

bool KeyHashSet::insert(std::uint64_t hash) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  const std::uint64_t h = stored(hash);
  for (std::size_t i = home(h);; i = (i + 1) & (slots_.size() - 1)) {
    if (slots_[i] == h) return false;
    if (slots_[i] == 0) {
      slots_[i] = h;
      ++size_;
      return true;
    }
  }
}

bool KeyHashSet::contains(std::uint64_t hash) const {
  if (slots_.empty()) return false;
  const std::uint64_t h = stored(hash);
  for (std::size_t i = home(h);; i = (i + 1) & (slots_.size() - 1)) {
    if (slots_[i] == h) return true;
    if (slots_[i] == 0) return false;
  }
}

void KeyHashSet::grow() {
  std::vector<std::uint64_t> old(slots_.empty() ? 1024 : slots_.size() * 2, 0);
  old.swap(slots_);
  for (const std::uint64_t h : old) {
    if (h == 0) continue;
    std::size_t i = home(h);
    while (slots_[i] != 0) i = (i + 1) & (slots_.size() - 1);
    slots_[i] = h;
  }
}

void KeyHashSet::clear() {
  std::vector<std::uint64_t>().swap(slots_);
  size_ = 0;
}

}  // namespace saldo
