#!/usr/bin/env bash
# Benchmarks direct vs HAProxy vs apilb on the same nginx TLS backends, in one run.
#   bench/run.sh --smoke     a few seconds per figure, one round (CI; under 3 minutes)
#   bench/run.sh             full: 3 rounds x 10 s per figure (about 15 minutes)
# Other options: bench/run.sh --help. Results: a table on stdout, raw figures in bench/results/latest.json.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# command -> Debian package that provides it
declare -A pkg_of=(
  [haproxy]=haproxy [nginx]=nginx-light [wrk]=wrk [h2load]=nghttp2-client
  [openssl]=openssl [taskset]=util-linux [python3]=python3
)

missing=()
for cmd in "${!pkg_of[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${pkg_of[$cmd]}")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "installing: ${missing[*]}" >&2
    # the Debian packages would start system-wide services on hosts with an init; keep them off
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  else
    echo "missing tools; install these Debian packages (as root): ${missing[*]}" >&2
    exit 2
  fi
fi

# idle-capacity figure: the LB holds two fds per connection
ulimit -n "$(ulimit -Hn)"

# The driver stops everything it started, by PID, on exit or signal; this trap only forwards
# INT/TERM to it (it runs in its own process, not exec'ed, so the trap survives).
driver=""
forward() {
  if [[ -n "$driver" ]] && kill -0 "$driver" 2>/dev/null; then
    kill -TERM "$driver" 2>/dev/null || true
    wait "$driver" 2>/dev/null || true
  fi
}
trap 'forward; exit 130' INT
trap 'forward; exit 143' TERM
trap 'forward' EXIT

python3 "$here/bench.py" "$@" &
driver=$!
set +e
wait "$driver"
rc=$?
driver=""
exit "$rc"
