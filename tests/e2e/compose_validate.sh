#!/usr/bin/env bash
# e2e: docker-compose.yml as Docker Compose v2 itself loads it. compose_validate/ is a few lines of Go
# around compose-go (Compose v2's loader): every profile on, the .env next to the file, any error or
# warning fails. A broken copy (a volume used but not declared) must fail too, or the check checks
# nothing. Needs Go (docs/testing.md, "The `e2e` label"); the module and build caches stay out of the repository.
set -euo pipefail

src=${SALDO_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SALDO_BUILD_DIR:-${SALDO_E2E_DEFAULT_BUILD_DIR:?set SALDO_BUILD_DIR to a build tree}}
build=$(cd "$build" && pwd)
fail() { echo "compose_validate: FAIL: $*" >&2; exit 1; }

go=$(command -v go || true)
[ -n "$go" ] || [ ! -x /usr/local/go/bin/go ] || go=/usr/local/go/bin/go
[ -n "$go" ] || fail "Go is not installed (no 'go' in PATH nor /usr/local/go/bin/go): this test needs Go >= 1.24"

export GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false"
export GOMODCACHE=${GOMODCACHE:-${SALDO_CACHE_DIR:-$HOME/.cache/saldo}/go-mod}
export GOCACHE=$build/go-build
bin=$build/compose_validate/compose_validate
echo "compose_validate: building with $("$go" version) (modules in $GOMODCACHE)"
(cd "$src/tests/e2e/compose_validate" && "$go" build -o "$bin" .) || fail "go build failed"

"$bin" "$src/docker-compose.yml" || fail "docker-compose.yml does not load (above)"

work=$(mktemp -d "${TMPDIR:-/tmp}/saldo-compose-validate.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp "$src/.env" "$work/.env"
grep -v '^  saldo-state:$' "$src/docker-compose.yml" > "$work/docker-compose.yml"
! cmp -s "$src/docker-compose.yml" "$work/docker-compose.yml" || fail "the broken copy is not broken: no '  saldo-state:' volume line"
if out=$("$bin" "$work/docker-compose.yml" 2>&1); then fail "a compose file using an undeclared volume loaded"; fi
grep -q "undefined volume saldo-state" <<<"$out" || fail "the broken copy failed for another reason: $out"
echo "compose_validate: ok: a compose file using an undeclared volume is refused"
