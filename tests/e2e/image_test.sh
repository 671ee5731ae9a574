#!/usr/bin/env bash
# e2e: the Dockerfile built and run for real, with podman (no Docker engine and no image registry
# here). The Debian base images are made locally once (scripts/podman-base-images.sh); the image is
# built from a copy of the source tree that holds planted secrets (.env and others), then:
# no secret and no configuration in the image; topic-init's saldo_admin, the producer and the
# service run against the test broker; /saldo/<id> answers; the health check passes; the process
# runs as an unprivileged user with a named group, in an empty working directory; SIGTERM stops it
# within 2 s with exit 0; with the state directory on a named volume, as compose mounts it, the
# unprivileged service writes its snapshot at SIGTERM and the next container starts warm from it.
set -euo pipefail

src=${SALDO_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
work=$(mktemp -d "${TMPDIR:-/tmp}/saldo-e2e-image.XXXXXX")
ctr=saldo-e2e-image-$$
state_ctr=$ctr-state
state_vol=saldo-e2e-state-$$
# One tag per source tree: two trees tested at once on one machine never run each other's image.
tag=localhost/saldo:e2e-$(printf '%s' "$src" | md5sum | cut -c1-8)
max_mb=${SALDO_IMAGE_MAX_MB:-130}

fail() { echo "image_test: FAIL: $*" >&2; exit 1; }
ok() { echo "image_test: ok: $*"; }

. "$(dirname "$0")/free_port.sh"

finish() {
  local rc=$?
  trap - EXIT
  if [ $rc -ne 0 ] && podman container exists "$ctr" 2>/dev/null; then
    echo "---- podman logs $ctr (last 40 lines)"; podman logs "$ctr" 2>&1 | tail -n 40
  fi
  if [ $rc -ne 0 ] && podman container exists "$state_ctr" 2>/dev/null; then
    echo "---- podman logs $state_ctr (last 40 lines)"; podman logs "$state_ctr" 2>&1 | tail -n 40
  fi
  podman rm -f -t 0 "$ctr" >/dev/null 2>&1 || true
  podman rm -f -t 0 "$state_ctr" >/dev/null 2>&1 || true
  podman volume rm -f "$state_vol" >/dev/null 2>&1 || true
  rm -rf "$work"
  exit $rc
}
trap finish EXIT

command -v podman >/dev/null || fail "podman is missing (scripts/install-deps.sh installs it)"
command -v curl >/dev/null || fail "curl is missing (scripts/install-deps.sh installs it)"
bootstrap=${SALDO_TEST_BOOTSTRAP_SERVERS:?the test broker (scripts/test.sh exports SALDO_TEST_BOOTSTRAP_SERVERS)}
export CONTAINERS_CONF=$src/scripts/podman/containers.conf

# 1. The base images, made from Debian's archive once and cached.
t=$SECONDS
"$src/scripts/podman-base-images.sh" || fail "could not make the Debian base images"
ok "base images debian:12 and debian:12-slim ready ($((SECONDS - t))s)"

# 2. Build from a copy of the tree with secrets planted where a careless Dockerfile or
#    .dockerignore would pick them up. The layer cache keys on content, so the copy costs no rebuild.
canary=saldo-canary-$(od -An -N8 -tx8 /dev/urandom | tr -d ' ')
ctx=$work/context
mkdir -p "$ctx"
if git -C "$src" rev-parse --git-dir >/dev/null 2>&1; then
  git -C "$src" ls-files -z --cached --others --exclude-standard \
    | tar -C "$src" --null --ignore-failed-read -T - -cf - | tar -C "$ctx" -xf - || fail "could not copy $src"
else
  tar -C "$src" --exclude='./build*' --exclude=./.git --exclude=node_modules -cf - . \
    | tar -C "$ctx" -xf - || fail "could not copy $src"
fi
printf 'BOOTSTRAP_SERVERS=%s.example:9092\nKAFKA_SASL_PASSWORD=%s\n' "$canary" "$canary" > "$ctx/.env"
printf 'POSTGRES_URL=postgresql://saldo:%s@db/saldo\n' "$canary" > "$ctx/.env.production"
mkdir -p "$ctx/run" "$ctx/build-local"
echo "$canary" > "$ctx/run/token"
echo "$canary" > "$ctx/build-local/secret.txt"

old_image=$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)
t=$SECONDS
podman build --network host --format docker --pull=never -t "$tag" "$ctx" > "$work/build.log" 2>&1 \
  || { tail -n 40 "$work/build.log"; fail "podman build failed"; }
# The image this tag named before (and its untagged parents) would otherwise pile up, run after run.
if [ -n "$old_image" ] && [ "$old_image" != "$(podman image inspect --format '{{.Id}}' "$tag")" ]; then
  podman rmi "$old_image" > /dev/null 2>&1 || true
