# Sourced by scripts/start.sh and scripts/stop.sh: the demo's settings, read once in one place.
#
# Precedence, as for the binaries: environment > .env (ENV_FILE, default <repo>/.env) > defaults.
# Settings of the scripts themselves (environment only):
#   SALDO_KAFKA          auto | docker | local | external   (default auto: docker when a Docker engine
#                        answers and BOOTSTRAP_SERVERS is local; external when it names another host;
#                        otherwise a local broker from scripts/kafka-local.sh)
#   SALDO_RUN_DIR        pid files, logs and state of the demo        (default <repo>/run)
#   SALDO_BIN_DIR        prebuilt binaries (<dir>/producer/producer …) (default: scripts/build.sh)
#   KAFKA_PORT, KAFKA_DATA_DIR, KAFKA_HEAP   the local broker (see scripts/kafka-local.sh)
#   SALDO_READY_TIMEOUT  seconds to wait for the service's /ready      (default 120)

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Exports NAME=value lines of a .env file for names the environment does not set (an empty variable
# counts as unset, as in the binaries). Same syntax as the binaries: comments, "export ", quotes.
load_dotenv() {
  local file=$1 line key value
  [ -f "$file" ] || return 0
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line%$'\r'}
    line=${line#"${line%%[![:space:]]*}"}
    [[ -z $line || $line == \#* ]] && continue
    line=${line#export }
    [[ $line == *=* ]] || continue
    key=${line%%=*}; key=${key%"${key##*[![:space:]]}"}
    value=${line#*=}; value=${value#"${value%%[![:space:]]*}"}; value=${value%"${value##*[![:space:]]}"}
    if [[ ${#value} -ge 2 && ( ($value == \"*\") || ($value == \'*\') ) ]]; then
      value=${value:1:${#value}-2}
    fi
    [[ $key =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || continue
    if [ -z "${!key:-}" ]; then export "$key=$value"; fi
  done < "$file"
}

load_dotenv "${ENV_FILE:-$root/.env}"
export BOOTSTRAP_SERVERS=${BOOTSTRAP_SERVERS:-localhost:9092}
export TOPIC=${TOPIC:-contas}
export GROUP=${GROUP:-consulta-saldo}
export HTTP_HOST=${HTTP_HOST:-127.0.0.1}
export HTTP_PORT=${HTTP_PORT:-5000}
export LOG_LEVEL=${LOG_LEVEL:-info}
export LOG_FORMAT=${LOG_FORMAT:-text}

run_dir=${SALDO_RUN_DIR:-$root/run}
state_file=$run_dir/state
service_pidfile=$run_dir/consumer_service.pid
service_log=$run_dir/consumer_service.log

# Where a client on this machine reaches the service (a wildcard listen address means loopback).
case "$HTTP_HOST" in
  0.0.0.0 | :: | "") http_client_host=127.0.0.1 ;;
  *) http_client_host=$HTTP_HOST ;;
esac
http_url="http://$http_client_host:$HTTP_PORT"

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
