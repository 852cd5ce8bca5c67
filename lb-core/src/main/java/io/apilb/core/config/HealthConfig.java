package io.apilb.core.config;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * Active health checking. Defaults: {@code mode: https}, {@code path: /readyz},
 * {@code expectStatus: [200]}, {@code interval: 2s}, {@code timeout: 1s}, {@code rise: 2},
 * {@code fall: 2}, {@code onDown: close}, {@code failOpen: true}, {@code enabled: true}.
 * {@code port} overrides the backend's port for probes (0: the backend's own).
 *
 * <p>Edge intervals: while a verdict is in doubt (an UP master failed a check but not yet
 * {@code fall} of them, or a DOWN master passed one but not yet {@code rise}) it is probed every
 * {@code fastInterval} (default a quarter of {@code interval}), so the flip comes sooner; a DOWN
 * master is otherwise probed every {@code downInterval} (default {@code interval}).
 */
public record HealthConfig(boolean enabled, HealthMode mode, String path, List<Integer> expectStatus,
                           Duration interval, Duration timeout, int rise, int fall, OnDown onDown,
                           boolean failOpen, int port, TlsConfig tls, Duration fastInterval, Duration downInterval) {
    private static final Duration MIN_FAST_INTERVAL = Duration.ofMillis(100);
    public static final HealthConfig DEFAULTS = new HealthConfig(true, HealthMode.HTTPS, "/readyz", List.of(200),
            Duration.ofSeconds(2), Duration.ofSeconds(1), 2, 2, OnDown.CLOSE, true, 0, TlsConfig.DEFAULTS);

    /** The edge intervals' defaults for {@code interval}: a quarter of it, and itself. */
    public HealthConfig(boolean enabled, HealthMode mode, String path, List<Integer> expectStatus,
                        Duration interval, Duration timeout, int rise, int fall, OnDown onDown,
                        boolean failOpen, int port, TlsConfig tls) {
        this(enabled, mode, path, expectStatus, interval, timeout, rise, fall, onDown, failOpen, port, tls,
                defaultFastInterval(interval), interval);
    }

    /**
     * A quarter of {@code interval}, but not below 100 ms (or {@code interval} itself when that is
     * shorter): faster probes add load to the API servers without making anything sooner.
     */
    public static Duration defaultFastInterval(Duration interval) {
        Duration floor = interval.compareTo(MIN_FAST_INTERVAL) < 0 ? interval : MIN_FAST_INTERVAL;
        Duration quarter = interval.dividedBy(4);
        return quarter.compareTo(floor) < 0 ? floor : quarter;
    }

    public HealthConfig {
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(interval, "interval");
        Objects.requireNonNull(timeout, "timeout");
        Objects.requireNonNull(onDown, "onDown");
        Objects.requireNonNull(tls, "tls");
        Objects.requireNonNull(fastInterval, "fastInterval");
        Objects.requireNonNull(downInterval, "downInterval");
        expectStatus = List.copyOf(expectStatus);
        if (rise < 1) {
            throw new IllegalArgumentException("rise: " + rise + " (expected: >= 1)");
        }
        if (fall < 1) {
            throw new IllegalArgumentException("fall: " + fall + " (expected: >= 1)");
        }
    }
}