fi
size=$(podman image inspect --format '{{.Size}}' "$tag")
size_mb=$((size / 1000000))
ok "image $tag built in $((SECONDS - t))s, $size_mb MB"
[ "$size_mb" -le "$max_mb" ] || fail "the image is $size_mb MB, more than $max_mb MB: what did the runtime stage gain?"

# 3. Nothing baked in: the image's config, its history, and every byte of its layers.
podman image inspect "$tag" > "$work/inspect.json"
/usr/bin/python3 - "$work/inspect.json" <<'EOF' || fail "the image's config: see above"
import json, sys
image = json.load(open(sys.argv[1]))[0]
c = image["Config"]
problems = []
names = {e.split("=", 1)[0] for e in c.get("Env") or []}
if names != {"PATH", "HTTP_HOST", "HTTP_PORT"}:
    problems.append(f"environment names {sorted(names)}: only PATH, HTTP_HOST and HTTP_PORT belong in the image")
if c.get("User") != "10001:10001":
    problems.append(f"User is {c.get('User')!r}, expected 10001:10001")
if c.get("WorkingDir") != "/app":
    problems.append(f"WorkingDir is {c.get('WorkingDir')!r}")
if c.get("StopSignal") not in (None, "", "SIGTERM", "15"):
    problems.append(f"StopSignal is {c.get('StopSignal')!r}, the service stops cleanly on SIGTERM")
if "curl" not in " ".join((image.get("Healthcheck") or {}).get("Test") or []):
    problems.append("no HEALTHCHECK in the image (built without --format docker?)")
labels = {k: v for k, v in (c.get("Labels") or {}).items() if not k.startswith("io.buildah.")}
if labels:
    problems.append(f"labels {labels}")
