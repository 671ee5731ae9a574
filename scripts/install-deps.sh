#!/usr/bin/env bash
# Installs the Debian packages that saldo's build, tests, benchmarks and local broker need.
# Idempotent: quiet when everything is already there.
#   scripts/install-deps.sh          everything (scripts/test.sh)
#   scripts/install-deps.sh --demo   only what building and running the demo needs (scripts/start.sh)
set -euo pipefail

DEMO_PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config
  # libraries (design card)
  librdkafka-dev libcpp-httplib-dev nlohmann-json3-dev libpq-dev libspdlog-dev
  liblz4-dev  # the direct catch-up inflates lz4 record batches (librdkafka does not export its lz4)
  libboost-program-options-dev
  # local broker (Kafka jars come from Maven Central through Maven), its readiness check, the demo's curl
  openjdk-17-jre-headless maven kcat curl procps iproute2
  # the read model's local PostgreSQL (scripts/postgres-local.sh)
  postgresql-15 postgresql-client-15
)
TEST_PACKAGES=(
  # test and benchmark libraries
  libgtest-dev libgmock-dev libbenchmark-dev
  # tests and benchmarks
  wrk python3 python3-venv
  # fuzzing (libFuzzer); metrics and alerting rules (promtool), a live Prometheus (tests/monitoring)
  clang libclang-rt-14-dev prometheus
  # e2e: the page in headless Chromium (playwright-core from npm), compose file checks (PyYAML)
  chromium nodejs python3-yaml
  # e2e: the image built and run with podman (runc: see scripts/podman/containers.conf) on Debian
  # base images made by debootstrap and debuerreotype, which reads the mirror's date with wget
  # (scripts/podman-base-images.sh)
  podman runc debootstrap debuerreotype wget
  # security: throwaway CAs and certificates (openssl), the edge in front of the service (haproxy)
  openssl haproxy
)

case "${1:-}" in
  --demo) PACKAGES=("${DEMO_PACKAGES[@]}") ;;
  "") PACKAGES=("${DEMO_PACKAGES[@]}" "${TEST_PACKAGES[@]}") ;;
  *) echo "usage: $0 [--demo]" >&2; exit 2 ;;
esac

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# npm comes with some nodejs builds (NodeSource) and is a separate package in Debian's.
if [ "${1:-}" != --demo ] && ! command -v npm >/dev/null 2>&1; then missing+=(npm); fi
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing Debian packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
