#!/usr/bin/env bash
# Creates the compacted balance topic (cleanup.policy=compact, 3 partitions unless told otherwise).
# Idempotent: when the topic exists it reports its partitions and policy, and fails if not compacted.
# Works against any broker (local or Docker): it uses saldo_admin (librdkafka), no Java.
#
#   scripts/create_topic.sh [--partitions N] [--topic T] [--bootstrap-servers H:P] [-X key=value ...]
# TOPIC and BOOTSTRAP_SERVERS come from the environment or .env when not given.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${SALDO_BIN_DIR:-$root/build/release}
if [ ! -x "$bin/tools/saldo_admin" ]; then
  bin=$("$root/scripts/build.sh" | tail -n 1)
fi
cd "$root"   # so the project's .env is found
exec "$bin/tools/saldo_admin" create-topic "$@"