for p in problems:
    print("image config:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
podman history --no-trunc --format '{{.CreatedBy}}' "$tag" > "$work/history.txt"
if grep -inE "$canary|password|secret|token|\.env|BOOTSTRAP_SERVERS|POSTGRES_URL|ARG " "$work/history.txt"; then
  fail "podman history shows configuration or a secret (lines above)"
fi
podman save --quiet --format docker-archive -o "$work/image.tar" "$tag" > /dev/null
mkdir "$work/layers"
tar -C "$work/layers" -xf "$work/image.tar"
for layer in "$work"/layers/*/layer.tar "$work"/layers/*.tar; do
  [ -f "$layer" ] || continue
  tar -tf "$layer" | grep -E '(^|/)\.env' && fail "a layer of the image holds a .env file (above)"
done
grep -rqa "$canary" "$work/layers" && fail "a secret planted in the build context ended up in the image"
rm -rf "$work/layers" "$work/image.tar"
ok "no configuration or secret in the image's config, history or layers"

# 4. Against the test broker, as compose runs it: topic-init, producer, service.
topic=image-e2e-$$-$RANDOM
http_port=$(free_port "${SALDO_E2E_PORT_BASE:-15592}")
url=http://127.0.0.1:$http_port
# --network host shares the host's interfaces: the service listens on loopback only here.
run_env=(--network host -e BOOTSTRAP_SERVERS="$bootstrap" -e TOPIC="$topic")
podman run --rm "${run_env[@]}" "$tag" saldo_admin create-topic --partitions 3 --timeout 60 > "$work/topic.out" 2>&1 \
  || { cat "$work/topic.out"; fail "the image's saldo_admin create-topic failed"; }
podman run --rm "${run_env[@]}" "$tag" producer > "$work/producer.out" 2>&1 \
  || { cat "$work/producer.out"; fail "the image's producer failed"; }
ok "the image's saldo_admin created topic $topic and its producer sent the samples"

# Without systemd podman cannot put the health check on a timer and says so on stderr (kept out of
# the way); podman healthcheck run below runs it.
podman run -d --name "$ctr" "${run_env[@]}" -e HTTP_HOST=127.0.0.1 -e HTTP_PORT="$http_port" "$tag" \
  > /dev/null 2> "$work/run.err" || { cat "$work/run.err"; fail "podman run of the service failed"; }
body=
deadline=$((SECONDS + 60))
until body=$(curl -fsS -m 3 "$url/saldo/1" 2>/dev/null) && [ -n "$body" ]; do
  [ "$(podman inspect --format '{{.State.Running}}' "$ctr")" = true ] || fail "the service's container exited"
  [ $SECONDS -lt $deadline ] || fail "GET /saldo/1 did not answer 200 within 60 s"
  sleep 0.2
done
saldo=$(/usr/bin/python3 -c 'import json, sys; from decimal import Decimal; print(json.loads(sys.argv[1], parse_float=Decimal)["saldo"])' "$body")
[ "$saldo" = 150.00 ] || fail "GET /saldo/1 gave $body, expected the sample 150.00"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$url/saldo/nao-existe")" = 404 ] || fail "an unknown id is not 404"
ok "the container answers GET /saldo/1: $body"

podman healthcheck run "$ctr" > "$work/health.out" 2>&1 || { cat "$work/health.out"; fail "podman healthcheck run: unhealthy"; }
ok "the image's HEALTHCHECK passes"

# 5. Who and where the service runs.
read -r user group command <<<"$(podman top "$ctr" user group args | awk 'NR == 2')"
[ "$command" = consumer_service ] || fail "the container's first process is $command, not consumer_service"
[ "$user" = saldo ] && [ "$group" = saldo ] || fail "the service runs as $user:$group, expected saldo:saldo"
ids=$(podman exec "$ctr" id)
[ "$ids" = "uid=10001(saldo) gid=10001(saldo) groups=10001(saldo)" ] || fail "id in the container: $ids"
cwd=$(podman exec "$ctr" readlink /proc/1/cwd)
listing=$(podman exec "$ctr" ls -A "$cwd")
[ -z "$listing" ] || fail "the service's working directory $cwd is not empty: $listing"
dotenvs=$(podman exec --user 0 "$ctr" find / -xdev -name '.env*')
[ -z "$dotenvs" ] || fail "the container holds .env files: $dotenvs"
ok "the service runs as $ids, in the empty directory $cwd, with no .env anywhere"

# 6. SIGTERM (podman stop sends it, then SIGKILL after 2 s, which would exit 137).
t0=$(date +%s%N)
podman stop --time 2 "$ctr" > /dev/null 2> "$work/stop.err" || { cat "$work/stop.err"; fail "podman stop failed"; }
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
code=$(podman inspect --format '{{.State.ExitCode}}' "$ctr")
[ "$code" = 0 ] || fail "after SIGTERM the service exited with $code (137: still running after 2 s)"
ok "SIGTERM stopped the service with exit 0 (podman stop took $elapsed_ms ms)"

# 7. The state directory as compose mounts it (STATE_DIR=/var/lib/saldo on a named volume): a new
#    volume starts as a copy of the image's directory, owner included, so the unprivileged service can
#    write its snapshot there at SIGTERM, and the next container on that volume starts warm.
podman volume create "$state_vol" > /dev/null || fail "podman volume create failed"
for round in 1 2; do
  podman run -d --name "$state_ctr" "${run_env[@]}" -e HTTP_HOST=127.0.0.1 -e HTTP_PORT="$http_port" \
    -e STATE_DIR=/var/lib/saldo -v "$state_vol:/var/lib/saldo" "$tag" > /dev/null 2> "$work/run.err" \
    || { cat "$work/run.err"; fail "podman run of the service with a state volume failed"; }
  deadline=$((SECONDS + 60))
  until ready=$(curl -fsS -m 3 "$url/ready" 2>/dev/null); do
    [ "$(podman inspect --format '{{.State.Running}}' "$state_ctr")" = true ] || fail "the service's container exited"
    [ $SECONDS -lt $deadline ] || fail "the service with a state volume was not READY within 60 s"
    sleep 0.2
  done
  start=$(/usr/bin/python3 -c 'import json, sys; print(json.loads(sys.argv[1]).get("start"))' "$ready")
  podman stop --time 10 "$state_ctr" > /dev/null 2> "$work/stop.err" || { cat "$work/stop.err"; fail "podman stop failed"; }
  podman logs "$state_ctr" > "$work/state$round.log" 2>&1 || true
  podman rm -f -t 0 "$state_ctr" > /dev/null
  if [ $round = 1 ]; then
    [ "$start" = cold ] || fail "a new state volume gave a $start start, expected cold"
    grep -q "snapshot not written" "$work/state1.log" && { cat "$work/state1.log"; fail "the service could not write its snapshot to the volume"; }
    owner=$(podman run --rm --user 0 -v "$state_vol:/var/lib/saldo" "$tag" stat -c '%u:%g %n' /var/lib/saldo/snapshot.bin \
              2> "$work/stat.err") || { cat "$work/stat.err"; fail "no snapshot in the volume after SIGTERM"; }
    [[ $owner = "10001:10001 "* ]] || fail "the snapshot in the volume is $owner, expected owner 10001:10001"
    ok "SIGTERM wrote the snapshot to the named volume ($owner)"
  else
    [ "$start" = warm ] || { cat "$work/state2.log"; fail "the second container on the state volume gave a $start start, expected warm"; }
    ok "the next container on the volume started warm: $(grep -m1 -o 'warm start: .*' "$work/state2.log")"
  fi
done
