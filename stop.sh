#!/usr/bin/env bash
# The original demo's ./stop.sh: the same as scripts/stop.sh (--clean also removes the data).
exec "$(dirname "$0")/scripts/stop.sh" "$@"
