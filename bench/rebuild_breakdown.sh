#!/usr/bin/env bash
# Where a cold rebuild's time goes (issue 16): one consumer_service rebuild of a topic that is already
# filled, against a broker that is already running, with CPU time per thread (from /proc at READY)
# and per part of the work (perf record, sampled), each divided by the records replayed.
#
#   bench/rebuild_breakdown.sh BOOTSTRAP TOPIC [consumer_service options...]
#
# Environment: SERVICE (build/bench/consumer_service/consumer_service), HTTP_PORT (19410),
#   BROKER_PID (the broker's JVM, for its CPU time during the rebuild; default: kafka-local.sh's pid
#   file under KAFKA_DATA_DIR), PERF=0 to skip perf (then only the per-thread figures), WAIT_READY
#   (the stopwatch, bench/wait_ready beside SERVICE's build).
# bench/run.sh fills such a topic; by hand: scripts/kafka-local.sh start, then producer --preset fast.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
bootstrap=$1 topic=$2; shift 2
service=${SERVICE:-$root/build/bench/consumer_service/consumer_service}
wait_ready=${WAIT_READY:-$(dirname "$(dirname "$service")")/bench/wait_ready}
[ -x "$wait_ready" ] || { echo "rebuild_breakdown: $wait_ready is not built (cmake --build ... --target wait_ready)" >&2; exit 2; }
port=${HTTP_PORT:-19410}
broker_pid=${BROKER_PID:-$(cat "${KAFKA_DATA_DIR:-/nonexistent}/kafka.pid" 2>/dev/null || true)}
perf_on=${PERF:-1}
work=$(mktemp -d /tmp/saldo-breakdown.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
tck=$(getconf CLK_TCK)

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }  # utime + stime of a process or a thread
jvm0=0; [ -n "$broker_pid" ] && jvm0=$(cpu_ticks "$broker_pid")
t0=$(date +%s.%N)
# Under perf from its start: `perf record -p` would miss the threads started after it attached.
perf_pid=""
[ "$perf_on" = 1 ] && wrapper=(perf record -F 999 -g -o "$work/perf.data" --) || wrapper=()
"${wrapper[@]}" "$service" --bootstrap-servers "$bootstrap" --topic "$topic" --http-host 127.0.0.1 \
  --http-port "$port" --log-level info "$@" >"$work/service.log" 2>&1 &
pid=$!
if [ "$perf_on" = 1 ]; then
  perf_pid=$pid
  for _ in $(seq 1 100); do pid=$(pgrep -P "$perf_pid" | head -1) && [ -n "$pid" ] && break; sleep 0.01; done
fi
# bench/wait_ready polls over one connection: a curl process per poll took up to half a core from
# the rebuild it was timing (bench/notes/2026-12-04-stopwatch.md).
"$wait_ready" --port "$port" --pid "$pid" --timeout 900 || { cat "$work/service.log" >&2; exit 1; }
t1=$(date +%s.%N)
jvm1=0; [ -n "$broker_pid" ] && jvm1=$(cpu_ticks "$broker_pid")
# Per thread: comm, CPU ticks, and from schedstat the ns spent runnable but waiting for a core.
threads=$(for t in /proc/"$pid"/task/*; do
  echo "$(tr ' ' '_' <"$t/comm") $(cpu_ticks "$pid/task/${t##*/}") $(awk '{ print $2 }' "$t/schedstat")"; done)
# The process's own count includes threads that ended before READY (saldo-fetch, the direct catch-up).
process_ticks=$(cpu_ticks "$pid")
peak=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status")
kill "$pid"; wait "$pid" 2>/dev/null || true
[ -z "$perf_pid" ] || wait "$perf_pid" 2>/dev/null || true  # perf writes its data once the service exited
records=$(grep -o 'READY: [0-9]* records' "$work/service.log" | grep -o '[0-9]*' | head -1)
wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')

