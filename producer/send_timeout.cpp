#include "producer/send_timeout.h"

namespace saldo {

void add_timeout_option(ConfigLoader& loader, const char* help) {
  loader.options()("timeout", po::value<double>()->default_value(30)->value_name("SECONDS"), help);
}

std::chrono::milliseconds timeout_option(const po::variables_map& vm) {
  const double seconds = vm["timeout"].as<double>();
  if (!(seconds > 0 && seconds <= 3600)) throw ConfigError("--timeout: must be in (0, 3600] seconds");
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

}  // namespace saldo
