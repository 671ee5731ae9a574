#pragma once
// The option tables binaries share (option_spec.h): those every binary has (--help, --print-config,
// --env-file), and Kafka's, HTTP's and logging's, which ConfigLoader::add_*_options() declare.
#include <vector>

#include "common/option_spec.h"

namespace saldo {

const std::vector<OptionSpec>& builtin_option_specs();
const std::vector<OptionSpec>& kafka_option_specs();
const std::vector<OptionSpec>& http_option_specs();
const std::vector<OptionSpec>& log_option_specs();

}  // namespace saldo
