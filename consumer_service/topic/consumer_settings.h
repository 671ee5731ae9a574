#pragma once
// The librdkafka properties of the service's consumers, in one place: the table reader and the
// PostgreSQL sink start from them, and the dead-letter producer leaves them (and the user's -X
// copies of them) out.
#include <string_view>

#include "common/config.h"

namespace saldo {

// Defaults of the table reader's consumer; they go before the user's -X properties, which win.
const KeyValues& table_consumer_defaults();
// Defaults of the PostgreSQL sink's consumer, also before the user's -X properties.
const KeyValues& sink_consumer_defaults();
// True for a property only a consumer understands (a producer would warn about it).
bool is_consumer_only_property(std::string_view name);

}  // namespace saldo
