#pragma once
// spdlog setup shared by every binary: stderr, text by default, JSON lines with LOG_FORMAT=json.
#include <string_view>

#include "common/config.h"

namespace saldo {

// Installs the default spdlog logger (name = program) writing to stderr at options.level.
// Call once at start, after the configuration was parsed (options are already validated).
void setup_logging(const LogOptions& options, std::string_view program);

}  // namespace saldo
