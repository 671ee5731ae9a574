#pragma once
// --timeout of both producers: seconds to wait for the broker and for the acknowledgements.
#include <chrono>

#include "common/config.h"

namespace saldo {

void add_timeout_option(ConfigLoader& loader, const char* help);
// The option's value, in (0, 3600] seconds; throws ConfigError otherwise.
std::chrono::milliseconds timeout_option(const po::variables_map& vm);

}  // namespace saldo
