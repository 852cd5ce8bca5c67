package io.apilb.core.config;

import java.time.Duration;
import java.util.Objects;

/**
 * The {@code rebalance} section: closing, at a paced rate, old and quiet connections on masters
 * that carry more than their weighted share, so that their clients reconnect to the others.
 * <ul>
 *   <li>{@code enabled} (default false): rebalance continuously; when false, only a pass asked for
 *       through {@code POST /api/v1/rebalance} runs;</li>
 *   <li>{@code maxClosesPerSecond} (default 1): across the whole balancer, 0.01-100;</li>
 *   <li>{@code minAge} (default 30s): younger connections are never closed;</li>
 *   <li>{@code clientQuietFor} (default 1s): the client must have sent nothing for this long;</li>
 *   <li>{@code tolerance} (default 0.2): nothing is closed while every master carries at most
 *       {@code 1 + tolerance} times its share.</li>
 * </ul>
 */
public record RebalanceConfig(boolean enabled, double maxClosesPerSecond, Duration minAge, Duration clientQuietFor,
                              double tolerance) {
    public static final double MIN_CLOSES_PER_SECOND = 0.01;
    public static final double MAX_CLOSES_PER_SECOND = 100;
    public static final double MAX_TOLERANCE = 10;
    public static final RebalanceConfig DEFAULTS = new RebalanceConfig(false, 1, Duration.ofSeconds(30),
            Duration.ofSeconds(1), 0.2);

    public RebalanceConfig {
        Objects.requireNonNull(minAge, "minAge");
        Objects.requireNonNull(clientQuietFor, "clientQuietFor");
        if (!(maxClosesPerSecond >= MIN_CLOSES_PER_SECOND && maxClosesPerSecond <= MAX_CLOSES_PER_SECOND)) {
            throw new IllegalArgumentException("maxClosesPerSecond: " + maxClosesPerSecond + " (expected: "
                    + MIN_CLOSES_PER_SECOND + "-" + (int) MAX_CLOSES_PER_SECOND + ")");
        }
        if (!(tolerance >= 0 && tolerance <= MAX_TOLERANCE)) {
            throw new IllegalArgumentException("tolerance: " + tolerance + " (expected: 0-" + (int) MAX_TOLERANCE
                    + ")");
        }
        if (minAge.isNegative() || clientQuietFor.isNegative()) {
            throw new IllegalArgumentException("minAge, clientQuietFor: " + minAge + ", " + clientQuietFor
                    + " (expected: >= 0s)");
        }
    }
}
