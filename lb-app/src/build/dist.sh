#!/usr/bin/env bash
# Builds apilb's self-contained runtime tarball (Maven runs this in lb-app's package phase when
# the JDK below is there; see lb-app/pom.xml):
#   dist.sh JDK_HOME JAR VERSION TARGET_DIR
# Writes TARGET_DIR/apilb-VERSION-linux-x86_64.tar.gz, which unpacks to apilb/:
#   bin/apilb           the launcher
#   conf/jvm.options    the JVM settings (the one place they are defined)
#   lib/apilb.jar       the same jar as java -jar runs
#   lib/native/         Netty's native libraries for linux-x86_64
#   lib/apilb.aot       class cache from a short training run of the demo (JDK_HOME >= 25)
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

# Training run: the demo with a few requests through the proxy and the admin port, so that the
# cache holds the classes of start-up, TLS health checks, relaying and the admin pages. The cache
# is written when the JVM exits on SIGTERM.
log="$stage/training.log"
: >"$log" # before the background job opens it, which may be after the loop below first reads it
JAVA_OPTS="-XX:AOTCacheOutput=$home/lib/apilb.aot" "$home/bin/apilb" \
    demo --listen 127.0.0.1:0 --admin 127.0.0.1:0 </dev/null >>"$log" 2>&1 &
pid=$!
stop_training() { kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null; true; }
trap stop_training EXIT

listen="" admin=""
for _ in $(seq 600); do
  listen=$(sed -n 's/^apilb demo: three local masters behind \([0-9.]*:[0-9]*\)$/\1/p' "$log")
  admin=$(sed -n 's|^Dashboard: http://\([0-9.]*:[0-9]*\)/$|\1|p' "$log")
  [[ -n $listen && -n $admin ]] && break
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "dist.sh: the training run ended early" >&2; exit 1; }
  sleep 0.1
done
[[ -n $listen && -n $admin ]] || { cat "$log" >&2; echo "dist.sh: the demo did not start within 60 s" >&2; exit 1; }

get() { # host:port path [tls]: one request, its answer ignored
  if [[ ${3:-} == tls ]]; then
    curl -sk --max-time 5 -o /dev/null "https://$1$2" || true
  else
    curl -s --max-time 5 -o /dev/null "http://$1$2" || true
  fi
}
if command -v curl >/dev/null 2>&1; then
  for _ in 1 2 3 4 5 6; do get "$listen" /version tls; done
  for path in / /healthz /metrics /api/backends; do get "$admin" "$path"; done
fi
sleep 1 # a few health-check rounds
kill -TERM "$pid"
trap - EXIT
wait "$pid" || { cat "$log" >&2; echo "dist.sh: the training run failed" >&2; exit 1; }
[[ -s $home/lib/apilb.aot ]] || { cat "$log" >&2; echo "dist.sh: no AOT cache written" >&2; exit 1; }

# Reproducible: fixed owner and times.
tar -C "$stage" --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -czf "$tarball" apilb
echo "dist.sh: $tarball ($(du -h "$tarball" | cut -f1); modules $modules)"
