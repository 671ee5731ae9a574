#!/usr/bin/env bash
# Installs the Debian packages that saldo's build, tests, benchmarks and local broker need.
# Idempotent: quiet when everything is already there.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build pkg-config
  # libraries (design card)
  librdkafka-dev libcpp-httplib-dev nlohmann-json3-dev libpq-dev libspdlog-dev
  libboost-program-options-dev libgtest-dev libgmock-dev libbenchmark-dev
  # local broker (Kafka jars come from Maven Central through Maven)
  openjdk-17-jre-headless maven
  # tests and benchmarks
  curl kcat wrk postgresql procps iproute2 python3
  # fuzzing (libFuzzer) and metrics checks (promtool)
  clang libclang-rt-14-dev prometheus
  # e2e: the page in headless Chromium (playwright-core from npm), compose file checks (PyYAML)
  chromium nodejs python3-yaml
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# npm comes with some nodejs builds (NodeSource) and is a separate package in Debian's.
command -v npm >/dev/null 2>&1 || missing+=(npm)
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
