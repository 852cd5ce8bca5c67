package io.apilb.core.config;

import java.time.Duration;
import java.util.Objects;

/**
 * Proxy timeouts.
 * <ul>
 *   <li>{@code connect} (default 2s): dialling a backend; on expiry the next backend is tried.</li>
 *   <li>{@code idle} (default 1h): a connection with no bytes either way is closed. Long, because
 *       watches, {@code logs -f} and {@code exec} stay quiet for minutes.</li>
 * </ul>
 */
public record Timeouts(Duration connect, Duration idle) {
    public static final Duration DEFAULT_CONNECT = Duration.ofSeconds(2);
    public static final Duration DEFAULT_IDLE = Duration.ofHours(1);
    public static final Timeouts DEFAULTS = new Timeouts(DEFAULT_CONNECT, DEFAULT_IDLE);

    public Timeouts {
        Objects.requireNonNull(connect, "connect");
        Objects.requireNonNull(idle, "idle");
    }
}
