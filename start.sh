#!/usr/bin/env bash
# The original demo's ./start.sh: the same as scripts/start.sh.
exec "$(dirname "$0")/scripts/start.sh" "$@"
