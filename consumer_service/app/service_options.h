#pragma once
// consumer_service's options, each declared once (name, NAME, default, range, help, exposure): the
// table --help, the range checks, --print-config and docs/configuration.md are made from.
#include <vector>

#include "common/config.h"

namespace saldo {

// The first paragraph of --help.
extern const char* const kServiceUsage;

// The service's own options; those of Kafka, HTTP and logging are common/config's.
const std::vector<OptionSpec>& service_option_specs();

// Every option of consumer_service, in the order --help and the generated page list them.
void add_service_options(ConfigLoader& loader);

}  // namespace saldo
