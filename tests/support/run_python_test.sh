#!/usr/bin/env bash
# Runs a Python test with the venv scripts/test.sh made (SALDO_TEST_PYTHON). Fails, never skips,
# when it is missing: those tests need their second Kafka client.
set -euo pipefail
if [ -z "${SALDO_TEST_PYTHON:-}" ] || [ ! -x "$SALDO_TEST_PYTHON" ]; then
  echo "SALDO_TEST_PYTHON is not set to the test venv's python: run the tests through scripts/test.sh" >&2
  exit 1
fi
exec "$SALDO_TEST_PYTHON" "$@"
