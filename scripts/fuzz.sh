#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (+ASan+UBSan) into build/fuzz and runs each one.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]   default 600; scripts/test.sh runs it with a few seconds
# A crash leaves its input in build/fuzz/artifacts/<target>/ and makes the script fail: turn it into a
# unit test, fix it, and add the input to tests/fuzz/corpus/<corpus>/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${1:-600}
dir=build/fuzz
targets=(codec_fuzz money_and_id_fuzz config_fuzz fetch_protocol_fuzz)

CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSALDO_WERROR=ON -DSALDO_FUZZ=ON \
  -DSALDO_SANITIZE=address,undefined -DSALDO_BUILD_TESTS=OFF -DSALDO_BUILD_BENCH=OFF >/dev/null
cmake --build "$dir" -j "$(nproc)" --target "${targets[@]}"

status=0
for t in "${targets[@]}"; do
  seeds=tests/fuzz/corpus/${t%_fuzz}
  work=$dir/corpus/$t
  artifacts=$dir/artifacts/$t
  mkdir -p "$work" "$artifacts"
  echo "fuzz: $t for ${seconds}s (seeds: $seeds)"
  if ! "$dir/tests/fuzz/$t" -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
       -print_final_stats=1 -artifact_prefix="$artifacts/" "$work" "$seeds" 2>"$dir/$t.log"; then
    echo "fuzz: $t FAILED, see $dir/$t.log and $artifacts/" >&2
    tail -n 40 "$dir/$t.log" >&2
    status=1
  fi
  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$dir/$t.log" | sed "s/^/fuzz: $t /"
done
exit $status
