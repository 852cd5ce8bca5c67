package io.apilb.core.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;

/**
 * The admin HTTP port.
 * <ul>
 *   <li>{@code enabled} (default true): false turns the port off.</li>
 *   <li>{@code address} (default {@code 127.0.0.1:8404}).</li>
 *   <li>{@code token} or {@code tokenFile} (not both, default none): protects mutating calls; beyond
 *       loopback a token is mandatory (the rules are {@link AdminAccess}'s).</li>
 *   <li>{@code requestTimeout} (default 10s): a whole request, headers and body, must arrive within
 *       it after its first byte, else 408 and the connection is closed. A client trickling a byte at a
 *       time does not extend it.</li>
 *   <li>{@code maxConnections} (default 256): admin connections open at once; over it, new ones are
 *       closed as soon as they are accepted.</li>
 * </ul>
 */
public record AdminConfig(boolean enabled, HostPort address, String token, Path tokenFile,
                          Duration requestTimeout, int maxConnections) {
    public static final HostPort DEFAULT_ADDRESS = new HostPort("127.0.0.1", 8404);
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(10);
    public static final int DEFAULT_MAX_CONNECTIONS = 256;
    public static final AdminConfig DEFAULTS = new AdminConfig(true, DEFAULT_ADDRESS, null, null);

    public AdminConfig {
        Objects.requireNonNull(address, "address");
        Objects.requireNonNull(requestTimeout, "requestTimeout");
        if (requestTimeout.isNegative() || requestTimeout.isZero()) {
            throw new IllegalArgumentException("requestTimeout: " + requestTimeout + " (expected: > 0)");
        }
        if (maxConnections < 1) {
            throw new IllegalArgumentException("maxConnections: " + maxConnections + " (expected: >= 1)");
        }
    }

    /** The given address and token with the default limits. */
    public AdminConfig(boolean enabled, HostPort address, String token, Path tokenFile) {
        this(enabled, address, token, tokenFile, DEFAULT_REQUEST_TIMEOUT, DEFAULT_MAX_CONNECTIONS);
    }
}
