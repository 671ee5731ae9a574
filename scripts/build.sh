#!/usr/bin/env bash
# Builds saldo's binaries (no tests, no benchmarks) into build/release; quick when nothing changed.
#   scripts/build.sh            prints the binary directory on its last line
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${SALDO_BUILD_DIR:-$root/build/release}
"$root/scripts/install-deps.sh" --demo >&2
cmake -S "$root" -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSALDO_WERROR=ON -DSALDO_BUILD_TESTS=OFF -DSALDO_BUILD_BENCH=OFF >/dev/null
cmake --build "$dir" -j "$(nproc)" >&2
echo "$dir"
