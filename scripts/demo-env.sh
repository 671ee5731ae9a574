# Sourced by scripts/start.sh and scripts/stop.sh: the demo's settings, read once in one place.
#
# The saldo settings (BOOTSTRAP_SERVERS, TOPIC, HTTP_PORT, ...) are never parsed here: load_config
# asks consumer_service --print-config, which resolves them as every binary does (command line >
# environment > .env, ENV_FILE default <repo>/.env > defaults), so a .env line means the same thing
# to the scripts as to the binaries.
# Settings of the scripts themselves (environment only):
#   SALDO_KAFKA          auto | docker | local | external   (default auto: docker when a Docker engine
#                        answers and BOOTSTRAP_SERVERS is local; external when it names another host;
#                        otherwise a local broker from scripts/kafka-local.sh)
#   SALDO_RUN_DIR        pid files, logs and state of the demo        (default <repo>/run)
#   SALDO_BIN_DIR        prebuilt binaries (<dir>/producer/producer …) (default: scripts/build.sh)
#   KAFKA_PORT, KAFKA_DATA_DIR, KAFKA_HEAP   the local broker (see scripts/kafka-local.sh)
#   SALDO_READY_TIMEOUT  seconds to wait for the service's /ready      (default 120)

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# The scripts run the binaries in <repo> (where they look for .env): a relative ENV_FILE is made
# absolute here, so it names the file it named for the caller.
if [ -n "${ENV_FILE:-}" ]; then ENV_FILE=$(realpath -m -- "$ENV_FILE"); export ENV_FILE; fi

# Exports the resolved settings: `command... --print-config` prints shell-quoted NAME='value' lines.
# POSTGRES_URL comes back with its password masked: the service must get the caller's own value, or
# read .env itself, never the mask, so the masked text stays a shell variable (for -n tests), unexported.
load_config() {  # command that runs consumer_service...
  local out callers_postgres_url=${POSTGRES_URL:-}
  out=$(cd "$root" && "$@" --print-config) || return 2  # the binary said why on stderr
  set -a
  eval "$out"
  set +a
  if [ -n "$callers_postgres_url" ]; then
    POSTGRES_URL=$callers_postgres_url
  elif [ -n "${POSTGRES_URL:-}" ]; then
    export -n POSTGRES_URL
  fi
}

# Where a client on this machine reaches the service (a wildcard listen address means loopback).
http_url_of() {  # host port
  case "$1" in
    0.0.0.0 | :: | "") echo "http://127.0.0.1:$2" ;;
    *) echo "http://$1:$2" ;;
  esac
}

run_dir=${SALDO_RUN_DIR:-$root/run}
state_file=$run_dir/state
service_pidfile=$run_dir/consumer_service.pid
service_log=$run_dir/consumer_service.log

# The pid in a pid file, if that process is alive and runs the given program (a recycled pid must not
# be mistaken for ours).
live_pid() {  # pidfile program-name
  local pidfile=$1 program=$2 pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q "$program" || return 1
  echo "$pid"
}

port_listening() {  # port
  [ -n "$(ss -ltnH "( sport = :$1 )" 2>/dev/null)" ]
}

# Value of NAME in the state file start.sh wrote, or the default.
state_get() {  # name default
  local v=""
  [ -f "$state_file" ] && v=$(sed -n "s/^$1=//p" "$state_file" | tail -n 1)
  echo "${v:-$2}"
}

docker_answers() {
  command -v docker >/dev/null 2>&1 && timeout 5 docker info >/dev/null 2>&1 \
    && docker compose version >/dev/null 2>&1
}
