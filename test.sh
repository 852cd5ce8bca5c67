#!/usr/bin/env bash
# Runs every test of apilb: unit, integration and process-level (mvn verify).
# Some tests drive real programs from Debian packages (a headless browser, promtool, nft, ...).
# Run as root, this installs whichever of them is missing first; otherwise those tests say why
# they are skipped.
set -euo pipefail
cd "$(dirname "$0")"

packages=(chromium chromium-driver prometheus nftables keepalived iproute2 curl)
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

exec mvn -B verify "$@"
