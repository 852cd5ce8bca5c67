package io.apilb.core.config;

import java.util.Objects;

/**
 * One API server. {@code weight} defaults to 1; 0 keeps the backend configured and probed but
 * sends it no new connections (like HAProxy's {@code weight 0}).
 */
public record BackendConfig(String name, HostPort address, int weight) {
    public static final int DEFAULT_WEIGHT = 1;
    public static final int MAX_WEIGHT = 256;

    public BackendConfig {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(address, "address");
        if (weight < 0 || weight > MAX_WEIGHT) {
            throw new IllegalArgumentException("weight: " + weight + " (expected: 0-" + MAX_WEIGHT + ")");
        }
    }
}