echo "rebuild of $records records: ${wall} s wall ($(awk -v r="$records" -v w="$wall" 'BEGIN { printf "%.0f", w * 1e9 / r }') ns/record), peak RSS $((peak / 1024)) MB, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
# A thread's wall time is its CPU time, its time runnable but without a core (the machine's other
# work, or the broker's JVM and librdkafka's thread on the 2 cores), and its time asleep (for the
# reader: waiting for librdkafka to queue messages).
echo "| thread | CPU s | ns/record CPU | ns/record runnable, no core | ns/record asleep | CPU share of wall |"
echo "|---|---|---|---|---|---|"
# The service's busiest thread is the table reader (its threads are not named); the rest are summed.
echo "$threads" | sort -k2 -gr | awk -v tck="$tck" -v r="$records" -v w="$wall" '
  { c = $1; if (c !~ /^rdk:/ && c !~ /^saldo-/) c = "other service threads (main, HTTP)"
    cpu[c] += $2 / tck; rq[c] += $3 / 1e9; n[c]++ }
  END { for (c in cpu) if (cpu[c] > 0.005) printf "| %s | %.2f | %.0f | %.0f | %s | %.0f %% |\n", c, cpu[c], cpu[c] * 1e9 / r,
          rq[c] * 1e9 / r, n[c] == 1 ? sprintf("%.0f", (w - cpu[c] - rq[c]) * 1e9 / r) : "—", 100 * cpu[c] / w }' | sort -t'|' -k4 -gr
echo "$threads" | awk -v p="$process_ticks" -v tck="$tck" -v r="$records" -v w="$wall" '{ live += $2 }
  END { c = (p - live) / tck; if (c > 0.005) printf "| threads ended before READY (saldo-fetch, when the direct catch-up ran) | %.2f | %.0f | | | %.0f %% |\n", c, c * 1e9 / r, 100 * c / w }'
[ -n "$broker_pid" ] && awk -v a="$jvm0" -v b="$jvm1" -v tck="$tck" -v r="$records" -v w="$wall" \
  'BEGIN { c = (b - a) / tck; printf "| broker JVM (all its threads) | %.2f | %.0f | | | %.0f %% |\n", c, c * 1e9 / r, 100 * c / w }'
[ "$perf_on" = 1 ] || exit 0

# perf's samples of the service, by thread and part of the work. ns/record = the part's share of all
# samples times the service's CPU time, per record.
cpu_total=$(echo "$threads" | awk -v tck="$tck" '{ s += $2 } END { printf "%.3f", s / tck }')
echo
echo "| thread: part (perf, $(perf report -i "$work/perf.data" --stdio 2>/dev/null | grep -m1 '^# Samples:' | awk '{ print $3 }')) | share of the service's samples | ns/record |"
echo "|---|---|---|"
perf report -i "$work/perf.data" --no-children --sort comm,dso,sym --stdio -g none 2>/dev/null | grep '%' | grep -v '^#' |
  awk -v cpu="$cpu_total" -v r="$records" '
  {
    pct = $1; sub("%", "", pct); comm = $2; dso = $3; sym = ""; for (i = 5; i <= NF; i++) sym = sym " " $i
    who = comm ~ /^rdk:broker/ ? "librdkafka broker thread" : (comm ~ /^rdk:/ ? "librdkafka other" : (comm ~ /^saldo-/ ? comm " thread" : "other service threads"))
    if (dso ~ /lz4|zstd|libz|snappy/) part = "decompression (" dso ")"
    else if (dso ~ /kernel/) part = "kernel (syscalls, page faults, scheduling)"
    else if (sym ~ /BalanceStore/) part = "store insert (BalanceStore)"
    else if (sym ~ /decode|Reader::|parse_|pack_timestamp|is_valid_customer_id|murmur2|utf8|json/) part = "decode (codec, id, timestamp, partition check)"
    else if (dso ~ /librdkafka/) part = "librdkafka (messages, queues)"
    else if (sym ~ /malloc|free|calloc|realloc|_int_/) part = "malloc/free"
    else if (sym ~ /mutex|cond|futex/) part = "locks (libc)"
    else if (dso ~ /libc/) part = "libc other (memcpy, memset)"
    else part = "other (" dso ")"
    s[who ": " part] += pct
  }
  END { for (k in s) if (s[k] >= 0.1) printf "| %s | %.1f %% | %.0f |\n", k, s[k], s[k] / 100 * cpu * 1e9 / r }' | sort -t'|' -k3 -gr
