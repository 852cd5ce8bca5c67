#!/usr/bin/env bash
# Builds apilb's self-contained runtime tarball (Maven runs this in lb-app's package phase when
# the JDK below is there; see lb-app/pom.xml):
#   dist.sh JDK_HOME JAR VERSION TARGET_DIR
# Writes TARGET_DIR/apilb-VERSION-linux-x86_64.tar.gz, which unpacks to apilb/:
#   bin/apilb           the launcher
#   conf/jvm.options    the JVM settings (the one place they are defined)
#   lib/apilb.jar       the same jar as java -jar runs
#   lib/native/         Netty's native libraries for linux-x86_64
#   lib/apilb.aot       class cache from a short training run (JDK_HOME >= 25)
#   runtime/            a jlink image of only the JDK modules the jar uses
set -euo pipefail

jdk=$1 jar=$(readlink -f "$2") version=$3 target=$(readlink -f "$4")
src="$(cd "$(dirname "${BASH_SOURCE[0]}")/../dist" && pwd)"
stage="$target/dist"
home="$stage/apilb"
tarball="$target/apilb-$version-linux-x86_64.tar.gz"

rm -rf "$stage" "$tarball"
mkdir -p "$home/lib"
cp -R "$src/bin" "$src/conf" "$home/"
chmod 0755 "$home/bin/apilb"
cp "$jar" "$home/lib/apilb.jar"
# Netty's native libraries for this platform, unpacked beside the jar: Netty loads them from
# java.library.path before it would unpack them into /tmp, so apilb needs no writable /tmp (a
# read-only root file system) and no exec rights there.
(cd "$stage" && "$jdk/bin/jar" xf "$home/lib/apilb.jar" \
    META-INF/native/libnetty_transport_native_epoll_x86_64.so META-INF/native/libnetty_tcnative_linux_x86_64.so \
  && mv META-INF/native "$home/lib/native" && rm -r META-INF)

# The modules the jar's classes reference, as jdeps finds them; nothing else goes in.
modules=$("$jdk/bin/jdeps" --ignore-missing-deps --print-module-deps --multi-release base "$jar")
"$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-man-pages --no-header-files \
    --compress=zip-6 --output "$home/runtime"

# Training run, in the shape apilb runs in production: the demo's three TLS masters in one process
# (no cache written), and the balancer in another, started by bin/apilb from a YAML file like
# config/apilb.yaml (leastconn, slow start, rebalancing, keepalives, HTTPS checks with the cluster
# CA, admin port), with requests through the proxy and to the admin port. Every class the cache
# holds is loaded at each start, so it holds the balancer's classes and not the demo's. The cache
# is written when the balancer exits on SIGTERM.
demo_log="$stage/training-masters.log" log="$stage/training.log"
: >"$demo_log"; : >"$log" # before the background jobs open them, which may be after the loops below read them
"$home/bin/apilb" demo --listen 127.0.0.1:0 --admin 127.0.0.1:0 </dev/null >>"$demo_log" 2>&1 &
demo=$!
lb=""
stop_training() {
  for p in $lb $demo; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
  true
}
trap stop_training EXIT
fail() { cat "$demo_log" "$log" >&2; echo "dist.sh: $*" >&2; exit 1; }

masters="" ca=""
for _ in $(seq 600); do
  masters=$(sed -n 's/^  \(master[0-9]\) *\(127\.0\.0\.1:[0-9]*\) .*/\1 \2/p' "$demo_log")
  ca=$(sed -n 's|.*curl -s --cacert \([^ ]*\) .*|\1|p' "$demo_log")
  [[ $(wc -l <<<"$masters") -eq 3 && -n $ca ]] && break
  kill -0 "$demo" 2>/dev/null || fail "the demo masters ended early"
  sleep 0.1
done
[[ $(wc -l <<<"$masters") -eq 3 && -n $ca ]] || fail "the demo masters did not start within 60 s"

# Loopback ports for the balancer: below the ephemeral range, where the kernel picks the source
# ports of outgoing connections (a build beside busy tests or a benchmark holds thousands), and not
# listened on. A port can still be taken between the check and the bind: then the balancer refuses
# to start, and the next attempt takes other ports.
read -r ephemeral_low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || ephemeral_low=32768
# a range set to start low leaves no room below it: take ports from 10000-32767 then, and retry
((ephemeral_low > 11000)) || ephemeral_low=32768
free_port() {
  local p
  for _ in $(seq 100); do
    p=$((10000 + RANDOM % (ephemeral_low - 10000)))
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
  done
  echo "dist.sh: no free port" >&2; return 1
}
conf="$stage/training.yaml"
write_conf() { # listen admin
  {
    printf 'listeners:\n  - { name: apiserver, address: "%s" }\nbackends:\n' "$1"
    while read -r name addr; do printf '  - { name: %s, address: "%s" }\n' "$name" "$addr"; done <<<"$masters"
    cat <<YAML
balance: leastconn
retries: 2
slowStart: 30s
rebalance: { enabled: true, maxClosesPerSecond: 1, minAge: 30s, clientQuietFor: 1s, tolerance: 0.2 }
timeouts: { connect: 2s, idle: 1h }
tcp: { keepAliveIdle: 30s, keepAliveInterval: 10s, keepAliveCount: 3, userTimeout: 30s }
health:
  mode: https
  interval: 500ms
  timeout: 400ms
  tls: { ca: "$ca", serverName: kubernetes }
admin: { address: "$2" }
YAML
  } >"$conf"
}

started=""
for _ in 1 2 3 4 5; do
  listen="127.0.0.1:$(free_port)" admin="127.0.0.1:$(free_port)"
  write_conf "$listen" "$admin"
  : >"$log"
  rm -f "$home/lib/apilb.aot" # written by a failed attempt's exit; bin/apilb would then read it
  JAVA_OPTS="-XX:AOTCacheOutput=$home/lib/apilb.aot" "$home/bin/apilb" --config "$conf" </dev/null >>"$log" 2>&1 &
  lb=$!
  for _ in $(seq 600); do
    grep -q "apilb started" "$log" && { started=1; break; }
    kill -0 "$lb" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n $started ]] && break
  kill -0 "$lb" 2>/dev/null && fail "the training run did not start within 60 s"
  wait "$lb" || true
  lb=""
  grep -qi "address already in use" "$log" || fail "the training run ended early"
done
[[ -n $started ]] || fail "the training run found no free ports in five attempts"

get() { # host:port path [tls]: one request, its answer ignored
  if [[ ${3:-} == tls ]]; then
    curl -sk --max-time 5 -o /dev/null "https://$1$2" || true
  else
    curl -s --max-time 5 -o /dev/null "http://$1$2" || true
  fi
}
if command -v curl >/dev/null 2>&1; then
  for _ in $(seq 12); do get "$listen" /version tls; done
  # what a running balancer is asked all the time; the JSON API and the dashboard are left out, so
  # that their classes load only when someone uses them
  for _ in 1 2 3; do get "$admin" /healthz; get "$admin" /metrics; done
fi
sleep 1 # a few rounds of health checks
kill -TERM "$lb"
wait "$lb" || fail "the training run failed"
lb=""
kill -TERM "$demo"
wait "$demo" || true
trap - EXIT
[[ -s $home/lib/apilb.aot ]] || fail "no AOT cache written"

# Reproducible: fixed owner and times.
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -czf "$tarball" apilb
echo "dist.sh: $tarball ($(du -h "$tarball" | cut -f1); modules $modules)"
