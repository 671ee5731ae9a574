#pragma once
// A set of 64-bit key hashes in one flat array (open addressing, linear probing): the first load's
// "keys written so far", a million customers as 16 MB in one allocation where a node set made a
// million allocations and was 16 % of the sink's CPU. Pure.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace saldo {

// The home slot of a 64-bit hash in a power-of-two table of `mask + 1` slots: Fibonacci hashing, the
// high bits of the product, so hashes that differ only high up still spread. For the flat tables here
// and SinkBatch's index (postgres_batch.cpp).
inline std::size_t home_slot(std::uint64_t hash, std::size_t mask) noexcept {
  return static_cast<std::size_t>((hash * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

class KeyHashSet {
 public:
  // True when `hash` was not in the set (it is now). Hashes 0 and 1 count as one (0 marks a free slot).
  bool insert(std::uint64_t hash);
  bool contains(std::uint64_t hash) const;
  std::size_t size() const noexcept { return size_; }
  // Empties the set and gives its memory back.
  void clear();

 private:
  static std::uint64_t stored(std::uint64_t hash) noexcept { return hash == 0 ? 1 : hash; }
  std::size_t home(std::uint64_t h) const noexcept;
  void grow();

  std::vector<std::uint64_t> slots_;  // a power of two, at most half full; 0: free
  std::size_t size_ = 0;
};

}  // namespace saldo
