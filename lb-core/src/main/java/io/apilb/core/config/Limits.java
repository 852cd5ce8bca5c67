package io.apilb.core.config;

/**
 * {@code maxConnections} (default 20000): client connections beyond it are closed as soon as they
 * are accepted, and counted, so a connection storm cannot exhaust file descriptors.
 */
public record Limits(int maxConnections) {
    public static final int DEFAULT_MAX_CONNECTIONS = 20_000;
    public static final Limits DEFAULTS = new Limits(DEFAULT_MAX_CONNECTIONS);

    public Limits {
        if (maxConnections < 1) {
            throw new IllegalArgumentException("maxConnections: " + maxConnections + " (expected: >= 1)");
        }
    }
}
