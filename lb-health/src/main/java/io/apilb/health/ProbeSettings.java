package io.apilb.health;

import io.apilb.core.config.HealthConfig;
import io.apilb.core.config.HealthMode;

import io.netty.handler.ssl.SslContext;

import java.util.Objects;
import java.util.Set;

/**
 * What every probe of one checker does, resolved once from {@link HealthConfig}.
 *
 * @param mode          how deep a probe goes: TCP, TLS or HTTPS
 * @param path          request path of HTTPS probes
 * @param expectStatus  HTTP statuses that pass
 * @param timeoutMillis hard limit on one probe, connect included
 * @param port          probe port, 0 for the backend's own
 * @param sslContext    client context for TLS and HTTPS probes, null for TCP
 * @param insecure      true when certificates are not verified
 * @param serverName    SNI and verified name, null for the backend's host
 */
record ProbeSettings(HealthMode mode, String path, Set<Integer> expectStatus, long timeoutMillis, int port,
                     SslContext sslContext, boolean insecure, String serverName) {
    ProbeSettings {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(path, "path");
        expectStatus = Set.copyOf(expectStatus);
        if (timeoutMillis < 1) {
            throw new IllegalArgumentException("timeout: " + timeoutMillis + "ms (expected: >= 1ms)");
        }
        if (mode != HealthMode.TCP) {
            Objects.requireNonNull(sslContext, "sslContext");
        }
    }

    static ProbeSettings of(HealthConfig config, SslContext sslContext) {
        return new ProbeSettings(config.mode(), config.path(), Set.copyOf(config.expectStatus()),
                config.timeout().toMillis(), config.port(), config.mode() == HealthMode.TCP ? null : sslContext,
                config.tls().insecure(), config.tls().serverName());
    }
}
