package io.apilb.health;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.Health;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The health checker's meters. Names follow Micrometer's dotted convention; a Prometheus registry
 * exposes them as:
 * <ul>
 *   <li>{@code apilb_health_checks_total{backend,result}}: probes, by {@link CheckStatus} name (the
 *       proxy's failed dials are counted by {@code apilb_backend_connect_failures_total} instead);</li>
 *   <li>{@code apilb_health_check_duration_seconds{backend}}: probe durations;</li>
 *   <li>{@code apilb_health_transitions_total{backend,to}}: verdict flips, {@code to} = up | down;</li>
 *   <li>{@code apilb_health_all_down}: 1 while every backend is DOWN (the proxy fails open).</li>
 * </ul>
 * The verdict itself ({@code apilb_backend_up}) is the pool's fact and lb-core's meter. Thread-safe;
 * per-backend meters are removed when their backend leaves the configuration.
 */
final class HealthMetrics {
    static final String CHECKS = "apilb.health.checks";
    static final String CHECK_DURATION = "apilb.health.check.duration";
    static final String TRANSITIONS = "apilb.health.transitions";
    static final String ALL_DOWN = "apilb.health.all.down";
    private static final List<String> PER_BACKEND = List.of(CHECKS, CHECK_DURATION, TRANSITIONS);

    private final MeterRegistry registry;
    private final AtomicInteger allDown = new AtomicInteger();

    HealthMetrics(MeterRegistry registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
    }

    /**
     * Registers the process-wide gauge. Done at start, not construction: a reload builds the next
     * checker while the old one still runs, and Micrometer would hand it the old one's gauge.
     */
    void start() {
        Gauge.builder(ALL_DOWN, allDown, AtomicInteger::get)
                .description("1 while every backend is DOWN and the proxy fails open")
                .register(registry);
    }

    /** Removes the process-wide gauge (per-backend meters go with {@link #backendRemoved}). */
    void close() {
        registry.find(ALL_DOWN).meters().forEach(registry::remove);
    }

    /** Registers the backend's timer, so it shows before its first probe. */
    void backendAdded(Backend backend) {
        timer(backend);
    }

    /** Removes every meter of the backend. */
    void backendRemoved(Backend backend) {
        for (String name : PER_BACKEND) {
            registry.find(name).tag("backend", backend.name()).meters().forEach(registry::remove);
        }
    }

    void checked(Backend backend, CheckResult result) {
        Counter.builder(CHECKS)
                .description("Health probes by result")
                .tag("backend", backend.name())
                .tag("result", result.status().name())
                .register(registry)
                .increment();
        timer(backend).record(result.duration());
    }

    void transition(Backend backend, Health to) {
        Counter.builder(TRANSITIONS)
                .description("Health verdict changes")
                .tag("backend", backend.name())
                .tag("to", to.name().toLowerCase(Locale.ROOT))
                .register(registry)
                .increment();
    }

    void allDown(boolean down) {
        allDown.set(down ? 1 : 0);
    }

    private Timer timer(Backend backend) {
        return Timer.builder(CHECK_DURATION)
                .description("Health probe duration, connect to verdict")
                .tag("backend", backend.name())
                .register(registry);
    }
}
