#!/usr/bin/env bash
# Makes the Dockerfile's base images, docker.io/library/debian:12 and :12-slim, in podman's local
# storage where no image registry can be reached. They are stand-ins made the way Debian's official
# images are: debuerreotype (the tool that builds them) over a debootstrap --variant=minbase of
# bookworm from deb.debian.org (the official build pins snapshot.debian.org instead), with its
# minimizing config, security updates applied, no apt lists, and slimify for the -slim variant.
#
#   scripts/podman-base-images.sh           import them unless podman already has both
#   scripts/podman-base-images.sh --force   make the rootfs tarballs again and re-import
#
# The tarballs are cached in ${SALDO_CACHE_DIR:-~/.cache/saldo}/podman-base (about 2 min to make,
# seconds to import). Needs root, debootstrap, debuerreotype, podman (scripts/install-deps.sh).
set -euo pipefail

suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${SALDO_CACHE_DIR:-$HOME/.cache/saldo}/podman-base
full=docker.io/library/debian:12
slim=docker.io/library/debian:12-slim

force=0
case "${1:-}" in
  --force) force=1 ;;
  "") ;;
  *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac

say() { echo "podman-base-images: $*"; }

if [ "$force" = 0 ] && podman image exists "$full" && podman image exists "$slim"; then
  exit 0
fi

for tool in podman debootstrap debuerreotype-init; do
  command -v "$tool" >/dev/null || { echo "podman-base-images: $tool is missing (scripts/install-deps.sh)" >&2; exit 1; }
done
[ "$(id -u)" -eq 0 ] || { echo "podman-base-images: debootstrap needs root" >&2; exit 1; }

mkdir -p "$cache"
if [ "$force" = 1 ] || [ ! -s "$cache/debian-12.tar" ] || [ ! -s "$cache/debian-12-slim.tar" ]; then
  work=$(mktemp -d "${TMPDIR:-/tmp}/saldo-rootfs.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  rootfs=$work/rootfs
  log=$cache/debuerreotype.log
  : > "$log"
  run() {
    "$@" >> "$log" 2>&1 && return 0
    tail -n 40 "$log" >&2
    echo "podman-base-images: failed: $*" >&2
    exit 1
  }
  say "debootstrap of $suite from $mirror (log: $log)"
  t=$SECONDS
  run debuerreotype-init --non-debian "$rootfs" "$suite" "$mirror"
  run debuerreotype-minimizing-config "$rootfs"
  # What debuerreotype-debian-sources-list writes for bookworm (it asks snapshot.debian.org, which
  # cannot be reached from here).
  rm -f "$rootfs/etc/apt/sources.list"
  for archive in "debian $suite $suite-updates" "debian-security $suite-security"; do
    set -- $archive
    printf 'Types: deb\nURIs: http://deb.debian.org/%s\nSuites: %s\nComponents: main\n' "$1" "${*:2}"
    printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n'
  done > "$rootfs/etc/apt/sources.list.d/debian.sources"
  run debuerreotype-apt-get "$rootfs" update -qq
  run debuerreotype-apt-get "$rootfs" dist-upgrade -yqq
  run debuerreotype-tar "$rootfs" "$work/debian-12.tar"
  run debuerreotype-slimify "$rootfs"
  run debuerreotype-tar "$rootfs" "$work/debian-12-slim.tar"
  mv "$work/debian-12.tar" "$work/debian-12-slim.tar" "$cache/"
  say "rootfs tarballs made in $((SECONDS - t))s"
fi

import() {  # tarball tag
  podman import --quiet --change 'CMD ["bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --message "local stand-in: debuerreotype rootfs of Debian $suite (scripts/podman-base-images.sh)" \
    "$1" "$2" > /dev/null
  say "$2 imported ($(du -h "$1" | cut -f1) rootfs)"
}
import "$cache/debian-12.tar" "$full"
import "$cache/debian-12-slim.tar" "$slim"
