#include "producer/load_generator.h"

namespace saldo {

LoadGenerator::LoadGenerator(const LoadSpec& spec) : spec_(spec), rng_(spec.seed) {
  if (spec_.customers == 0) spec_.customers = 1;
}

GeneratedUpdate LoadGenerator::next() {
  std::uint64_t customer = produced_ < spec_.customers ? produced_ : rng_() % spec_.customers;
  std::uint64_t r = rng_();
  Centavos amount = static_cast<Centavos>(r % 10'000'001);
  if ((r >> 32) % 20 == 0) amount = -amount;
  ++produced_;
  return {std::to_string(customer + 1), amount};
}

}  // namespace saldo
