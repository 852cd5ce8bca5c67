package io.apilb.core.metrics;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendConnections;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.BackendStats;
import io.apilb.core.backend.ConnectFailure;
import io.apilb.core.backend.Health;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Exposes every backend of a {@link BackendPool} as meters tagged {@code backend=<name>}. With the
 * Prometheus naming convention they read:
 * <ul>
 *   <li>{@code apilb_backend_up}: 0 while a health check found the backend DOWN, else 1 (a backend
 *       not checked yet, or with checks off, counts as up, like the pool that routes to it);</li>
 *   <li>{@code apilb_backend_connections_active}: established connections relayed now;</li>
 *   <li>{@code apilb_backend_dials_in_flight}: dials started and not finished;</li>
 *   <li>{@code apilb_backend_connections_total}: connections established since start;</li>
 *   <li>{@code apilb_backend_bytes_total{direction="in"|"out"}}: in is client to backend;</li>
 *   <li>{@code apilb_backend_connect_failures_total{reason}}: one series per {@link ConnectFailure},
 *       present from the start so that rates work before the first failure.</li>
 * </ul>
 * This class is the only owner of these meters, the health verdict's included (the health checker
 * publishes its verdicts into the pool, which this reads); {@link #METERS} lists them all.
 *
 * <p>The set of backends may change on reload: {@link #refresh()} registers the new ones and removes
 * the meters of the ones that left. Meters read the lock-free counters; binding and refreshing are
 * synchronized and may be called from any thread, not from an event loop that must not wait.
 */
public final class BackendPoolMetrics implements MeterBinder {
    public static final String UP = "apilb.backend.up";
    public static final String CONNECTIONS_ACTIVE = "apilb.backend.connections.active";
    public static final String DIALS_IN_FLIGHT = "apilb.backend.dials.in.flight";
    public static final String CONNECTIONS = "apilb.backend.connections";
    public static final String BYTES = "apilb.backend.bytes";
    public static final String CONNECT_FAILURES = "apilb.backend.connect.failures";
    /** Every meter name this binder registers per backend. */
    public static final List<String> METERS = List.of(UP, CONNECTIONS_ACTIVE, DIALS_IN_FLIGHT, CONNECTIONS,
            BYTES, CONNECT_FAILURES);

    private final BackendPool pool;
    private final Map<Backend, List<Meter>> meters = new IdentityHashMap<>();
    private MeterRegistry registry;

    public BackendPoolMetrics(BackendPool pool) {
        this.pool = Objects.requireNonNull(pool, "pool");
    }

    @Override
    public synchronized void bindTo(MeterRegistry registry) {
        Objects.requireNonNull(registry, "registry");
        if (this.registry != null && this.registry != registry) {
            throw new IllegalStateException("already bound to another registry");
        }
        this.registry = registry;
        refresh();
    }

    /**
     * Brings the meters in line with the pool's backends: to be called after a reload changed them.
     * Does nothing before {@link #bindTo}.
     */
    public synchronized void refresh() {
        if (registry == null) {
            return;
        }
        Set<Backend> current = Collections.newSetFromMap(new IdentityHashMap<>());
        current.addAll(pool.all());
        // Remove first: a backend re-created under the same name must not collide with its old meters.
        for (Iterator<Map.Entry<Backend, List<Meter>>> it = meters.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<Backend, List<Meter>> e = it.next();
            if (!current.contains(e.getKey())) {
                e.getValue().forEach(registry::remove);
                it.remove();
            }
        }
        for (Backend b : current) {
            meters.computeIfAbsent(b, this::register);
        }
    }

    /** Names of the backends that currently have meters, for tests and diagnostics. */
    public synchronized List<String> boundBackends() {
        List<String> names = new ArrayList<>();
        meters.keySet().forEach(b -> names.add(b.name()));
        return names;
    }

    private List<Meter> register(Backend backend) {
        Tags tags = Tags.of("backend", backend.name());
        BackendStats stats = backend.stats();
        BackendConnections connections = backend.connections();
        List<Meter> list = new ArrayList<>();
        list.add(Gauge.builder(UP, backend, b -> b.health() == Health.DOWN ? 0 : 1)
                .tags(tags).strongReference(true)
                .description("0 while a health check found the backend DOWN, else 1")
                .register(registry));
        list.add(Gauge.builder(CONNECTIONS_ACTIVE, connections, BackendConnections::active)
                .tags(tags).strongReference(true)
                .description("Established client connections relayed to the backend now")
                .register(registry));
        list.add(Gauge.builder(DIALS_IN_FLIGHT, connections, BackendConnections::dialsInFlight)
                .tags(tags).strongReference(true)
                .description("Dials to the backend started and not finished")
                .register(registry));
        list.add(FunctionCounter.builder(CONNECTIONS, connections, BackendConnections::total)
                .tags(tags)
                .description("Client connections established to the backend since start")
                .register(registry));
        list.add(FunctionCounter.builder(BYTES, stats, BackendStats::bytesIn)
                .tags(tags.and("direction", "in")).baseUnit("bytes")
                .description("Bytes relayed; in: client to backend, out: backend to client")
                .register(registry));
        list.add(FunctionCounter.builder(BYTES, stats, BackendStats::bytesOut)
                .tags(tags.and("direction", "out")).baseUnit("bytes")
                .description("Bytes relayed; in: client to backend, out: backend to client")
                .register(registry));
        for (ConnectFailure reason : ConnectFailure.values()) {
            list.add(FunctionCounter.builder(CONNECT_FAILURES, stats, s -> s.connectFailures(reason))
                    .tags(tags.and("reason", reason.tag()))
                    .description("Failed dials to the backend, by reason")
                    .register(registry));
        }
        return list;
    }
}
