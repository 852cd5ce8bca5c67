#!/bin/sh
# Starts apilb in the container. With arguments, passes them on (e.g. check-config FILE).
# Without: the config at $APILB_CONFIG (default /etc/apilb/apilb.yaml) when one is mounted there,
# else the demo.
set -eu

if [ "$#" -eq 0 ]; then
    if [ -f "$APILB_CONFIG" ]; then
        set -- --config "$APILB_CONFIG"
    else
        echo "apilb: no config at $APILB_CONFIG; starting the demo (mount a config there to run the balancer)" >&2
        # The balancer on every interface so that a published port reaches it; the admin port
        # stays on the container's loopback because beyond loopback it needs a token, which the
        # demo does not have. The container's health check reaches it there.
        set -- demo --listen 0.0.0.0:6443 --admin 127.0.0.1:8404
    fi
fi

# exec: bin/apilb execs the JVM in turn, so the JVM becomes PID 1 and gets SIGTERM from docker
# stop or the kubelet itself. It starts with conf/jvm.options, then JAVA_OPTS.
exec /opt/apilb/bin/apilb "$@"
