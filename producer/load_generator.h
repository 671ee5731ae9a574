#pragma once
// Reproducible load: the same --customers/--updates/--seed give the same ids and amounts in the same
// order, on any machine (a fixed engine, no std distributions, whose output is implementation-defined).
#include <cstdint>
#include <random>
#include <string>

#include "common/money.h"

namespace saldo {

struct LoadSpec {
  std::uint64_t customers = 1000;
  std::uint64_t updates = 1000;  // 0 = unlimited (bounded by --duration)
  std::uint64_t seed = 1;
};

struct GeneratedUpdate {
  std::string cliente_id;
  Centavos saldo = 0;
};

class LoadGenerator {
 public:
  explicit LoadGenerator(const LoadSpec& spec);

  bool done() const { return spec_.updates != 0 && produced_ >= spec_.updates; }
  // The first `customers` updates give every customer a balance (ids "1".."N" in order); later
  // ones pick a customer at random. Amounts: 0.00 to 100000.00, one in twenty negative.
  GeneratedUpdate next();
  std::uint64_t produced() const { return produced_; }

 private:
  LoadSpec spec_;
  std::mt19937_64 rng_;
  std::uint64_t produced_ = 0;
};

}  // namespace saldo
