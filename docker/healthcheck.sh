#!/bin/bash
# Container health check: GET /healthz on apilb's admin port, with nothing but bash.
# Exit 0 on HTTP 200 (a master is routable, not shutting down), else 1 with the reason on stderr,
# which "docker inspect" shows in the health log.
# APILB_HEALTHCHECK_ADDRESS: host:port of the admin port (default 127.0.0.1:8404).
set -u
address=${APILB_HEALTHCHECK_ADDRESS:-127.0.0.1:8404}
host=${address%:*}
port=${address##*:}

if ! { exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null; then
    echo "apilb admin port $address: connection failed" >&2
    exit 1
fi
printf 'GET /healthz HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$address" >&3
if ! IFS= read -r -t 2 status <&3; then
    echo "apilb admin port $address: no answer" >&2
    exit 1
fi
status=${status%$'\r'}
case $status in
    "HTTP/1."[01]" 200"*) exit 0 ;;
esac
# The body says why, e.g. {"status":"shutting down","routable":3}.
body=$(timeout 1 cat <&3 2>/dev/null | tail -n 1)
echo "apilb /healthz: $status $body" >&2
exit 1
