package io.apilb.core.config;

import java.time.Duration;
import java.util.Objects;

/**
 * Socket options for both legs of every proxied connection.
 * <ul>
 *   <li>{@code keepAliveIdle} (default 30s), {@code keepAliveInterval} (10s), {@code keepAliveCount} (3):
 *       TCP keepalive, so a peer that vanished without a RST is noticed on an otherwise quiet watch.</li>
 *   <li>{@code userTimeout} (default 30s): TCP_USER_TIMEOUT (Linux, native transport), the longest
 *       time sent data may stay unacknowledged before the kernel gives up on the connection. Without
 *       it a dead master holds clients for the ~15 minutes of default retransmissions. {@code 0}
 *       leaves the kernel's default.</li>
 *   <li>{@code noDelay} (default true): API traffic is request/response; Nagle only adds latency.</li>
 * </ul>
 */
public record TcpConfig(Duration keepAliveIdle, Duration keepAliveInterval, int keepAliveCount,
                        Duration userTimeout, boolean noDelay) {
    public static final TcpConfig DEFAULTS =
            new TcpConfig(Duration.ofSeconds(30), Duration.ofSeconds(10), 3, Duration.ofSeconds(30), true);

    public TcpConfig {
        Objects.requireNonNull(keepAliveIdle, "keepAliveIdle");
        Objects.requireNonNull(keepAliveInterval, "keepAliveInterval");
        Objects.requireNonNull(userTimeout, "userTimeout");
        if (keepAliveCount < 1) {
            throw new IllegalArgumentException("keepAliveCount: " + keepAliveCount + " (expected: >= 1)");
        }
    }
}
