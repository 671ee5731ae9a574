# Sourced by the e2e shell tests.
# free_port N: the first loopback port from N on that is free together with the next one (a broker
# needs a second port for its controller). Fails after 100 tries.
free_port() {
  local p=$1
  while [ -n "$(ss -ltnH "( sport = :$p or sport = :$((p + 1)) )")" ]; do
    p=$((p + 2)); [ "$p" -lt $(($1 + 200)) ] || { echo "no free port near $1" >&2; return 1; }
  done
  echo "$p"
}
