// The first load's set of keys written (consumer_service/postgres/key_hash_set.h): every hash
// inserted is found, none twice, across its regrowths; clear() empties it.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <unordered_set>

#include "consumer_service/postgres/key_hash_set.h"

namespace saldo {
namespace {

TEST(KeyHashSet, AgreesWithAReferenceSetAcrossRegrowths) {
  KeyHashSet set;
  std::unordered_set<std::uint64_t> reference;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200000; ++i) {
    // Draws from a small range half the time, so repeats are common (not 0 or 1: those two count as one).
    const std::uint64_t h = (i % 2) ? 2 + rng() % 50000 : rng();
    EXPECT_EQ(set.insert(h), reference.insert(h).second) << h;
  }
  EXPECT_EQ(set.size(), reference.size());
  for (const std::uint64_t h : reference) ASSERT_TRUE(set.contains(h)) << h;
  ASSERT_EQ(reference.count(60000), 0u);  // outside the small range, and not drawn with this seed
  EXPECT_FALSE(set.contains(60000));
}

TEST(KeyHashSet, HashesThatDifferOnlyInTheirHighBitsAreKeptApart) {
  KeyHashSet set;
  for (std::uint64_t k = 1; k <= 5000; ++k) EXPECT_TRUE(set.insert(k << 40));
  EXPECT_EQ(set.size(), 5000u);
  for (std::uint64_t k = 1; k <= 5000; ++k) EXPECT_FALSE(set.insert(k << 40));
}

TEST(KeyHashSet, ZeroIsAHashLikeAnyOtherAndClearForgetsEverything) {
  KeyHashSet set;
  EXPECT_TRUE(set.insert(0));
  EXPECT_FALSE(set.insert(0));
  EXPECT_TRUE(set.contains(0));
  set.clear();
  EXPECT_EQ(set.size(), 0u);
  EXPECT_FALSE(set.contains(0));
  EXPECT_TRUE(set.insert(0));
}

}  // namespace
}  // namespace saldo
