#!/usr/bin/env bash
# Runs every test of apilb: unit, integration and process-level (mvn verify).
# Some tests drive real programs from Debian packages (a headless browser, promtool, nft, ...).
# Run as root, this installs whichever of them is missing first; otherwise those tests say why
# they are skipped.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")"

packages=(chromium chromium-driver prometheus nftables keepalived iproute2 curl podman runc mmdebstrap)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v javac >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing test packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "not root, so not installing: ${missing[*]} (tests that need them will be skipped)" >&2
  fi
fi

# The container image tests (ContainerIT) build and run docker/Dockerfile through Testcontainers.
# Where no Docker engine is set up (DOCKER_HOST unset, no /var/run/docker.sock), as root with
# podman, they use podman's Docker-compatible API: a service on a socket of this run, stopped
# after it, and a Debian base image made locally, since none can be pulled here.
podman_pid="" sockdir=""
stop_podman() {
  if [[ -n $podman_pid ]]; then
    kill "$podman_pid" 2>/dev/null || true
    wait "$podman_pid" 2>/dev/null || true
    rm -rf "$sockdir"
  fi
}
trap stop_podman EXIT

# Prints the name of a local bookworm base image, making it once: the root file system from
# mmdebstrap is kept in the cache directory (keyed by the recipe), the image is tagged with the
# file's hash, so later runs reuse both.
base_image() {
  local recipe=(mmdebstrap --variant=minbase --format=tar --quiet
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*'
    --dpkgopt='path-exclude=/usr/share/locale/*' --dpkgopt='path-exclude=/usr/share/info/*'
    bookworm)
  local cache="${XDG_CACHE_HOME:-$HOME/.cache}/apilb"
  local rootfs
  rootfs="$cache/bookworm-minbase-$(printf '%s\n' "${recipe[@]}" | sha256sum | cut -c1-12).tar"
  if [[ ! -s $rootfs ]]; then
    mkdir -p "$cache"
    "${recipe[@]}" "$rootfs.tmp" >&2
    mv "$rootfs.tmp" "$rootfs"
  fi
  local image
  image="localhost/apilb-base:bookworm-$(sha256sum "$rootfs" | cut -c1-12)"
  podman image exists "$image" || podman import --quiet "$rootfs" "$image" >/dev/null
  echo "$image"
}

if [[ -z ${DOCKER_HOST:-} && ! -S /var/run/docker.sock && $(id -u) = 0 ]] && command -v podman >/dev/null; then
  export CONTAINERS_CONF="$PWD/docker/podman-containers.conf"
  APILB_IMAGE_BASE=$(base_image)
  export APILB_IMAGE_BASE
  sockdir=$(mktemp -d)
  podman system service --time=0 "unix://$sockdir/podman.sock" >"$sockdir/service.log" 2>&1 &
  podman_pid=$!
  for _ in $(seq 100); do [[ -S $sockdir/podman.sock ]] && break; sleep 0.1; done
  export DOCKER_HOST="unix://$sockdir/podman.sock"
  # Ryuk, Testcontainers' reaper, is an image that cannot be pulled here: ContainerIT removes
  # what it makes itself.
  export TESTCONTAINERS_RYUK_DISABLED=true
fi

mvn -B verify "$@"
