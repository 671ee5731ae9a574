#!/usr/bin/env bash
# A real PostgreSQL 15 (Debian's postgresql-15) on 127.0.0.1, for tests and the demo, the way
# kafka-local.sh runs Kafka. The cluster belongs to an unprivileged user (PostgreSQL refuses root):
# the calling user, or PG_USER (default postgres) when called as root.
#
#   scripts/postgres-local.sh start|stop|kill|status|url|datadir
#   scripts/postgres-local.sh psql [psql args]    psql on the database as its role (no password: the socket)
#
# Settings (environment):
#   PG_PORT       port on 127.0.0.1                          (default 5432)
#   PG_DATA_DIR   cluster, socket, pid and log               (default ~/.cache/saldo/postgres-<port>;
#                 as root /var/tmp/saldo-postgres-<port>, where the cluster's owner can reach it)
#   PG_DATABASE   database created for saldo                 (default saldo)
#   PG_ROLE       role that owns it (CREATEDB, CREATEROLE)   (default saldo)
#   PG_PASSWORD   that role's password                       (default saldo)
#
# Connections over TCP need the password (scram-sha-256); only the owner's Unix socket in
# PG_DATA_DIR is trusted. `url` prints postgresql://ROLE:PASSWORD@127.0.0.1:PORT/DATABASE.
set -euo pipefail

bin=${PG_BIN_DIR:-/usr/lib/postgresql/15/bin}
port=${PG_PORT:-5432}
if [ "$(id -u)" -eq 0 ]; then
  data=${PG_DATA_DIR:-/var/tmp/saldo-postgres-$port}
else
  data=${PG_DATA_DIR:-${SALDO_CACHE_DIR:-$HOME/.cache/saldo}/postgres-$port}
fi
database=${PG_DATABASE:-saldo}
role=${PG_ROLE:-saldo}
password=${PG_PASSWORD:-saldo}
cluster=$data/cluster
logfile=$data/postgres.log

say() { echo "postgres-local: $*"; }
die() { echo "postgres-local: $*" >&2; exit 1; }

[ -x "$bin/pg_ctl" ] || die "PostgreSQL 15 is not installed ($bin/pg_ctl): run scripts/install-deps.sh"

if [ "$(id -u)" -eq 0 ]; then
  owner=${PG_USER:-postgres}
  id "$owner" >/dev/null 2>&1 || die "user '$owner' does not exist (set PG_USER to an unprivileged user)"
  as_owner() { runuser -u "$owner" -- "$@"; }
else
  owner=$(id -un)
  as_owner() { "$@"; }
fi

pgctl() { as_owner "$bin/pg_ctl" -D "$cluster" "$@"; }
# psql as the cluster's owner over its private socket (trusted), on database $1.
admin_psql() { local db=$1; shift; as_owner psql -X -q -v ON_ERROR_STOP=1 -h "$data" -p "$port" -d "$db" "$@"; }

running() { [ -f "$cluster/postmaster.pid" ] && pgctl status >/dev/null 2>&1; }

init_cluster() {
  mkdir -p "$data"
  chown "$owner" "$data"
  chmod 700 "$data"
  say "creating a cluster in $cluster (owner $owner)"
  as_owner "$bin/initdb" -D "$cluster" -U "$owner" --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C.UTF-8 >"$data/initdb.log" 2>&1 || { cat "$data/initdb.log" >&2; die "initdb failed"; }
  cat >>"$cluster/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$data'
max_connections = 100
CONF
}

start() {
  if running; then say "already running on 127.0.0.1:$port (data in $data)"; return 0; fi
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "something else already listens on 127.0.0.1:$port; set PG_PORT or stop it"
  fi
  [ -f "$cluster/PG_VERSION" ] || init_cluster
  touch "$logfile"; chown "$owner" "$logfile"
  say "starting PostgreSQL 15 on 127.0.0.1:$port, data in $data"
  pgctl -l "$logfile" -w -t 60 start >/dev/null || { tail -n 20 "$logfile" >&2; die "start failed; log: $logfile"; }
  # The role and database saldo uses (idempotent: a restart keeps them).
  admin_psql postgres -v role="$role" -v password="$password" -v db="$database" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN CREATEDB CREATEROLE PASSWORD %L', :'role', :'password')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'role', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL
  say "ready on 127.0.0.1:$port (database $database, role $role)"
}

stop() {
  if ! running; then say "not running"; return 0; fi
  pgctl -m fast -w -t 60 stop >/dev/null
  say "stopped"
}

# kill -9 of the server (the postmaster and every process it started): a crash, with crash
# recovery at the next start.
kill_now() {
  if ! running; then say "not running"; return 0; fi
  local pm children
  pm=$(head -n 1 "$cluster/postmaster.pid")
  children=$(pgrep -P "$pm" || true)
  # shellcheck disable=SC2086
  kill -9 "$pm" $children 2>/dev/null || true
  local deadline=$((SECONDS + 30)) p
  for p in $pm $children; do
    while kill -0 "$p" 2>/dev/null; do
      [ $SECONDS -lt $deadline ] || die "process $p survived kill -9"
      sleep 0.1
    done
  done
  say "killed (kill -9 of pid $pm and its $(wc -w <<<"$children") children)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  kill) kill_now ;;
  status) if running; then say "running on 127.0.0.1:$port (data in $data)"; else say "not running"; exit 3; fi ;;
  datadir) echo "$data" ;;
  url) echo "postgresql://$role:$password@127.0.0.1:$port/$database" ;;
  psql) shift; running || die "not running (scripts/postgres-local.sh start)"
        exec psql -X -h "$data" -p "$port" -U "$role" -d "$database" "$@" ;;
  *) echo "usage: $0 start|stop|kill|status|url|psql [args]" >&2; exit 2 ;;
esac
