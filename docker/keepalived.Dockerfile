# Keepalived sidecar for apilb: holds the VIP on the node whose apilb answers /healthz.
# Build from the repository root: docker build -f docker/keepalived.Dockerfile -t apilb-keepalived .
# Needs the host network and NET_ADMIN, NET_BROADCAST, NET_RAW (see compose.yaml).
FROM debian:12-slim
# curl: chk_apilb in config/keepalived.conf calls it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends keepalived curl \
 && rm -rf /var/lib/apt/lists/*
# Only the VRRP subsystem (no LVS), in the foreground, logging to the container's output.
# On SIGTERM keepalived sends a priority-0 advert, so the peer takes the VIP at once.
STOPSIGNAL SIGTERM
ENTRYPOINT ["keepalived", "--dont-fork", "--log-console", "--log-detail", "--vrrp", \
            "--use-file", "/etc/keepalived/keepalived.conf"]
