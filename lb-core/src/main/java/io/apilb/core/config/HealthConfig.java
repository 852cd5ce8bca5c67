package io.apilb.core.config;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Active health checking. Defaults: {@code mode: https}, {@code path: /readyz},
 * {@code expectStatus: [200]}, {@code interval: 2s}, {@code timeout: 1s}, {@code rise: 2},
 * {@code fall: 2}, {@code onDown: close}, {@code failOpen: true}, {@code enabled: true}.
 * {@code port} overrides the backend's port for probes (0: the backend's own).
 */
public record HealthConfig(boolean enabled, HealthMode mode, String path, List<Integer> expectStatus,
                           Duration interval, Duration timeout, int rise, int fall, OnDown onDown,
                           boolean failOpen, int port, TlsConfig tls) {
    public static final HealthConfig DEFAULTS = new HealthConfig(true, HealthMode.HTTPS, "/readyz", List.of(200),
            Duration.ofSeconds(2), Duration.ofSeconds(1), 2, 2, OnDown.CLOSE, true, 0, TlsConfig.DEFAULTS);

    public HealthConfig {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(interval, "interval");
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(onDown, "onDown");
        Objects.requireNonNull(tls, "tls");
        expectStatus = List.copyOf(expectStatus);
        if (rise < 1) {
            throw new IllegalArgumentException("rise: " + rise + " (expected: >= 1)");
        }
        if (fall < 1) {
            throw new IllegalArgumentException("fall: " + fall + " (expected: >= 1)");
        }
    }
}
