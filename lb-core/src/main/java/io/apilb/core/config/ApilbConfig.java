package io.apilb.core.config;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * The whole configuration, as loaded from one YAML file by {@link ConfigLoader}. Immutable.
 * Top-level defaults: {@code balance: roundrobin}, {@code retries: 2}, {@code shutdownGrace: 30s},
 * {@code drainTimeout: 0s} (drained connections are never forced closed; connections of a backend
 * removed by reload close at once), {@code shutdownDelay: 0s} (on SIGTERM, how long {@code /healthz}
 * answers 503 while the listeners still accept, so a VIP can move away before connections are
 * refused: set it to Keepalived's {@code interval × fall} plus a second in a pair), {@code slowStart: 0s}
 * (off; otherwise a master that turns UP again ramps from 10 % to 100 % of its weight over this
 * window). Section defaults are on each section's record ({@code rebalance}: {@link RebalanceConfig}).
 */
public record ApilbConfig(List<ListenerConfig> listeners, List<BackendConfig> backends, BalancePolicy balance,
                          int retries, Timeouts timeouts, TcpConfig tcp, Limits limits, HealthConfig health,
                          AdminConfig admin, LoggingConfig logging, Duration shutdownGrace, Duration drainTimeout,
                          Duration shutdownDelay, Duration slowStart, RebalanceConfig rebalance) {
    public static final int DEFAULT_RETRIES = 2;
    public static final Duration DEFAULT_SHUTDOWN_GRACE = Duration.ofSeconds(30);
    public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ZERO;
    public static final Duration DEFAULT_SHUTDOWN_DELAY = Duration.ZERO;
    public static final Duration DEFAULT_SLOW_START = Duration.ZERO;

    public ApilbConfig {
        listeners = List.copyOf(listeners);
        backends = List.copyOf(backends);
        Objects.requireNonNull(balance, "balance");
        Objects.requireNonNull(timeouts, "timeouts");
        Objects.requireNonNull(tcp, "tcp");
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(health, "health");
        Objects.requireNonNull(admin, "admin");
        Objects.requireNonNull(logging, "logging");
        Objects.requireNonNull(shutdownGrace, "shutdownGrace");
        Objects.requireNonNull(drainTimeout, "drainTimeout");
        Objects.requireNonNull(shutdownDelay, "shutdownDelay");
        Objects.requireNonNull(slowStart, "slowStart");
        Objects.requireNonNull(rebalance, "rebalance");
        if (retries < 0) {
            throw new IllegalArgumentException("retries: " + retries + " (expected: >= 0)");
        }
    }

    /** A config without slow start and with the default {@code rebalance} section. */
    public ApilbConfig(List<ListenerConfig> listeners, List<BackendConfig> backends, BalancePolicy balance,
                       int retries, Timeouts timeouts, TcpConfig tcp, Limits limits, HealthConfig health,
                       AdminConfig admin, LoggingConfig logging, Duration shutdownGrace, Duration drainTimeout,
                       Duration shutdownDelay) {
        this(listeners, backends, balance, retries, timeouts, tcp, limits, health, admin, logging, shutdownGrace,
                drainTimeout, shutdownDelay, DEFAULT_SLOW_START, RebalanceConfig.DEFAULTS);
    }

    /** The backend with this name, or null. */
    public BackendConfig backend(String name) {
        for (BackendConfig b : backends) {
            if (b.name().equals(name)) {
                return b;
            }
        }
        return null;
    }
}
