package io.apilb.core.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import io.apilb.core.testing.FakeConnection;
import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.ConnectFailure;
import io.apilb.core.backend.Health;
import io.apilb.core.backend.ProxiedConnection;
import io.apilb.core.config.BackendConfig;
import io.apilb.core.config.HostPort;
import io.apilb.core.proxy.FrontendStats;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.util.ArrayList;
import java.util.List;

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

        ProxiedConnection first = new FakeConnection();
        ProxiedConnection second = new FakeConnection();
        m1.connections().dialStarted();
        m1.connections().dialStarted();
        m1.connections().dialEnded();
        m1.connections().register(first);
        m1.connections().dialStarted();
        m1.connections().register(second);
        m1.connections().unregister(first);
        m1.stats().addBytesIn(100);
        m1.stats().addBytesOut(2500);
        pool.connectFailed(m1, ConnectFailure.CONNECT_REFUSED, new ConnectException("refused"));
        pool.setHealth(m1, Health.DOWN, null);

        assertEquals(1, registry.get(BackendPoolMetrics.CONNECTIONS_ACTIVE).tag("backend", "m1").gauge().value(),
                "established and not closed");
        assertEquals(2, registry.get(BackendPoolMetrics.DIALS_IN_FLIGHT).tag("backend", "m1").gauge().value(),
                "started and not ended");
        assertEquals(2, registry.get(BackendPoolMetrics.CONNECTIONS).tag("backend", "m1").functionCounter().count());
        assertEquals(100, registry.get(BackendPoolMetrics.BYTES).tags("backend", "m1", "direction", "in")
                .functionCounter().count());
        assertEquals(2500, registry.get(BackendPoolMetrics.BYTES).tags("backend", "m1", "direction", "out")
                .functionCounter().count());
        assertEquals(1, registry.get(BackendPoolMetrics.CONNECT_FAILURES)
                .tags("backend", "m1", "reason", "connect_refused").functionCounter().count());
        assertEquals(0, registry.get(BackendPoolMetrics.CONNECT_FAILURES)
                .tags("backend", "m1", "reason", "connect_timeout").functionCounter().count());
        assertEquals(0, registry.get(BackendPoolMetrics.UP).tag("backend", "m1").gauge().value(), "DOWN");
        assertEquals(1, registry.get(BackendPoolMetrics.UP).tag("backend", "m2").gauge().value(), "not checked yet");
    }

    @Test
    void refreshRegistersNewBackendsAndRemovesGoneOnes() {
        BackendPool pool = pool("m1", "m2");
        MeterRegistry registry = new SimpleMeterRegistry();
        BackendPoolMetrics metrics = new BackendPoolMetrics(pool);
        metrics.bindTo(registry);
        pool.get("m2").connections().register(new FakeConnection());

        pool.reconfigure(List.of(new BackendConfig("m2", new HostPort("127.0.0.1", 7000), 1),
                new BackendConfig("m3", new HostPort("127.0.0.1", 7001), 1)));
        pool.get("m2").connections().register(new FakeConnection());
        pool.get("m2").connections().register(new FakeConnection());
        metrics.refresh();

        assertNull(registry.find(BackendPoolMetrics.CONNECTIONS).tag("backend", "m1").meter());
        assertNotNull(registry.find(BackendPoolMetrics.CONNECTIONS).tag("backend", "m3").meter());
        // m2 was re-created by the reload: its meters must read the new object, not the old one.
        assertEquals(2, registry.get(BackendPoolMetrics.CONNECTIONS).tag("backend", "m2").functionCounter().count());
        assertEquals(List.of("m2", "m3"), metrics.boundBackends().stream().sorted().toList());
    }

    @Test
    void registersExactlyItsDeclaredMeters() {
        BackendPool pool = pool("m1");
        MeterRegistry registry = new SimpleMeterRegistry();

        new BackendPoolMetrics(pool).bindTo(registry);

        List<String> names = registry.getMeters().stream().map(m -> m.getId().getName()).distinct().sorted().toList();
        assertEquals(BackendPoolMetrics.METERS.stream().sorted().toList(), names);
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
