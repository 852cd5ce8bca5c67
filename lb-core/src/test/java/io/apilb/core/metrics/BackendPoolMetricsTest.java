package io.apilb.core.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.ConnectFailure;
import io.apilb.core.backend.Health;
import io.apilb.core.config.BackendConfig;
import io.apilb.core.config.HostPort;
import io.apilb.core.proxy.FrontendStats;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

class BackendPoolMetricsTest {

    private static BackendPool pool(String... names) {
        List<BackendConfig> configs = new ArrayList<>();
        for (int i = 0; i < names.length; i++) {
            configs.add(new BackendConfig(names[i], new HostPort("127.0.0.1", 6443 + i), 1));
        }
        return new BackendPool(configs);
    }

    @Test
    void countersFollowTheBackendStats() {
        BackendPool pool = pool("m1", "m2");
        MeterRegistry registry = new SimpleMeterRegistry();
        new BackendPoolMetrics(pool).bindTo(registry);
        Backend m1 = pool.get("m1");

        m1.stats().connectionOpened();
        m1.stats().connectionEstablished();
        m1.stats().connectionOpened();
        m1.stats().connectionEstablished();
        m1.stats().connectionClosed();
        m1.stats().addBytesIn(100);
        m1.stats().addBytesOut(2500);
        pool.connectFailed(m1, ConnectFailure.CONNECT_REFUSED, new ConnectException("refused"));
        pool.setHealth(m1, Health.DOWN, null);

        assertEquals(1, registry.get(BackendPoolMetrics.CONNECTIONS_ACTIVE).tag("backend", "m1").gauge().value());
        assertEquals(2, registry.get(BackendPoolMetrics.CONNECTIONS).tag("backend", "m1").functionCounter().count());
        assertEquals(100, registry.get(BackendPoolMetrics.BYTES).tags("backend", "m1", "direction", "in")
                .functionCounter().count());
        assertEquals(2500, registry.get(BackendPoolMetrics.BYTES).tags("backend", "m1", "direction", "out")
                .functionCounter().count());
        assertEquals(1, registry.get(BackendPoolMetrics.CONNECT_FAILURES)
                .tags("backend", "m1", "reason", "connect_refused").functionCounter().count());
        assertEquals(0, registry.get(BackendPoolMetrics.CONNECT_FAILURES)
                .tags("backend", "m1", "reason", "connect_timeout").functionCounter().count());
        assertEquals(0, registry.get(BackendPoolMetrics.UP).tag("backend", "m1").gauge().value());
        assertEquals(1, registry.get(BackendPoolMetrics.UP).tag("backend", "m2").gauge().value());
    }

    @Test
    void refreshRegistersNewBackendsAndRemovesGoneOnes() {
        BackendPool before = pool("m1", "m2");
        BackendPool after = pool("m2", "m3");
        AtomicReference<List<Backend>> current = new AtomicReference<>(before.all());
        MeterRegistry registry = new SimpleMeterRegistry();
        BackendPoolMetrics metrics = new BackendPoolMetrics(current::get);
        metrics.bindTo(registry);
        before.get("m2").stats().connectionEstablished();

        current.set(after.all());
        after.get("m2").stats().connectionEstablished();
        after.get("m2").stats().connectionEstablished();
        metrics.refresh();

        assertNull(registry.find(BackendPoolMetrics.CONNECTIONS).tag("backend", "m1").meter());
        assertNotNull(registry.find(BackendPoolMetrics.CONNECTIONS).tag("backend", "m3").meter());
        // m2 was re-created by the reload: its meters must read the new object, not the old one.
        assertEquals(2, registry.get(BackendPoolMetrics.CONNECTIONS).tag("backend", "m2").functionCounter().count());
        assertEquals(List.of("m2", "m3"), metrics.boundBackends().stream().sorted().toList());
    }

    @Test
    void leavesBackendUpToWhoeverRegisteredItFirst() {
        BackendPool pool = pool("m1");
        MeterRegistry registry = new SimpleMeterRegistry();
        Gauge theirs = Gauge.builder(BackendPoolMetrics.UP, () -> 42).tag("backend", "m1").register(registry);

        new BackendPoolMetrics(pool).bindTo(registry);

        assertEquals(1, registry.find(BackendPoolMetrics.UP).gauges().size());
        assertEquals(42, registry.get(BackendPoolMetrics.UP).gauge().value());
        assertEquals(theirs, registry.get(BackendPoolMetrics.UP).gauge());
    }

    @Test
    void frontendCountersAreBound() {
        MeterRegistry registry = new SimpleMeterRegistry();
        new FrontendMetrics(new FrontendStats()).bindTo(registry);

        for (String name : List.of("accepted", "rejected", "no.backend", "fail.open")) {
            assertEquals(0, registry.get(FrontendMetrics.PREFIX + "." + name).functionCounter().count(), name);
        }
        assertEquals(0, registry.get(FrontendMetrics.PREFIX + ".active").gauge().value());
    }
}
