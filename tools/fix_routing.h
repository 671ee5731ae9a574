#pragma once
// saldo_admin fix-routing: reads the whole topic, prints which customers have records off their
// murmur2 partition, and (with --apply) writes the repair that routing_plan.h decides.
#include <chrono>
#include <ostream>

#include "common/config.h"

namespace saldo {

// Returns the exit code: 0 when nothing needed repair or the repair was written, 1 when a dry run
// found customers to repair (so scripts can tell), and throws KafkaException on a Kafka failure.
int fix_routing(const KafkaOptions& kafka, bool apply, std::chrono::seconds timeout, std::ostream& out);

}  // namespace saldo
